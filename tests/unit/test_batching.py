"""Group commit: a flush that fails because of one item fails that item only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from evertask.batching import GroupCommitter


class Bad(Exception):
    """An item the flush refuses (a value the database rejects)."""


class Down(Exception):
    """The flush cannot run at all (the database is out of reach)."""


class Flusher:
    """Doubles items; fails a flush holding a negative item with Bad, and every flush once ``down``."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.down = False

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        if self.down:
            raise Down("unreachable")
        if any(item < 0 for item in items):
            raise Bad("refused")
        return [item * 2 for item in items]


def worth_isolating(exc: Exception) -> bool:
    return not isinstance(exc, Down)


async def test_a_failed_batch_is_retried_item_by_item_so_only_the_bad_item_fails() -> None:
    flush = Flusher()
    committer: GroupCommitter[int, int] = GroupCommitter(flush, isolate=worth_isolating)
    results = await asyncio.gather(*(committer.submit(i) for i in (1, 2, -3, 4)), return_exceptions=True)
    assert results[:2] == [2, 4]
    assert isinstance(results[2], Bad)
    assert results[3] == 8
    assert flush.batches == [[1, 2, -3, 4], [1], [2], [-3], [4]]


async def test_an_error_that_would_fail_every_item_fails_the_batch_without_retries() -> None:
    flush = Flusher()
    flush.down = True
    committer: GroupCommitter[int, int] = GroupCommitter(flush, isolate=worth_isolating)
    results = await asyncio.gather(*(committer.submit(i) for i in (1, 2, 3)), return_exceptions=True)
    assert all(isinstance(result, Down) for result in results)
    assert flush.batches == [[1, 2, 3]]


async def test_an_outage_during_the_retries_fails_the_rest_at_once() -> None:
    flush = Flusher()

    async def failing_over(items: Sequence[int]) -> list[int]:
        if len(flush.batches) == 2:  # the batch failed, and the first lone retry went through: now it is down
            flush.down = True
        return await flush(items)

    committer: GroupCommitter[int, int] = GroupCommitter(failing_over, isolate=worth_isolating)
    results = await asyncio.gather(*(committer.submit(i) for i in (1, -2, 3, 4)), return_exceptions=True)
    assert results[0] == 2
    assert [type(result) for result in results[1:]] == [Down, Down, Down]
    assert flush.batches == [[1, -2, 3, 4], [1], [-2]]


async def test_without_isolate_a_failed_batch_fails_every_item() -> None:
    flush = Flusher()
    committer: GroupCommitter[int, int] = GroupCommitter(flush)
    results = await asyncio.gather(*(committer.submit(i) for i in (1, -2)), return_exceptions=True)
    assert [type(result) for result in results] == [Bad, Bad]
    assert flush.batches == [[1, -2]]


async def test_pushed_items_of_a_failed_batch_hear_their_own_outcome() -> None:
    flush = Flusher()
    stored: list[tuple[int, int]] = []
    failed: list[int] = []
    committer: GroupCommitter[int, int] = GroupCommitter(
        flush,
        isolate=worth_isolating,
        on_result=lambda item, result: stored.append((item, result)),
        on_error=lambda items, exc: failed.extend(items),
    )
    for item in (5, -6, 7):
        committer.push(item)
    await committer.drain()
    assert stored == [(5, 10), (7, 14)]
    assert failed == [-6]


async def test_a_lone_item_that_fails_is_not_flushed_twice() -> None:
    flush = Flusher()
    committer: GroupCommitter[int, int] = GroupCommitter(flush, isolate=worth_isolating)
    with pytest.raises(Bad):
        await committer.submit(-1)
    assert flush.batches == [[-1]]
