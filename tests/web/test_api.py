"""The REST API against a real uvicorn, on every backend: what an operator does, request by request."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx

from evertask import EverTask, TaskStatus, cron
from tests.web.tasks import Flaky, Hold, Holding

PROBLEM = "application/problem+json"


async def finished(app: EverTask, *ids: UUID) -> None:
    for task_id in ids:
        await app.wait(task_id, timeout=30)


async def test_a_failed_task_is_found_inspected_and_retried_with_an_edited_payload(
    app: EverTask, api: httpx.AsyncClient
) -> None:
    failing = await app.dispatch(Flaky(name="bo", fail=True))
    fine = await app.dispatch(Flaky(name="cy"))
    await finished(app, failing, fine)

    listed = (await api.get("/api/v1/tasks", params={"status": "failed"})).json()
    assert [row["id"] for row in listed["tasks"]] == [str(failing)]
    assert listed["tasks"][0]["error"] == "RuntimeError: bo failed on purpose"

    detail = (await api.get(f"/api/v1/tasks/{failing}")).json()
    assert detail["payload"] == {"name": "bo", "fail": True}
    (execution,) = detail["executions"]
    assert execution["outcome"] == "failed"
    assert execution["error_type"] == "RuntimeError"
    assert execution["error_message"] == "bo failed on purpose"
    assert "Traceback" in execution["traceback"]

    retried = await api.post(f"/api/v1/tasks/{failing}/retry", json={"payload": {"name": "bo", "fail": False}})
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] in ("queued", "in_progress", "completed")
    record = await app.wait(failing, timeout=30)
    assert record.status is TaskStatus.completed

    detail = (await api.get(f"/api/v1/tasks/{failing}")).json()
    assert [e["outcome"] for e in detail["executions"]] == ["failed", "completed"]
    assert detail["result"] == {"greeting": "hello bo"}
    assert detail["payload"] == {"name": "bo", "fail": False}
    retry_change = next(change for change in detail["history"] if change["actor"] is not None)
    assert (retry_change["from_status"], retry_change["to_status"], retry_change["actor"]) == (
        "failed",
        "queued",
        "local",
    )


async def test_an_edited_payload_that_does_not_fit_the_task_class_is_refused_and_nothing_changes(
    app: EverTask, api: httpx.AsyncClient
) -> None:
    failing = await app.dispatch(Flaky(name="secret-value", fail=True))
    await finished(app, failing)

    refused = await api.post(f"/api/v1/tasks/{failing}/retry", json={"payload": {"fail": "not-a-bool-secret"}})

    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["error"] == "TaskValidationError"
    assert "fail" in refused.json()["detail"]
    assert "not-a-bool-secret" not in refused.text  # the values sent are never echoed
    record = await app.get(failing)
    assert record is not None
    assert record.status is TaskStatus.failed
    assert record.payload == Flaky(name="secret-value", fail=True).model_dump_json()


async def test_pages_follow_the_cursor_and_filters_narrow_them(app: EverTask, api: httpx.AsyncClient) -> None:
    later = timedelta(hours=1)
    ids = [await app.dispatch(Flaky(name=f"n{i}"), delay=later) for i in range(5)]
    keyed = await app.dispatch(Flaky(name="zed"), delay=later, key="report-42")

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, str | int] = {"limit": 2, "status": "pending"}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/api/v1/tasks", params=params)).json()
        seen += [row["id"] for row in page["tasks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(task_id) for task_id in reversed([*ids, keyed])]  # newest first, each once

    oldest_first = (await api.get("/api/v1/tasks", params={"order": "asc", "limit": 1})).json()
    assert oldest_first["tasks"][0]["id"] == str(ids[0])
    found = (await api.get("/api/v1/tasks", params={"search": "ZED"})).json()["tasks"]
    assert [row["id"] for row in found] == [str(keyed)]
    by_key = (await api.get("/api/v1/tasks", params={"key": "report-42"})).json()["tasks"]
    assert [row["id"] for row in by_key] == [str(keyed)]
    detail = (await api.get("/api/v1/tasks/by-key", params={"key": "report-42"})).json()
    assert detail["id"] == str(keyed)
    none = (await api.get("/api/v1/tasks", params={"queue": "recurring"})).json()
    assert none == {"tasks": [], "next_cursor": None}


async def test_bulk_retry_and_cancel_count_first_then_act_on_exactly_those(
    app: EverTask, api: httpx.AsyncClient
) -> None:
    failing = [await app.dispatch(Flaky(name=f"f{i}", fail=True)) for i in range(3)]
    await finished(app, *failing)
    waiting = [await app.dispatch(Flaky(name=f"w{i}"), delay=timedelta(hours=1)) for i in range(2)]
    failed = {"filter": {"status": ["failed"]}}

    dry = (await api.post("/api/v1/tasks/retry", json={**failed, "dry_run": True})).json()
    assert dry == {"action": "retry", "dry_run": True, "count": 3}
    assert (await app.get(failing[0])).status is TaskStatus.failed  # type: ignore[union-attr]

    done = (await api.post("/api/v1/tasks/retry", json=failed)).json()
    assert done == {"action": "retry", "dry_run": False, "count": 3}
    for task_id in failing:  # they fail again, as their payload says
        history = await app.history(task_id)
        assert [(c.to_status, c.actor) for c in history if c.actor] == [(TaskStatus.queued, "local")]

    pending = {"filter": {"status": ["pending"]}}
    counted = (await api.post("/api/v1/tasks/cancel", json={**pending, "dry_run": True})).json()
    assert counted["count"] == 2
    cancelled = (await api.post("/api/v1/tasks/cancel", json=pending)).json()
    assert cancelled["count"] == 2
    for task_id in waiting:
        assert (await app.get(task_id)).status is TaskStatus.cancelled  # type: ignore[union-attr]


async def test_purge_deletes_only_finished_tasks_matching_the_filter(app: EverTask, api: httpx.AsyncClient) -> None:
    done = [await app.dispatch(Flaky(name=f"d{i}")) for i in range(2)]
    await finished(app, *done)
    waiting = await app.dispatch(Flaky(), delay=timedelta(hours=1))
    everything_here = {"filter": {"queue": ["default"]}}

    recent = (await api.post("/api/v1/tasks/purge", json={**everything_here, "older_than": 86400})).json()
    assert recent["count"] == 0  # they finished moments ago, not a day ago
    dry = (await api.post("/api/v1/tasks/purge", json={**everything_here, "dry_run": True})).json()
    assert dry == {"action": "purge", "dry_run": True, "count": 2}
    purged = (await api.post("/api/v1/tasks/purge", json=everything_here)).json()
    assert purged["count"] == 2

    assert (await api.get(f"/api/v1/tasks/{done[0]}")).status_code == 404
    assert (await api.get(f"/api/v1/tasks/{waiting}")).status_code == 200


async def test_a_running_task_is_cancelled_through_its_worker_and_cannot_be_cancelled_twice(
    app: EverTask, api: httpx.AsyncClient, holding: Holding
) -> None:
    task_id = await app.dispatch(Hold())
    await asyncio.wait_for(holding.started.wait(), timeout=30)

    asked = (await api.post(f"/api/v1/tasks/{task_id}/cancel")).json()
    assert (asked["status"], asked["cancel_requested"]) == ("in_progress", True)
    assert (await app.wait(task_id, timeout=30)).status is TaskStatus.cancelled

    again = await api.post(f"/api/v1/tasks/{task_id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"] == "ActionNotAllowedError"
    assert "cancelled" in again.json()["detail"]


async def test_a_paused_queue_is_not_claimed_until_it_is_resumed(app: EverTask, api: httpx.AsyncClient) -> None:
    paused = (await api.post("/api/v1/queues/default/pause")).json()
    assert (paused["name"], paused["paused"], paused["paused_by"]) == ("default", True, "local")

    task_id = await app.dispatch(Flaky())
    await asyncio.sleep(1.0)  # ten poll intervals of the test worker: time enough to claim it, were it allowed
    assert (await app.get(task_id)).status is TaskStatus.queued  # type: ignore[union-attr]
    listed = {q["name"]: q for q in (await api.get("/api/v1/queues")).json()}
    assert listed["default"]["paused"] is True
    assert listed["default"]["waiting"] == 1

    resumed = (await api.post("/api/v1/queues/default/resume")).json()
    assert resumed["paused"] is False
    assert (await app.wait(task_id, timeout=30)).status is TaskStatus.completed


async def test_workers_and_readiness_show_the_live_worker(app: EverTask, api: httpx.AsyncClient) -> None:
    workers = (await api.get("/api/v1/workers")).json()
    assert [w["pid"] for w in workers] == [os.getpid()]
    assert set(workers[0]["queues"]) == {"default", "recurring"}

    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["workers"] == 1
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    health = (await api.get("/api/v1/health")).json()
    assert (health["database"], health["workers"], health["problems"]) == (True, 1, [])


async def test_a_recurring_series_is_listed_paused_resumed_and_run_now(app: EverTask, api: httpx.AsyncClient) -> None:
    series_id = await app.dispatch(Flaky(name="nightly"), recurring=cron("0 3 * * *"))

    (series,) = (await api.get("/api/v1/recurring")).json()
    assert series["id"] == str(series_id)
    assert series["schedule"]["cron"] == "0 3 * * *"
    assert series["schedule"]["description"] == "cron 0 3 * * * (UTC)"
    assert series["next_run"] is not None
    assert (series["paused"], series["run_count"], series["last_run"]) == (False, 0, None)

    paused = (await api.post(f"/api/v1/recurring/{series_id}/pause")).json()
    assert (paused["paused"], paused["next_run"]) == (True, None)
    resumed = (await api.post(f"/api/v1/recurring/{series_id}/resume")).json()
    assert resumed["paused"] is False
    again = await api.post(f"/api/v1/recurring/{series_id}/resume")
    assert again.status_code == 409
    actors = [(c.to_status, c.actor) for c in await app.history(series_id) if c.actor]
    assert actors == [(TaskStatus.paused, "local"), (TaskStatus.pending, "local")]

    run = (await api.post(f"/api/v1/recurring/{series_id}/run")).json()
    assert run["series_id"] == str(series_id)
    one_off = await app.wait(UUID(run["task_id"]), timeout=30)
    assert (one_off.status, one_off.type) == (TaskStatus.completed, Flaky.task_name)
    assert (await app.get(series_id)).status is TaskStatus.pending  # type: ignore[union-attr]


async def test_stats_count_executions_per_minute_and_per_type(app: EverTask, api: httpx.AsyncClient) -> None:
    ids = [await app.dispatch(Flaky(name=f"s{i}", fail=i == 0)) for i in range(3)]
    await finished(app, *ids)

    stats = (await api.get("/api/v1/stats", params={"window": 600})).json()

    assert len(stats["per_minute"]) == 60
    assert len(stats["per_hour"]) == 24
    assert sum(b["completed"] for b in stats["per_minute"]) == 2
    assert sum(b["failed"] for b in stats["per_minute"]) == 1
    (flaky,) = [row for row in stats["types"] if row["type"] == Flaky.task_name]
    assert (flaky["attempts"], flaky["failures"]) == (3, 1)
    assert abs(flaky["failure_rate"] - 1 / 3) < 1e-9
    assert flaky["p50"] is not None
    assert stats["counts"]["completed"] == 2
    assert stats["counts"]["failed"] == 1


async def test_errors_are_problem_documents_named_by_the_typed_error(app: EverTask, api: httpx.AsyncClient) -> None:
    unknown = await api.get(f"/api/v1/tasks/{uuid4()}")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    body = unknown.json()
    assert (body["error"], body["status"], body["title"]) == ("TaskNotFoundError", 404, "Not Found")
    assert body["type"] == "urn:evertask:error:TaskNotFoundError"

    naive = await api.get("/api/v1/tasks", params={"created_after": "2025-01-01T00:00:00"})
    assert (naive.status_code, naive.json()["error"]) == (422, "InvalidFilterError")
    empty_range = await api.get(
        "/api/v1/tasks",
        params={
            "created_after": datetime(2025, 2, 1, tzinfo=UTC).isoformat(),
            "created_before": datetime(2025, 1, 1, tzinfo=UTC).isoformat(),
        },
    )
    assert (empty_range.status_code, empty_range.json()["error"]) == (422, "InvalidFilterError")
    cursor = await api.get("/api/v1/tasks", params={"cursor": "not-a-cursor"})
    assert (cursor.status_code, cursor.json()["error"]) == (422, "InvalidCursorError")
    everything = await api.post("/api/v1/tasks/cancel", json={"filter": {}})
    assert (everything.status_code, everything.json()["error"]) == (422, "InvalidFilterError")
    bad_id = await api.get("/api/v1/tasks/not-a-uuid")
    assert (bad_id.status_code, bad_id.json()["error"]) == (422, "InvalidRequest")
    assert bad_id.json()["errors"][0]["loc"] == ["path", "task_id"]
    no_route = await api.get("/api/v1/nothing-here")
    assert (no_route.status_code, no_route.headers["content-type"]) == (404, PROBLEM)
