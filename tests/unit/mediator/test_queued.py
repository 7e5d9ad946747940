"""Queued run mode: every caller gets exactly one answer (result, error, cancellation or Rejected)."""

from __future__ import annotations

import asyncio

import pytest

from evertask.errors import Rejected
from evertask.mediator import Command, CommandHandler, Mediator, WhenFull
from evertask.mediator.queued import WorkQueue

from .conftest import Gate, Job, JobHandler, until


def _queued(when_full: WhenFull = "wait", capacity: int = 100, consumers: int = 1) -> tuple[Mediator, Gate]:
    gate = Gate()
    mediator = Mediator(run_mode="queued", when_full=when_full, capacity=capacity, consumers=consumers)
    mediator.provide(Gate, gate)
    mediator.register(JobHandler)
    return mediator, gate


def _queue(mediator: Mediator) -> WorkQueue:
    assert mediator.queue is not None
    return mediator.queue


async def _fill(mediator: Mediator, gate: Gate, count: int) -> list[asyncio.Task[int]]:
    """Send jobs 0..count-1 in order; return once job 0 runs and the rest are queued (or waiting for room)."""
    sends = []
    for n in range(count):
        sends.append(asyncio.create_task(mediator.send(Job(n=n))))
        # One loop turn runs the new send up to its first await, which is where it sits in the queue.
        await asyncio.sleep(0)
    await until(lambda: gate.started == [0])
    return sends


async def test_requests_start_in_fifo_order() -> None:
    mediator, gate = _queued()
    sends = await _fill(mediator, gate, 20)
    gate.opened.set()
    assert await asyncio.gather(*sends) == list(range(20))
    assert gate.started == list(range(20))


async def test_consumers_bound_how_many_requests_run_at_once() -> None:
    mediator, gate = _queued(consumers=2)
    sends = [asyncio.create_task(mediator.send(Job(n=n))) for n in range(5)]
    await until(lambda: len(gate.started) == 2)
    for _ in range(20):
        await asyncio.sleep(0)  # turns of the loop in which nothing else may start
    assert (len(gate.started), _queue(mediator).running, _queue(mediator).depth) == (2, 2, 3)
    gate.opened.set()
    await asyncio.gather(*sends)


async def test_wait_mode_parks_the_caller_until_there_is_room_then_runs_it() -> None:
    mediator, gate = _queued("wait", capacity=1)
    running, queued, waiting = await _fill(mediator, gate, 3)
    assert not waiting.done()
    assert _queue(mediator).depth == 1
    gate.opened.set()
    assert [await running, await queued, await waiting] == [0, 1, 2]


async def test_wait_mode_caller_cancelling_ends_its_wait_and_its_request_never_runs() -> None:
    mediator, gate = _queued("wait", capacity=1)
    running, queued, waiting = await _fill(mediator, gate, 3)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gate.opened.set()
    assert [await running, await queued] == [0, 1]
    assert gate.started == [0, 1]


async def test_drop_write_refuses_the_new_request_at_once() -> None:
    mediator, gate = _queued("drop_write", capacity=1)
    running, queued = await _fill(mediator, gate, 2)
    with pytest.raises(Rejected) as caught:
        await mediator.send(Job(n=2))
    assert caught.value.reason == "queue_full"
    gate.opened.set()
    assert [await running, await queued] == [0, 1]


async def test_drop_oldest_evicts_the_oldest_waiting_request() -> None:
    mediator, gate = _queued("drop_oldest", capacity=2)
    running, oldest, newest = await _fill(mediator, gate, 3)
    newcomer = asyncio.create_task(mediator.send(Job(n=3)))
    with pytest.raises(Rejected) as caught:
        await oldest
    assert caught.value.reason == "evicted"
    gate.opened.set()
    assert [await running, await newest, await newcomer] == [0, 2, 3]
    assert gate.started == [0, 2, 3]


async def test_drop_newest_evicts_the_newest_waiting_request() -> None:
    mediator, gate = _queued("drop_newest", capacity=2)
    running, oldest, newest = await _fill(mediator, gate, 3)
    newcomer = asyncio.create_task(mediator.send(Job(n=3)))
    with pytest.raises(Rejected) as caught:
        await newest
    assert caught.value.reason == "evicted"
    gate.opened.set()
    assert [await running, await oldest, await newcomer] == [0, 1, 3]


async def test_a_caller_cancelling_while_queued_withdraws_its_request() -> None:
    mediator, gate = _queued()
    running, withdrawn, kept = await _fill(mediator, gate, 3)
    withdrawn.cancel()
    await until(lambda: _queue(mediator).depth == 1)
    gate.opened.set()
    assert [await running, await kept] == [0, 2]
    assert gate.started == [0, 2]


async def test_a_caller_cancelling_while_running_cancels_the_handler_and_frees_the_slot() -> None:
    mediator, gate = _queued()
    running, following = await _fill(mediator, gate, 2)
    running.cancel()
    await until(lambda: gate.started == [0, 1])
    gate.opened.set()
    assert await following == 1
    assert gate.finished == [1]
    assert running.cancelled()


async def test_the_handlers_exception_reaches_the_queued_caller() -> None:
    class Fail(Command[None]):
        pass

    class FailHandler(CommandHandler[Fail, None]):
        async def handle(self, command: Fail) -> None:
            raise PermissionError("nope")

    mediator = Mediator(run_mode="queued")
    mediator.register(FailHandler)
    with pytest.raises(PermissionError, match="nope"):
        await mediator.send(Fail())


async def test_a_request_sent_from_a_running_handler_runs_inline_without_deadlock() -> None:
    class Inner(Command[str]):
        pass

    class Outer(Command[str]):
        pass

    class InnerHandler(CommandHandler[Inner, str]):
        async def handle(self, command: Inner) -> str:
            return "inner"

    class OuterHandler(CommandHandler[Outer, str]):
        def __init__(self, mediator: Mediator) -> None:
            self.mediator = mediator

        async def handle(self, command: Outer) -> str:
            return "outer+" + await self.mediator.send(Inner())

    mediator = Mediator(run_mode="queued", consumers=1)
    mediator.register(InnerHandler, OuterHandler)
    async with asyncio.timeout(5):  # a deadlock would hang here forever
        assert await mediator.send(Outer()) == "outer+inner"


async def test_shutdown_refuses_waiting_callers_and_drains_queued_ones() -> None:
    mediator, gate = _queued("wait", capacity=2)
    running, first, second, waiting = await _fill(mediator, gate, 4)
    closing = asyncio.create_task(mediator.aclose(timeout=30))
    with pytest.raises(Rejected) as caught:
        await waiting
    assert caught.value.reason == "closed"
    gate.opened.set()
    await closing
    assert [await running, await first, await second] == [0, 1, 2]


async def test_shutdown_past_its_budget_answers_every_caller_left() -> None:
    mediator, gate = _queued()
    running, queued = await _fill(mediator, gate, 2)
    await mediator.aclose(timeout=0.05)  # the gate never opens: nothing can finish
    with pytest.raises(Rejected) as caught:
        await queued
    assert caught.value.reason == "closed"
    with pytest.raises(asyncio.CancelledError):
        await running
    assert gate.finished == []


async def test_a_closed_mediator_rejects_new_requests() -> None:
    mediator, _ = _queued()
    async with mediator:
        pass
    with pytest.raises(Rejected) as caught:
        await mediator.send(Job(n=0))
    assert caught.value.reason == "closed"
