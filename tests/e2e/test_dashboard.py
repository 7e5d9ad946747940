"""The dashboard as a person uses it: ``evertask web`` and a worker run as processes on a real database, and
Chromium opens the pages, filters, clicks and waits for what the page shows.

Each test dispatches into a queue of its own (see tests/e2e/app.py), so the tests share one database and one
pair of processes per module without meeting.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import pytest
from playwright.async_api import expect

from evertask import EverTask
from evertask.task import StatusChange, TaskStatus
from tests.e2e.app import CallService
from tests.e2e.conftest import Site

pytestmark = pytest.mark.e2e
T = TypeVar("T")
S = TaskStatus
TIMEOUT = 30.0
"""Seconds the worker may take to run what a test waits for on a loaded machine."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest) -> Site:
    """The site on each backend: SQLite served from its URL, PostgreSQL from the app module."""
    found: Site = request.getfixturevalue(f"{request.param}_site")
    return found


@pytest.fixture
async def tasks(site: Site) -> AsyncIterator[EverTask]:
    """An app on the site's database, without a worker: the test dispatches and inspects through it."""
    app = site.app()
    async with app:
        yield app


@pytest.fixture
async def sqlite_tasks(sqlite_site: Site) -> AsyncIterator[EverTask]:
    app = sqlite_site.app()
    async with app:
        yield app


async def eventually(check: Callable[[], Awaitable[T]], what: str, timeout: float = TIMEOUT) -> T:
    """``check()`` once it returns something true (polling the database, which another process writes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def finished(app: EverTask, ids: list[UUID]) -> None:
    async def all_final() -> bool:
        records = [await app.get(task_id) for task_id in ids]
        return all(record is not None and record.status.is_final for record in records)

    await eventually(all_final, f"{len(ids)} tasks to finish")


async def status_of(app: EverTask, task_id: UUID) -> TaskStatus:
    record = await app.get(task_id)
    assert record is not None
    return record.status


def retries(history: list[StatusChange]) -> list[StatusChange]:
    """The operator retries in a task's history (a final status sent back to the queue)."""
    return [c for c in history if c.from_status in (S.failed, S.cancelled) and c.to_status is S.queued]


async def mark_document(page: Any) -> None:
    """Mark the loaded document, so that a test can tell that later changes came without a reload."""
    await page.evaluate("window.__evertaskTestMark = true")


async def same_document(page: Any) -> bool:
    return bool(await page.evaluate("window.__evertaskTestMark === true"))


async def test_the_overview_shows_the_counts_and_updates_them_live(
    sqlite_site: Site, sqlite_tasks: EverTask, page: Any
) -> None:
    sqlite_site.break_service("overview-down")
    ids = [await sqlite_tasks.dispatch(CallService(service="overview-ok"), queue="overview") for _ in range(3)]
    ids += [await sqlite_tasks.dispatch(CallService(service="overview-down"), queue="overview") for _ in range(2)]
    await finished(sqlite_tasks, ids)

    await page.goto(sqlite_site.base_url + "/")
    counts = await sqlite_tasks.storage.count_by_status()
    completed = page.locator("a.tile[href='/tasks?status=completed'] .n")
    await expect(completed).to_have_text(f"{counts[S.completed]:,}")
    await expect(page.locator("a.tile[href='/tasks?status=failed'] .n")).to_have_text(f"{counts[S.failed]:,}")
    await expect(page.locator("#live-state")).to_have_text("Live")
    card = page.locator("article.queue-card", has=page.get_by_role("heading", name="overview", exact=True))
    await expect(card).to_contain_text("5 tasks")

    await mark_document(page)
    more = await sqlite_tasks.dispatch(CallService(service="overview-ok"), queue="overview")
    await finished(sqlite_tasks, [more])

    await expect(completed).to_have_text(f"{counts[S.completed] + 1:,}")
    await expect(card).to_contain_text("6 tasks")
    assert await same_document(page)


