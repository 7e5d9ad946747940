"""Keyed rate limits end to end: over-budget attempts wait without a slot, other keys keep flowing."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from evertask import Handler, Task, TaskContext, TaskStatus
from evertask.events import TaskDeferred, TaskEvent
from evertask.ratelimit import RateLimit
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Probe


class PartnerCall(Task):
    tenant: str
    n: int


class PartnerCallHandler(Handler[PartnerCall]):
    rate_limit = RateLimit(permits=2, per=timedelta(hours=1), key=lambda task: task.tenant)

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: PartnerCall, ctx: TaskContext) -> None:
        self.probe.saw("call", (task.tenant, task.n))

    async def on_error(self, task_id: UUID, error: BaseException | None, message: str | None) -> None:
        self.probe.saw("on_error", error)


class DiscardingHandler(PartnerCallHandler):
    rate_limit = RateLimit(permits=1, per=timedelta(hours=1), when_exceeded="discard")


async def test_an_over_budget_task_waits_for_its_permit_while_other_keys_run(
    make_app: AppFactory, probe: Probe
) -> None:
    app = make_app(max_parallelism=1)
    app.register(PartnerCallHandler)
    app.provide_value(Probe, probe)
    deferred: list[TaskEvent] = []
    app.events.subscribe(deferred.append, TaskDeferred)
    async with app:
        a = [await app.dispatch(PartnerCall(tenant="a", n=i)) for i in range(3)]
        b = await app.dispatch(PartnerCall(tenant="b", n=0))
        for task_id in [*a[:2], b]:
            assert (await app.wait(task_id, timeout=5)).status is TaskStatus.completed
        await app.events.flush()
        waiting = await app.get(a[2])
    assert waiting is not None
    assert waiting.status is TaskStatus.pending
    assert waiting.attempts == 0  # waiting for a permit uses up no retry
    assert timedelta(minutes=29) < waiting.scheduled_at - waiting.created_at <= timedelta(minutes=31)
    assert [e.task_id for e in deferred] == [a[2]]
    assert ("call", ("a", 2)) not in probe.calls


async def test_discard_fails_the_over_budget_task_with_a_clear_reason(make_app: AppFactory, probe: Probe) -> None:
    app = make_app()
    app.register(DiscardingHandler)
    app.provide_value(Probe, probe)
    async with app:
        first = await app.wait(await app.dispatch(PartnerCall(tenant="x", n=1)), timeout=5)
        second = await app.wait(await app.dispatch(PartnerCall(tenant="x", n=2)), timeout=5)
    assert first.status is TaskStatus.completed
    assert second.status is TaskStatus.failed
    assert second.attempts == 1
    assert second.last_error is not None
    assert "rate limit" in second.last_error
    assert "discarded" in second.last_error
    assert [name for name, _ in probe.calls] == ["call", "on_error"]
