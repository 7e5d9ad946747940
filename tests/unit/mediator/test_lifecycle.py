"""Lifecycle events: initiated, then exactly one of completed or failed; enqueued / rejected when queued."""

from __future__ import annotations

import asyncio

import pytest

from evertask.errors import Rejected, RequestValidationError
from evertask.mediator import (
    Command,
    CommandHandler,
    Lifecycle,
    LifecycleEvent,
    Mediator,
    RequestCompleted,
    RequestEnqueued,
    RequestFailed,
    RequestInitiated,
    RequestRejected,
    RunMode,
    Validator,
    WhenFull,
)

from .conftest import Gate, Job, JobHandler, until


class Divide(Command[float]):
    a: float
    b: float


class DivideHandler(CommandHandler[Divide, float]):
    async def handle(self, command: Divide) -> float:
        return command.a / command.b


class NoNegatives(Validator[Divide]):
    def validate(self, request: Divide) -> list[str]:
        return ["a must not be negative"] if request.a < 0 else []


def _mediator(
    run_mode: RunMode = "inline", when_full: WhenFull = "wait"
) -> tuple[Mediator, list[LifecycleEvent], Gate]:
    """A mediator whose lifecycle events are recorded in order; queued mode has one slot and room for one."""
    gate, lifecycle = Gate(), Lifecycle(retry_delay=0)
    mediator = Mediator(run_mode=run_mode, when_full=when_full, capacity=1, consumers=1, lifecycle=lifecycle)
    mediator.provide(Gate, gate)
    mediator.register(DivideHandler, NoNegatives, JobHandler)
    events: list[LifecycleEvent] = []
    mediator.lifecycle.subscribe(events.append)
    return mediator, events, gate


def _kinds(events: list[LifecycleEvent]) -> list[type[LifecycleEvent]]:
    return [type(e) for e in events]


async def test_a_successful_request_is_initiated_then_completed_with_its_result() -> None:
    mediator, events, _ = _mediator()
    await mediator.send(Divide(a=1, b=4))
    await mediator.aclose()  # delivers what is buffered
    assert _kinds(events) == [RequestInitiated, RequestCompleted]
    completed = events[1]
    assert isinstance(completed, RequestCompleted)
    assert (completed.result, completed.request_id) == (0.25, events[0].request_id)
    assert completed.duration >= 0
    assert completed.request_type == Divide.message_name


async def test_a_failing_request_is_initiated_then_failed_with_its_error() -> None:
    mediator, events, _ = _mediator()
    with pytest.raises(ZeroDivisionError):
        await mediator.send(Divide(a=1, b=0))
    await mediator.aclose()
    assert _kinds(events) == [RequestInitiated, RequestFailed]
    failed = events[1]
    assert isinstance(failed, RequestFailed)
    assert isinstance(failed.error, ZeroDivisionError)


async def test_a_request_failing_validation_is_reported_failed() -> None:
    mediator, events, _ = _mediator()
    with pytest.raises(RequestValidationError):
        await mediator.send(Divide(a=-1, b=1))
    await mediator.aclose()
    assert _kinds(events) == [RequestInitiated, RequestFailed]


async def test_a_queued_request_is_initiated_enqueued_then_completed() -> None:
    mediator, events, _ = _mediator("queued")
    await mediator.send(Divide(a=3, b=1))
    await mediator.aclose()
    assert _kinds(events) == [RequestInitiated, RequestEnqueued, RequestCompleted]


async def test_a_refused_request_is_rejected_then_failed() -> None:
    mediator, events, gate = _mediator("queued", when_full="drop_write")
    held = [asyncio.create_task(mediator.send(Job(n=n))) for n in range(2)]
    await until(lambda: mediator.queue is not None and mediator.queue.depth == 1)
    with pytest.raises(Rejected):
        await mediator.send(Job(n=2))
    gate.opened.set()
    await asyncio.gather(*held)
    await mediator.aclose()
    refused = [e for e in events if e.request == Job(n=2)]
    assert _kinds(refused) == [RequestInitiated, RequestRejected, RequestFailed]
    rejected = refused[1]
    assert isinstance(rejected, RequestRejected)
    assert rejected.reason == "queue_full"


async def test_a_cancelled_request_is_reported_failed_with_the_cancellation() -> None:
    mediator, events, gate = _mediator("queued")
    send = asyncio.create_task(mediator.send(Job(n=0)))
    await until(lambda: gate.started == [0])
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    await mediator.aclose()
    assert _kinds(events) == [RequestInitiated, RequestEnqueued, RequestFailed]
    failed = events[-1]
    assert isinstance(failed, RequestFailed)
    assert isinstance(failed.error, asyncio.CancelledError)


async def test_a_failing_subscriber_is_retried_until_it_takes_the_event() -> None:
    mediator, _, _ = _mediator()
    received: list[LifecycleEvent] = []
    failures = iter([True, True, False, False])

    def flaky(event: LifecycleEvent) -> None:
        if next(failures):
            raise ConnectionError("metrics sink down")
        received.append(event)

    mediator.lifecycle.subscribe(flaky)
    await mediator.send(Divide(a=1, b=1))
    await mediator.aclose()
    assert _kinds(received) == [RequestInitiated, RequestCompleted]


async def test_a_subscriber_that_always_fails_loses_only_its_own_events() -> None:
    mediator, events, _ = _mediator()
    calls: list[LifecycleEvent] = []

    async def broken(event: LifecycleEvent) -> None:
        calls.append(event)
        raise ConnectionError("down for good")

    mediator.lifecycle.subscribe(broken)
    await mediator.send(Divide(a=1, b=1))
    await mediator.aclose()
    assert len(calls) == 2 * 3  # two events, three attempts each, then dropped
    assert _kinds(events) == [RequestInitiated, RequestCompleted]


async def test_a_stuck_subscriber_never_slows_the_request() -> None:
    mediator, events, _ = _mediator()
    stuck = asyncio.Event()

    async def blocking(event: LifecycleEvent) -> None:
        await stuck.wait()

    mediator.lifecycle.subscribe(blocking)
    async with asyncio.timeout(5):
        for _ in range(10):
            await mediator.send(Divide(a=1, b=1))
        await until(lambda: len(events) == 20)
        await mediator.aclose(timeout=0.01)


async def test_an_ended_subscription_receives_nothing_more() -> None:
    mediator, events, _ = _mediator()
    later: list[LifecycleEvent] = []
    subscription = mediator.lifecycle.subscribe(later.append)
    subscription.close()
    await mediator.send(Divide(a=1, b=1))
    await mediator.aclose()
    assert later == []
    assert len(events) == 2


async def test_a_subscriber_can_ask_for_some_kinds_of_event_only() -> None:
    mediator, _, _ = _mediator()
    failures: list[LifecycleEvent] = []
    mediator.lifecycle.subscribe(failures.append, RequestFailed)
    await mediator.send(Divide(a=1, b=1))
    with pytest.raises(ZeroDivisionError):
        await mediator.send(Divide(a=1, b=0))
    await mediator.aclose()
    assert _kinds(failures) == [RequestFailed]