async def test_a_failed_task_is_found_opened_and_retried_and_turns_completed_without_a_reload(
    site: Site, tasks: EverTask, page: Any
) -> None:
    site.break_service("payments")
    queue = "retry"
    failed = await tasks.dispatch(CallService(service="payments"), queue=queue)
    await finished(tasks, [failed])
    assert await status_of(tasks, failed) is S.failed

    await page.goto(site.base_url + "/tasks")
    await page.locator("label.chip", has_text="failed").click()
    await page.get_by_text("More filters").click()
    await page.get_by_role("textbox", name="Queue").fill(queue)
    await page.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(re.compile(r"/tasks\?status=failed&queue=retry$"))
    row = page.locator("#tasks-table tbody tr", has=page.locator(f"a[href='/tasks/{failed}']"))
    await expect(row).to_contain_text("service payments is down")
    await row.locator(f"a[href='/tasks/{failed}']").click()

    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text(re.compile(r"CallService\s+failed"))
    await expect(page.locator(".timeline")).to_contain_text("ConnectionError")
    site.repair_service("payments")
    await mark_document(page)
    await page.get_by_role("button", name="Retry", exact=True).click()

    await expect(page.locator(".flash.ok")).to_contain_text("Retried")
    await expect(heading).to_have_text(re.compile(r"CallService\s+completed"), timeout=TIMEOUT * 1000)
    assert await same_document(page)
    await expect(page.locator("#history-title + .table-wrap")).to_contain_text("local")
    [retry] = retries(await tasks.history(failed))
    assert retry.actor == "local"
    assert await status_of(tasks, failed) is S.completed


async def test_a_queue_paused_in_the_page_is_not_claimed_until_resumed(
    sqlite_site: Site, sqlite_tasks: EverTask, page: Any
) -> None:
    first = await sqlite_tasks.dispatch(CallService(service="pause-ok"), queue="pause")
    await finished(sqlite_tasks, [first])
    await page.goto(sqlite_site.base_url + "/queues")
    card = page.locator("article.queue-card", has=page.get_by_role("heading", name="pause", exact=True))

    await card.get_by_role("button", name="Pause").click()
    await expect(card.locator(".badge", has_text="paused")).to_be_visible()
    held = await sqlite_tasks.dispatch(CallService(service="pause-ok"), queue="pause")
    # Two claims after it was stored (each worker fetch takes every due task it may): it stays queued.
    for _ in range(2):
        control = await sqlite_tasks.dispatch(CallService(service="pause-ok"), queue="control")
        await finished(sqlite_tasks, [control])
    assert await status_of(sqlite_tasks, held) is S.queued
    await expect(card.locator(".nums > div").first).to_have_text(re.compile(r"^\s*1\s*waiting\s*$"))

    await card.get_by_role("button", name="Resume").click()
    await expect(card.locator(".badge", has_text="running")).to_be_visible()
    await finished(sqlite_tasks, [held])
    assert await status_of(sqlite_tasks, held) is S.completed


async def test_bulk_retry_of_a_filter_retries_exactly_the_tasks_it_counted(
    sqlite_site: Site, sqlite_tasks: EverTask, page: Any
) -> None:
    sqlite_site.break_service("ledger")
    bulk = [await sqlite_tasks.dispatch(CallService(service="ledger", order=n), queue="bulk") for n in range(7)]
    other = [await sqlite_tasks.dispatch(CallService(service="ledger"), queue="bulk-other") for _ in range(3)]
    fine = [await sqlite_tasks.dispatch(CallService(service="ledger-ok"), queue="bulk") for _ in range(2)]
    await finished(sqlite_tasks, bulk + other + fine)

    await page.goto(sqlite_site.base_url + "/tasks?status=failed&queue=bulk")
    await page.get_by_label("all matching this filter").check()
    await page.get_by_role("button", name="Retry…").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Retry 7 tasks?")
    await page.get_by_role("button", name="Retry 7 tasks").click()
    await expect(page.locator(".flash.ok")).to_have_text("Retried 7 tasks.")
    await expect(page).to_have_url(re.compile(r"/tasks\?status=failed&queue=bulk$"))

    await page.goto(sqlite_site.base_url + "/tasks?queue=bulk-other")
    for task_id in other[:2]:
        await page.locator(f"#tasks-table input[value='{task_id}']").check()
    await expect(page.locator("#selected-count")).to_have_text("2 selected")
    await page.get_by_role("button", name="Retry…").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Retry 2 tasks?")
    await page.get_by_role("button", name="Retry 2 tasks").click()
    await expect(page.locator(".flash.ok")).to_have_text("Retried 2 tasks.")

    assert [len(retries(await sqlite_tasks.history(t))) for t in bulk] == [1] * 7
    assert [len(retries(await sqlite_tasks.history(t))) for t in other] == [1, 1, 0]
    assert [len(retries(await sqlite_tasks.history(t))) for t in fine] == [0, 0]


