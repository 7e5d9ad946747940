"""The mediator: commands and queries to their one handler, notifications to all of theirs, through a
priority-ordered pipeline of behaviours, inline or through a bounded queue; see docs/mediator.md."""

from evertask.errors import Rejected
from evertask.mediator.behaviors import LoggingBehavior, RetryBehavior, TimeoutBehavior, ValidationBehavior
from evertask.mediator.deferred import DeferredMessage, DeferredMessageHandler, TaskDispatcher
from evertask.mediator.handlers import (
    CommandHandler,
    NotificationHandler,
    QueryHandler,
    Validator,
    is_mediator_component,
)
from evertask.mediator.idempotency import (
    IdempotencyBehavior,
    IdempotencyRecord,
    IdempotencyStore,
    MemoryIdempotencyStore,
)
from evertask.mediator.lifecycle import (
    Lifecycle,
    LifecycleEvent,
    RequestCompleted,
    RequestEnqueued,
    RequestFailed,
    RequestInitiated,
    RequestRejected,
)
from evertask.mediator.mediator import Mediator, RunMode
from evertask.mediator.messages import Command, Message, Notification, Query, Request, RequestOptions
from evertask.mediator.pipeline import Behavior, Next, Priority
from evertask.mediator.queued import WhenFull

__all__ = [
    "Behavior",
    "Command",
    "CommandHandler",
    "DeferredMessage",
    "DeferredMessageHandler",
    "IdempotencyBehavior",
    "IdempotencyRecord",
    "IdempotencyStore",
    "Lifecycle",
    "LifecycleEvent",
    "LoggingBehavior",
    "Mediator",
    "MemoryIdempotencyStore",
    "Message",
    "Next",
    "Notification",
    "NotificationHandler",
    "Priority",
    "Query",
    "QueryHandler",
    "Rejected",
    "Request",
    "RequestCompleted",
    "RequestEnqueued",
    "RequestFailed",
    "RequestInitiated",
    "RequestOptions",
    "RequestRejected",
    "RetryBehavior",
    "RunMode",
    "TaskDispatcher",
    "TimeoutBehavior",
    "ValidationBehavior",
    "Validator",
    "WhenFull",
    "is_mediator_component",
]
