"""queue_stats, throughput and type_stats: what the status page and the statistics read, computed by the
database from the tasks and their attempt rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from evertask.errors import InvalidFilterError
from evertask.storage import Storage
from evertask.storage.records import AttemptOutcome, QueueStats, ThroughputBucket, TypeStats
from evertask.task import TaskStatus
from tests.contract.helpers import T0, add_in_status, add_one, at, claim, new_task, outcome

S = TaskStatus
MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)
STATUS_OF: dict[AttemptOutcome, TaskStatus] = {
    "completed": S.completed,
    "failed": S.failed,
    "retrying": S.failed,  # the task's status does not matter to the statistics: its attempt row does
    "cancelled": S.cancelled,
    "interrupted": S.cancelled,
    "lost": S.failed,
}


async def run_attempts(
    storage: Storage, attempts: list[tuple[datetime, AttemptOutcome, float]], *, task_type: str = "tests.Job"
) -> None:
    """One task per attempt, each claimed then finished at its time with its ending and duration."""
    queue = f"q-{task_type}"
    await storage.add([new_task(type=task_type, queue=queue) for _ in attempts])
    records = await claim(storage, queues=(queue,), limit=len(attempts))
    outcomes = [
        outcome(
            record,
            STATUS_OF[ending],
            now=when,
            ending=ending,
            started_at=when - timedelta(seconds=duration),
            duration=duration,
        )
        for record, (when, ending, duration) in zip(records, attempts, strict=True)
    ]
    assert await storage.finish(outcomes) == [True] * len(attempts)


async def test_throughput_counts_attempts_per_bucket_with_every_bucket_present(storage: Storage) -> None:
    since = T0
    await run_attempts(
        storage,
        [
            (since - MICROSECOND, "completed", 1),  # before the window
            (since, "completed", 1),
            (since + MINUTE - MICROSECOND, "failed", 1),
            (since + MINUTE, "completed", 1),  # exactly on a boundary: the next bucket
            (since + MINUTE, "retrying", 1),
            (since + 3 * MINUTE + 30 * timedelta(seconds=1), "interrupted", 1),  # neither completed nor failed
            (since + 3 * MINUTE + 31 * timedelta(seconds=1), "lost", 1),
            (since + 4 * MINUTE + 59 * timedelta(seconds=1), "completed", 1),
            (since + 5 * MINUTE, "completed", 1),  # at until: outside
        ],
    )

    buckets = await storage.throughput(since=since, until=since + 5 * MINUTE, width=MINUTE)

    assert buckets == [
        ThroughputBucket(since, 1, 1),
        ThroughputBucket(since + MINUTE, 1, 1),
        ThroughputBucket(since + 2 * MINUTE, 0, 0),
        ThroughputBucket(since + 3 * MINUTE, 0, 0),
        ThroughputBucket(since + 4 * MINUTE, 1, 0),
    ]


async def test_throughput_last_bucket_may_end_after_until(storage: Storage) -> None:
    await run_attempts(storage, [(at(90), "completed", 1), (at(100), "completed", 1)])

    buckets = await storage.throughput(since=T0, until=at(95), width=MINUTE)

    assert buckets == [ThroughputBucket(T0, 0, 0), ThroughputBucket(T0 + MINUTE, 1, 0)]
    assert await storage.throughput(since=T0, until=T0, width=MINUTE) == []


@pytest.mark.parametrize(
    ("since", "until", "width", "message"),
    [
        (datetime(2031, 1, 1), T0, MINUTE, "naive"),
        (T0, datetime(2031, 1, 1), MINUTE, "naive"),
        (T0, at(60), timedelta(0), "positive width"),
        (T0, at(60), timedelta(microseconds=0.4), "positive width"),
        (at(60), T0, MINUTE, "before since"),
        (T0, at(86_400 * 365), MINUTE, "at most 10000"),
    ],
)
async def test_a_bad_window_is_a_typed_error(
    storage: Storage, since: datetime, until: datetime, width: timedelta, message: str
) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        await storage.throughput(since=since, until=until, width=width)


async def test_type_stats_give_attempts_failures_and_interpolated_percentiles(storage: Storage) -> None:
    since = T0
    endings: list[AttemptOutcome] = ["completed"] * 7 + ["failed", "retrying", "lost"]
    await run_attempts(
        storage,
        [(since + timedelta(seconds=n), endings[n], float(10 - n)) for n in range(10)]
        + [(since - MICROSECOND, "failed", 100.0)],  # ended before the window
        task_type="tests.Report",
    )
    await run_attempts(storage, [(at(5), "completed", 2.5)], task_type="tests.Mail")

    found = await storage.type_stats(since=since)

    assert [stats.type for stats in found] == ["tests.Mail", "tests.Report"]
    mail, report = found
    assert mail == TypeStats("tests.Mail", 1, 0, 2.5, 2.5, 2.5)
    assert (report.attempts, report.failures, report.failure_rate) == (10, 2, 0.2)
    # durations 1..10: the 50th percentile lies halfway between the 5th and 6th, as percentile_cont computes it
    assert report.p50 == pytest.approx(5.5)
    assert report.p95 == pytest.approx(9.55)
    assert report.p99 == pytest.approx(9.91)


async def test_type_stats_of_an_empty_window(storage: Storage) -> None:
    await run_attempts(storage, [(at(0), "completed", 1.0)])

    assert await storage.type_stats(since=at(1)) == []
    with pytest.raises(InvalidFilterError, match="naive"):
        await storage.type_stats(since=datetime(2031, 1, 1))


async def test_queue_stats_count_each_status_and_the_oldest_due_waiting_task(storage: Storage) -> None:
    await add_in_status(storage, S.failed, queue="mail")
    await add_one(storage, queue="mail", scheduled_at=at(-30), created_at=at(-30))
    await add_one(storage, queue="mail", scheduled_at=at(-10), created_at=at(-10))
    await add_one(storage, queue="later", status=S.pending, scheduled_at=at(3600))
    await add_in_status(storage, S.in_progress, queue="busy")
    await storage.set_queue_paused("idle", paused=True, now=T0, actor="ops:ann")
    await storage.set_queue_paused("resumed", paused=False, now=T0, actor="ops:ann")

    stats = await storage.queue_stats(T0)

    assert stats == [
        QueueStats("busy", {S.in_progress: 1}, None),
        QueueStats("idle", {}, None),
        QueueStats("later", {S.pending: 1}, None),  # waiting, but not due yet
        QueueStats("mail", {S.failed: 1, S.queued: 2}, at(-30)),
    ]
    assert (await storage.queue_stats(at(7200)))[2].oldest_waiting_since == at(3600)
