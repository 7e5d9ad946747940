"""Results: the JSON a completed execution returned is stored with its task, and only a completed one sets it."""

from __future__ import annotations

import json
import uuid

from evertask.storage import Storage
from evertask.task import TaskStatus
from tests.contract.helpers import add_one, at, claim_one, outcome

S = TaskStatus


async def complete(storage: Storage, result: str | None, **fields: object) -> uuid.UUID:
    task_id = await add_one(storage, **fields)
    record = await claim_one(storage)
    assert await storage.finish([outcome(record, S.completed, ending="completed", result=result)]) == [True]
    return task_id


async def test_a_completed_executions_result_is_stored_as_given(storage: Storage) -> None:
    text = json.dumps({"total": 3, "items": ["a", "é", "日本"], "ok": True}, ensure_ascii=False)

    task_id = await complete(storage, text)

    assert await storage.result(task_id) == text


async def test_no_result_is_none(storage: Storage) -> None:
    task_id = await complete(storage, None)

    assert await storage.result(task_id) is None
    assert await storage.result(uuid.uuid4()) is None


async def test_a_large_result_is_kept_whole(storage: Storage) -> None:
    """Beyond MySQL's 64 KB TEXT: the column holds what the engine's size limit lets through, and more."""
    text = json.dumps("x" * 300_000)

    task_id = await complete(storage, text)

    assert await storage.result(task_id) == text


async def test_only_a_completed_ending_sets_the_result(storage: Storage) -> None:
    task_id = await add_one(storage)
    record = await claim_one(storage)

    await storage.finish([outcome(record, S.failed, ending="failed", error="boom", result='"ignored"')])

    assert await storage.result(task_id) is None


async def test_each_completed_run_of_a_series_replaces_the_result(storage: Storage) -> None:
    task_id = await add_one(storage, schedule='{"every": 60}')
    results: list[str | None] = []
    for run, value in enumerate(['{"run": 1}', None]):
        record = await claim_one(storage, now=at(60 * run))
        finished = outcome(
            record, S.pending, now=at(60 * run + 1), next_run=at(60 * run + 60), run_finished=True, ending="completed"
        )
        finished.result = value
        await storage.finish([finished])
        results.append(await storage.result(task_id))

    assert results == ['{"run": 1}', None]


async def test_a_failed_run_keeps_the_result_of_the_last_completed_one(storage: Storage) -> None:
    task_id = await add_one(storage, schedule='{"every": 60}')
    record = await claim_one(storage)
    await storage.finish(
        [outcome(record, S.pending, now=at(1), next_run=at(60), run_finished=True, ending="completed", result="1")]
    )
    record = await claim_one(storage, now=at(60))

    await storage.finish(
        [outcome(record, S.pending, now=at(61), next_run=at(120), run_finished=True, ending="failed", error="x")]
    )

    assert await storage.result(task_id) == "1"
