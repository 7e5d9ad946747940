"""Deferred messages: stored as durable tasks of an EverTask app, sent or published when they run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evertask import EverTask, TaskStatus
from evertask.errors import MissingHandlerError
from evertask.mediator import (
    Command,
    CommandHandler,
    Mediator,
    Notification,
    NotificationHandler,
    Query,
)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []


class SendEmail(Command[None]):
    to: str


class SendEmailHandler(CommandHandler[SendEmail, None]):
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle(self, command: SendEmail) -> None:
        self.outbox.sent.append(command.to)


class TrialEnded(Notification):
    user: str


class OnTrialEnded(NotificationHandler[TrialEnded]):
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle(self, notification: TrialEnded) -> None:
        self.outbox.sent.append(f"trial-ended:{notification.user}")


class Unhandled(Command[None]):
    pass


class Lookup(Query[int]):
    pass


def _wired() -> tuple[EverTask, Mediator, Outbox]:
    """An app and its mediator (``app.mediator``), sharing one container."""
    app, outbox = EverTask(), Outbox()
    mediator = app.mediator
    mediator.provide(Outbox, outbox)
    app.register(SendEmailHandler)
    app.register(OnTrialEnded)
    return app, mediator, outbox


async def test_a_deferred_command_is_sent_when_its_task_runs() -> None:
    app, mediator, outbox = _wired()
    async with app:
        task_id = await mediator.defer(SendEmail(to="ada@example.com"), app)
        record = await app.wait(task_id, timeout=5)
    assert record.status == TaskStatus.completed
    assert outbox.sent == ["ada@example.com"]


async def test_a_deferred_notification_is_published_when_its_task_runs() -> None:
    app, mediator, outbox = _wired()
    async with app:
        task_id = await mediator.defer(TrialEnded(user="bo"), app)
        await app.wait(task_id, timeout=5)
    assert outbox.sent == ["trial-ended:bo"]


async def test_a_delayed_defer_is_stored_for_later_and_not_run_now() -> None:
    app, mediator, outbox = _wired()
    async with app:
        task_id = await mediator.defer(SendEmail(to="later@example.com"), app, delay=timedelta(minutes=5))
        record = await app.get(task_id)
    assert record is not None
    assert record.status == TaskStatus.pending
    assert record.scheduled_at > datetime.now(UTC) + timedelta(minutes=4)
    assert outbox.sent == []


async def test_deferring_a_command_without_a_handler_fails_before_anything_is_stored() -> None:
    app, mediator, _ = _wired()
    async with app:
        with pytest.raises(MissingHandlerError):
            await mediator.defer(Unhandled(), app)
        assert await app.list_tasks() == []


async def test_a_query_cannot_be_deferred() -> None:
    app, mediator, _ = _wired()
    async with app:
        with pytest.raises(TypeError, match="only commands and notifications"):
            await mediator.defer(Lookup(), app)  # type: ignore[arg-type]


async def test_a_deferred_message_that_no_longer_fits_fails_without_its_values_in_the_stored_error() -> None:
    from evertask import RetryPolicy
    from evertask.mediator.deferred import DeferredMessage

    app = EverTask(default_retry=RetryPolicy.linear(1, timedelta(milliseconds=10)))
    app.mediator.provide(Outbox, Outbox())
    app.register(SendEmailHandler)
    stale = DeferredMessage(message_type=SendEmail.message_name, payload='{"to": ["SECRET-4711"]}')
    async with app:
        record = await app.wait(await app.dispatch(stale), timeout=5)
    assert record.status == TaskStatus.failed
    assert record.last_error is not None
    assert "to (string_type)" in record.last_error
    assert "SECRET" not in record.last_error
