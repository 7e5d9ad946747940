"""query, count and find_by_key: what an operator reads to find tasks (every filter, the three sorts, keyset
paging with an opaque cursor)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

import pytest

from evertask.errors import InvalidCursorError, InvalidFilterError
from evertask.storage import Storage
from evertask.storage.records import PageRequest, SortField, TaskFilter
from evertask.task import TaskStatus
from tests.contract.helpers import add_in_status, add_one, at, claim_one, new_task, outcome

S = TaskStatus


async def ids(storage: Storage, **filters: object) -> set[uuid.UUID]:
    """The ids of every task the filter matches (one large page), checked against ``count``."""
    task_filter = TaskFilter(**filters)  # type: ignore[arg-type]
    page = await storage.query(PageRequest(task_filter, limit=1000))
    found = [record.id for record in page.tasks]
    assert page.next_cursor is None
    assert len(found) == len(set(found)) == await storage.count(task_filter)
    return set(found)


async def walk(storage: Storage, request: PageRequest) -> list[list[uuid.UUID]]:
    """Every page of ``request``, following the cursors to the end."""
    pages = []
    while True:
        page = await storage.query(request)
        pages.append([record.id for record in page.tasks])
        if page.next_cursor is None:
            return pages
        request = replace(request, after=page.next_cursor)


async def test_default_order_is_newest_first_then_latest_dispatched_first(storage: Storage) -> None:
    old = await add_one(storage, created_at=at(-60))
    same_time = await storage.add([new_task(created_at=at(0)), new_task(created_at=at(0))])
    new = await add_one(storage, created_at=at(60))

    page = await storage.query(PageRequest())

    assert [record.id for record in page.tasks] == [new, same_time[1], same_time[0], old]
    assert page.next_cursor is None
    ascending = await storage.query(PageRequest(descending=False))
    assert [record.id for record in ascending.tasks] == [old, same_time[0], same_time[1], new]


async def test_filters_by_status_queue_type_key_and_recurrence(storage: Storage) -> None:
    running = await add_in_status(storage, S.in_progress)
    failed = await add_in_status(storage, S.failed, queue="mail")
    mail = await add_one(storage, queue="mail", type="tests.Mail", key="order-7")
    series = await add_one(storage, schedule='{"every": 60}', queue="cron")

    assert await ids(storage) == {running, failed, mail, series}
    assert await ids(storage, ids=frozenset({running, mail, uuid.uuid4()})) == {running, mail}
    assert await ids(storage, statuses=frozenset({S.in_progress})) == {running}
    assert await ids(storage, statuses=frozenset({S.queued, S.failed})) == {failed, mail, series}
    assert await ids(storage, statuses=frozenset()) == set()
    assert await ids(storage, queues=frozenset({"mail", "cron"})) == {failed, mail, series}
    assert await ids(storage, types=frozenset({"tests.Mail"})) == {mail}
    assert await ids(storage, key="order-7") == {mail}
    assert await ids(storage, key="order") == set()
    assert await ids(storage, recurring=True) == {series}
    assert await ids(storage, recurring=False) == {running, failed, mail}
    assert await ids(storage, queues=frozenset({"mail"}), statuses=frozenset({S.queued})) == {mail}


async def test_time_ranges_are_inclusive_below_and_exclusive_above(storage: Storage) -> None:
    early, middle, late = [await add_one(storage, created_at=at(t)) for t in (0, 10, 20)]
    finished = await add_in_status(storage, S.completed, queue="done")

    assert await ids(storage, created_after=at(10)) == {middle, late}
    assert await ids(storage, created_before=at(10)) == {early, finished}
    assert await ids(storage, created_after=at(0), created_before=at(20)) == {early, middle, finished}
    # finished_at is when the outcome was written (helpers finish at T0); unfinished tasks never match.
    assert await ids(storage, finished_after=at(0)) == {finished}
    assert await ids(storage, finished_before=at(0)) == set()
    assert await ids(storage, finished_before=at(1)) == {finished}


async def test_search_is_case_insensitive_over_type_key_error_and_payload(storage: Storage) -> None:
    plain = '{"n": 1}'
    by_type = await add_one(storage, type="billing.SendInvoice", payload=plain)
    by_key = await add_one(storage, key="Customer-42", payload=plain)
    by_payload = await add_one(storage, payload='{"to": "Ann@Example.com"}')
    by_error = await add_in_status(storage, S.failed, queue="q2", payload=plain)  # its error is "boom"
    await add_one(storage, payload=plain, type="other.Type")

    assert await ids(storage, search="sendinvoice") == {by_type}
    assert await ids(storage, search="CUSTOMER-4") == {by_key}
    assert await ids(storage, search="ann@example") == {by_payload}
    assert await ids(storage, search="BOOM") == {by_error}
    assert await ids(storage, search="no such text") == set()
    assert await ids(storage, search="ann", statuses=frozenset({S.failed})) == set()


async def test_search_takes_percent_underscore_and_backslash_literally(storage: Storage) -> None:
    percent = await add_one(storage, payload='{"rate": "100%"}')
    underscore = await add_one(storage, payload='{"field_name": 1}')
    backslash = await add_one(storage, payload='{"path": "C:\\\\temp"}')
    await add_one(storage, payload='{"rate": "1000", "fieldXname": 2}')

    assert await ids(storage, search="0%") == {percent}
    assert await ids(storage, search="d_n") == {underscore}
    assert await ids(storage, search="%") == {percent}
    assert await ids(storage, search="\\\\t") == {backslash}


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("sort", ["created", "scheduled", "finished"])
async def test_pages_follow_the_sort_with_ties_in_dispatch_order(
    storage: Storage, sort: SortField, descending: bool
) -> None:
    # Three tasks share each time, so ties fall across page boundaries.
    times = [at(t) for t in (30, 10, 20) for _ in range(3)]
    dispatched = []
    for when in times:
        task_id = await add_one(storage, created_at=when, scheduled_at=when)
        if sort == "finished":
            record = await claim_one(storage, now=at(100))
            assert await storage.finish([outcome(record, S.completed, now=when)]) == [True]
        dispatched.append(task_id)
    order = sorted(range(len(times)), key=lambda i: (times[i], i), reverse=descending)

    pages = await walk(storage, PageRequest(sort=sort, descending=descending, limit=2))

    assert [len(page) for page in pages] == [2, 2, 2, 2, 1]
    assert [task_id for page in pages for task_id in page] == [dispatched[i] for i in order]


async def test_sorting_by_finish_time_lists_finished_tasks_only(storage: Storage) -> None:
    done = await add_in_status(storage, S.completed)
    await add_one(storage)
    await add_in_status(storage, S.in_progress, queue="other")

    page = await storage.query(PageRequest(sort="finished"))
    assert [record.id for record in page.tasks] == [done]
    failed_only = await storage.query(PageRequest(TaskFilter(statuses=frozenset({S.failed})), sort="finished"))
    assert failed_only.tasks == []


async def test_pages_of_several_statuses_merge_in_one_order(storage: Storage) -> None:
    expected = []
    for n, status in enumerate([S.failed, S.cancelled, S.completed, S.failed, S.queued, S.cancelled, S.failed]):
        task_id = await add_in_status(storage, status, created_at=at(n), queue=f"q{n}")
        if status is not S.queued:
            expected.append(task_id)
    expected.reverse()
    final = TaskFilter(statuses=frozenset({S.failed, S.cancelled, S.completed}))

    pages = await walk(storage, PageRequest(final, limit=2))

    assert [task_id for page in pages for task_id in page] == expected


async def test_paging_by_cursor_neither_repeats_nor_skips_when_tasks_arrive(storage: Storage) -> None:
    first = [await add_one(storage, created_at=at(n)) for n in range(5)]
    page = await storage.query(PageRequest(limit=2))
    assert [r.id for r in page.tasks] == [first[4], first[3]]

    await add_one(storage, created_at=at(99))  # newer than every page: it belongs before the first
    assert page.next_cursor is not None
    rest = await walk(storage, PageRequest(limit=2, after=page.next_cursor))

    assert [task_id for p in rest for task_id in p] == [first[2], first[1], first[0]]


async def test_a_page_that_ends_the_list_has_no_cursor(storage: Storage) -> None:
    for n in range(4):
        await add_one(storage, created_at=at(n))

    assert (await storage.query(PageRequest(limit=4))).next_cursor is None
    assert (await storage.query(PageRequest(limit=3))).next_cursor is not None
    empty = await storage.query(PageRequest(TaskFilter(queues=frozenset({"none"}))))
    assert empty.tasks == []
    assert empty.next_cursor is None


@pytest.mark.parametrize("cursor", ["", "not-a-cursor", "eyJhIjogMX0", "WzEsImNyZWF0ZWQiLHRydWUsIngiLDFd"])
async def test_a_malformed_cursor_is_refused(storage: Storage, cursor: str) -> None:
    await add_one(storage)

    with pytest.raises(InvalidCursorError, match="not a cursor"):
        await storage.query(PageRequest(after=cursor))


async def test_a_cursor_of_another_order_is_refused(storage: Storage) -> None:
    for n in range(3):
        await add_one(storage, created_at=at(n))
    cursor = (await storage.query(PageRequest(limit=1))).next_cursor
    assert cursor is not None

    with pytest.raises(InvalidCursorError, match="sort='created' descending"):
        await storage.query(PageRequest(sort="scheduled", after=cursor))
    with pytest.raises(InvalidCursorError):
        await storage.query(PageRequest(descending=False, after=cursor))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (PageRequest(limit=0), "limit=0"),
        (PageRequest(limit=1001), "limit=1001"),
        (PageRequest(sort="started"), "sort='started'"),  # type: ignore[arg-type]
        (PageRequest(TaskFilter(created_after=datetime(2031, 1, 1))), "naive"),
        (PageRequest(TaskFilter(finished_before=datetime(2031, 1, 1))), "naive"),
    ],
)
async def test_a_bad_request_is_a_typed_error(storage: Storage, request_: PageRequest, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        await storage.query(request_)


async def test_count_matches_the_filter(storage: Storage) -> None:
    await add_in_status(storage, S.failed)
    await add_in_status(storage, S.failed, queue="mail")
    await add_one(storage, queue="mail")

    assert await storage.count(TaskFilter()) == 3
    assert await storage.count(TaskFilter(statuses=frozenset({S.failed}))) == 2
    assert await storage.count(TaskFilter(statuses=frozenset({S.failed}), queues=frozenset({"mail"}))) == 1
    assert await storage.count(TaskFilter(search="BOOM")) == 2
    with pytest.raises(InvalidFilterError, match="naive"):
        await storage.count(TaskFilter(created_before=datetime(2031, 1, 1)))


async def test_find_by_key(storage: Storage) -> None:
    keyed = await add_one(storage, key="report:2031-03")
    await add_one(storage, key="report:2031-04")

    found = await storage.find_by_key("report:2031-03")

    assert found is not None
    assert found.id == keyed
    assert await storage.find_by_key("report:2031") is None
    assert await storage.find_by_key("REPORT:2031-03") is None