async def test_the_live_page_shows_events_as_they_happen_with_pause_and_filter(
    sqlite_site: Site, sqlite_tasks: EverTask, page: Any
) -> None:
    await page.goto(sqlite_site.base_url + "/live")
    await expect(page.locator("#live-state")).to_have_text("Live")
    await mark_document(page)
    sqlite_site.break_service("live-down")
    done = await sqlite_tasks.dispatch(CallService(service="live-ok"), queue="live")

    events = page.locator("#events tr")
    completed = events.filter(has_text="completed").filter(has=page.locator(f"td[title='{done}']"))
    await expect(completed).to_have_count(1)
    await expect(events.filter(has_text="started").filter(has=page.locator(f"td[title='{done}']"))).to_have_count(1)

    await page.get_by_role("button", name="Pause").click()
    held = await sqlite_tasks.dispatch(CallService(service="live-down"), queue="live")
    await expect(page.locator("#live-count")).to_contain_text("new while paused")
    await expect(events.filter(has=page.locator(f"td[title='{held}']"))).to_have_count(0)
    await page.get_by_role("button", name="Resume").click()
    await expect(events.filter(has_text="failed").filter(has=page.locator(f"td[title='{held}']"))).to_have_count(1)

    await page.get_by_label("Filter").fill("failed")
    await expect(events.filter(has_text="completed")).to_have_count(0)
    await expect(events.filter(has=page.locator(f"td[title='{held}']"))).to_have_count(1)
    await page.get_by_role("button", name="Clear").click()
    await expect(events).to_have_count(0)
    assert await same_document(page)


async def test_a_viewer_sees_but_cannot_act_and_an_operator_acts_under_their_name(
    sqlite_site: Site, guarded_site: Site, sqlite_tasks: EverTask, page: Any, browser: Any
) -> None:
    sqlite_site.break_service("guarded")
    failed = await sqlite_tasks.dispatch(CallService(service="guarded"), queue="guarded")
    await finished(sqlite_tasks, [failed])
    detail = f"{guarded_site.base_url}/tasks/{failed}"

    await page.goto(detail)
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("Name").fill("victor")
    await page.get_by_label("Password").fill("victor-password-1")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(detail)
    await expect(page.locator(".who")).to_have_text("victor · viewer")
    await expect(page.get_by_text("Read-only: signed in as a viewer.")).to_be_visible()
    await expect(page.get_by_role("button", name="Retry", exact=True)).to_have_count(0)
    cookie = next(c for c in await page.context.cookies() if c["name"] == "evertask_session")
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")

    status = await page.evaluate(
        """async (url) => {
            const csrf = document.querySelector("meta[name=csrf-token]").content;
            const response = await fetch(url, {method: "POST", body: new URLSearchParams({csrf})});
            return response.status;
        }""",
        f"/tasks/{failed}/retry",
    )
    assert status == 403
    assert await status_of(sqlite_tasks, failed) is S.failed

    operator = await (await browser.new_context()).new_page()
    await operator.goto(detail)
    await operator.get_by_label("Name").fill("olivia")
    await operator.get_by_label("Password").fill("olivia-password-1")
    await operator.get_by_role("button", name="Sign in").click()
    await operator.get_by_role("button", name="Retry", exact=True).click()
    await expect(operator.locator(".flash.ok")).to_contain_text("Retried")
    [retry] = retries(await sqlite_tasks.history(failed))
    assert retry.actor == "olivia"


async def test_a_wrong_password_is_refused_and_a_token_signs_in(guarded_site: Site, page: Any) -> None:
    await page.goto(guarded_site.base_url + "/login")
    await page.get_by_label("Name").fill("olivia")
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".flash.error")).to_have_text("Those credentials are not valid.")

    await page.get_by_label("API token").fill("e2e-operator-token-0123456789")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    await expect(page.locator(".who")).to_have_text("operator · operator")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login$"))


async def test_a_post_from_another_site_is_refused(sqlite_site: Site, sqlite_tasks: EverTask, page: Any) -> None:
    sqlite_site.break_service("cross-site")
    failed = await sqlite_tasks.dispatch(CallService(service="cross-site"), queue="retry")
    await finished(sqlite_tasks, [failed])
    await page.goto(f"{sqlite_site.base_url}/tasks/{failed}")
    token = await page.locator("meta[name=csrf-token]").get_attribute("content")
    target = f"{sqlite_site.base_url}/tasks/{failed}/retry"
    attack = f"""<form method="post" action="{target}"><input name="csrf" value="{token}"></form>
        <script>document.forms[0].submit()</script>"""

    await page.route("http://attacker.test/**", lambda route: route.fulfill(body=attack, content_type="text/html"))
    async with page.expect_response(target) as answer:
        await page.goto("http://attacker.test/")

    assert (await answer.value).status == 403
    assert await status_of(sqlite_tasks, failed) is S.failed
    assert retries(await sqlite_tasks.history(failed)) == []


