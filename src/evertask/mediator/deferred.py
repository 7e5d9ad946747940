"""Deferred messages: a command or notification stored as a durable task, sent or published when it runs.

``mediator.defer(command, app, delay=...)`` stores one :class:`DeferredMessage` task carrying the message's
stable ``message_name`` and its JSON. When a worker runs it, :class:`DeferredMessageHandler` finds the class
again in the mediator's registry, validates the JSON into it, and sends (or publishes) it there, so the
message goes through its whole pipeline. The result is discarded; a failure fails the task, and the task's
retry policy applies (durable retries, unlike the in-process retry behaviour). The app must have
``DeferredMessageHandler`` registered and the mediator provided (an EverTask app's ``app.mediator`` is).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar, Protocol
from uuid import UUID

from evertask.context import TaskContext
from evertask.handler import Handler
from evertask.mediator.mediator import Mediator
from evertask.mediator.messages import Command, Notification
from evertask.serialization import load_stored
from evertask.task import Task


class TaskDispatcher(Protocol):
    """What :meth:`Mediator.defer` needs from an EverTask app: durable dispatch of a task."""

    async def dispatch(self, task: Task, *, delay: timedelta | None = ..., at: datetime | None = ...) -> UUID:
        """Store ``task``; it runs now, after ``delay`` or at ``at``."""
        ...


class DeferredMessage(Task):
    """The stored form of a deferred command or notification."""

    task_name: ClassVar[str] = "evertask.mediator.deferred"

    message_type: str
    """The message class's ``message_name``."""
    payload: str
    """The message as JSON."""


class DeferredMessageHandler(Handler[DeferredMessage]):
    """Runs a :class:`DeferredMessage`: rebuilds the message and sends or publishes it through the mediator."""

    def __init__(self, mediator: Mediator) -> None:
        self._mediator = mediator

    async def handle(self, task: DeferredMessage, ctx: TaskContext) -> None:
        message_class = self._mediator.registry.message_type(task.message_type)
        message = load_stored(message_class, task.payload, task.message_type)
        if isinstance(message, Notification):
            await self._mediator.publish(message)
        elif isinstance(message, Command):
            await self._mediator.send(message)
        else:  # the name now belongs to a query class: storing it was allowed, running it cannot be
            raise TypeError(f"deferred {task.message_type!r} is neither a command nor a notification")


async def defer(
    mediator: Mediator,
    message: Command[object] | Notification,
    app: TaskDispatcher,
    *,
    delay: timedelta | None,
    at: datetime | None,
) -> UUID:
    """See :meth:`Mediator.defer`."""
    if isinstance(message, Command):
        mediator.registry.handler_for(type(message))
    elif isinstance(message, Notification):
        mediator.registry.message_type(message.message_name)
    else:
        raise TypeError(f"only commands and notifications can be deferred, not {type(message).__qualname__}")
    task = DeferredMessage(message_type=message.message_name, payload=message.model_dump_json())
    return await app.dispatch(task, delay=delay, at=at)