async def test_the_page_polls_while_the_stream_is_down_and_goes_live_again(
    sqlite_site: Site, sqlite_tasks: EverTask, page: Any
) -> None:
    async def refuse(route: Any) -> None:
        await route.abort()

    await page.route("**/live/stream*", refuse)
    await page.goto(sqlite_site.base_url + "/")
    await expect(page.locator("#live-state")).to_have_text("Reconnecting…")
    await mark_document(page)
    completed = page.locator("a.tile[href='/tasks?status=completed'] .n")
    before = int((await completed.inner_text()).replace(",", ""))

    done = await sqlite_tasks.dispatch(CallService(service="polled"), queue="overview")
    await finished(sqlite_tasks, [done])
    await expect(completed).to_have_text(f"{before + 1:,}")

    await page.unroute("**/live/stream*", refuse)
    await expect(page.locator("#live-state")).to_have_text("Live")
    assert await same_document(page)


async def test_a_retry_with_an_edited_payload_is_checked_and_runs_the_new_payload(
    sqlite_site: Site, sqlite_tasks: EverTask, page: Any
) -> None:
    sqlite_site.break_service("old-endpoint")
    failed = await sqlite_tasks.dispatch(CallService(service="old-endpoint"), queue="retry")
    await finished(sqlite_tasks, [failed])
    await page.goto(f"{sqlite_site.base_url}/tasks/{failed}")
    await page.get_by_text("Retry with an edited payload").click()
    editor = page.get_by_label("Payload (JSON")

    await editor.fill('{"service": "new-endpoint",}')
    await page.get_by_role("button", name="Retry with this payload").click()
    await expect(page.locator(".flash.error")).to_contain_text("not valid JSON")
    await expect(editor).to_have_value('{"service": "new-endpoint",}')  # kept, to be corrected
    assert await status_of(sqlite_tasks, failed) is S.failed

    await editor.fill('{"service": "new-endpoint", "order": 2}')
    await page.get_by_role("button", name="Retry with this payload").click()
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text(re.compile(r"CallService\s+completed"))
    await expect(page.locator("pre.code").last).to_contain_text('"service": "new-endpoint"')
    record = await sqlite_tasks.get(failed)
    assert record is not None
    assert '"new-endpoint"' in record.payload


async def test_a_waiting_task_is_cancelled_from_its_page(sqlite_site: Site, sqlite_tasks: EverTask, page: Any) -> None:
    from datetime import timedelta

    later = await sqlite_tasks.dispatch(CallService(service="later"), queue="retry", delay=timedelta(hours=1))
    await page.goto(f"{sqlite_site.base_url}/tasks/{later}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"CallService\s+pending"))

    await page.get_by_role("button", name="Cancel").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"CallService\s+cancelled"))
    await expect(page.get_by_role("button", name="Retry", exact=True)).to_be_visible()
    assert await status_of(sqlite_tasks, later) is S.cancelled


async def test_a_series_is_run_now_paused_and_resumed_from_the_recurring_page(
    sqlite_site: Site, sqlite_tasks: EverTask, page: Any
) -> None:
    from evertask import cron

    series = await sqlite_tasks.dispatch(
        CallService(service="nightly"), queue="retry", recurring=cron("0 3 * * *"), key="e2e-nightly"
    )
    await page.goto(sqlite_site.base_url + "/recurring")
    row = page.locator("tr", has=page.locator(f"a[href='/tasks/{series}']"))
    await expect(row).to_contain_text("every day at 03:00")
    await expect(row).to_contain_text("0 3 * * *")

    await row.get_by_role("button", name="Run now").click()
    notice = page.locator(".flash.ok")
    await expect(notice).to_contain_text("Started a run now: task ")
    run = UUID((await notice.inner_text()).rsplit(" ", 1)[-1].rstrip("."))
    await finished(sqlite_tasks, [run])
    assert await status_of(sqlite_tasks, run) is S.completed
    assert await status_of(sqlite_tasks, series) is S.pending  # the series keeps its schedule

    await row.get_by_role("button", name="Pause").click()
    await expect(row.locator(".badge")).to_have_text("paused")
    assert await status_of(sqlite_tasks, series) is S.paused
    await row.get_by_role("button", name="Resume").click()
    await expect(row.locator(".badge")).to_have_text("pending")
    assert await status_of(sqlite_tasks, series) is S.pending


async def test_the_workers_page_lists_the_running_worker(sqlite_site: Site, page: Any) -> None:
    await page.goto(sqlite_site.base_url + "/workers")
    row = page.locator("tbody tr").first
    await expect(row).to_contain_text(str(sqlite_site.processes[0].popen.pid))
    await expect(row.locator(".badge")).to_contain_text("ago")
