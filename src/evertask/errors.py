"""The one exception hierarchy of evertask.

Every error a caller can provoke is a subclass of :class:`EverTaskError`, named for what the caller did or what
failed, and carries the offending value so that a log line alone explains it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID


class EverTaskError(Exception):
    """Base class of every error raised by evertask."""


class ConfigurationError(EverTaskError):
    """The application, a queue or a handler is configured in a way that cannot work."""


class MissingExtraError(ConfigurationError, ImportError):
    """A feature needs a package that is not installed; the message names the extra that installs it.

    ``extra`` is the extra to install (``pip install "evertask[<extra>]"``); where several would do (each SQL
    backend's extra installs SQLAlchemy), ``extras`` lists them all and ``extra`` is the first. ``module`` is the
    package that could not be imported. Also an ``ImportError``, so ``except ImportError`` around an optional
    import keeps working.
    """

    def __init__(
        self, module: str, extras: tuple[str, ...], *, needed_by: str | None = None, reason: str | None = None
    ) -> None:
        what = f"{needed_by} needs {module}" if needed_by else f"{module} is needed"
        why = f" ({reason})" if reason else ""
        named = [f"evertask[{extra}]" for extra in extras]
        choice = named[0] if len(named) == 1 else ", ".join(named[:-1]) + f" or {named[-1]}"
        super().__init__(
            f'{what}, which is not installed{why}: install {choice} (pip install "{named[0]}")', name=module
        )
        self.module = module
        self.extras = extras
        self.extra = extras[0]
        self.needed_by = needed_by


class InvalidStorageUrlError(ConfigurationError, ValueError):
    """A storage URL is malformed or names no backend evertask has; the message shows the accepted forms.

    ``url`` is the URL as given with any password replaced by ``***``; ``reason`` says what is wrong with it.
    """

    ACCEPTED = (
        "memory://",
        "sqlite:///relative/path.db",
        "sqlite:////absolute/path.db",
        "postgresql://user:password@host:5432/db",
        "mysql://user:password@host:3306/db",
        "mariadb://user:password@host:3306/db",
    )

    def __init__(self, url: str, reason: str) -> None:
        shown = without_password(url)
        super().__init__(f"invalid storage URL {shown!r}: {reason} (accepted forms: {', '.join(self.ACCEPTED)})")
        self.url = shown
        self.reason = reason


def without_password(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part, if any, replaced by ``***`` (works on strings
    that are not valid URLs too, since those are the ones shown in errors)."""
    start = url.find("://")
    start = 0 if start < 0 else start + 3
    at = url.rfind("@")
    colon = url.find(":", start, at) if at > start else -1
    return url if colon < 0 else f"{url[: colon + 1]}***{url[at:]}"


class HandlerAlreadyRegisteredError(ConfigurationError):
    """A second handler was registered for a task type that already has one."""

    def __init__(self, task_type: str) -> None:
        super().__init__(f"a handler for task type {task_type!r} is already registered")
        self.task_type = task_type


class UnknownTaskTypeError(EverTaskError):
    """A task type has no registered handler (at dispatch) or no known class (when loading a stored task)."""

    def __init__(self, task_type: str) -> None:
        super().__init__(
            f"no handler is registered for task type {task_type!r}; "
            "register one with app.register(...) or app.register_module(...)"
        )
        self.task_type = task_type


class MissingDependencyError(ConfigurationError):
    """A handler's constructor asks for a type that no provider supplies."""

    def __init__(self, dependency: Any, consumer: str) -> None:
        name = getattr(dependency, "__qualname__", repr(dependency))
        super().__init__(f"{consumer} needs {name}, but no provider is registered for it (use app.provide)")
        self.dependency = dependency
        self.consumer = consumer


class InvalidTaskError(EverTaskError):
    """What was dispatched cannot become a stored task; nothing was stored."""


class TaskValidationError(InvalidTaskError, ValueError):
    """Arguments given for a task do not fit its fields (wrong type, missing, unknown)."""

    def __init__(self, task_type: str, reason: str) -> None:
        super().__init__(f"invalid arguments for task {task_type!r}: {reason}")
        self.task_type = task_type
        self.reason = reason


class SerializationError(InvalidTaskError):
    """A task payload cannot be turned into JSON, or stored JSON no longer fits its task class."""

    def __init__(self, task_type: str, reason: str) -> None:
        super().__init__(f"task {task_type!r} cannot be serialised: {reason}")
        self.task_type = task_type
        self.reason = reason


class InvalidScheduleError(InvalidTaskError):
    """A delay, a date or a recurring schedule is not usable (negative delay, naive datetime, bad cron...)."""

    def __init__(self, value: Any, reason: str) -> None:
        super().__init__(f"invalid schedule {value!r}: {reason}")
        self.value = value
        self.reason = reason


class InvalidTaskKeyError(InvalidTaskError):
    """A task key is longer than the 200 characters storage accepts."""

    def __init__(self, key: str, reason: str) -> None:
        shown = key if len(key) <= 60 else key[:57] + "..."
        super().__init__(f"invalid task key {shown!r}: {reason}")
        self.key = key


class TaskNotFoundError(EverTaskError):
    """No stored task has this id."""

    def __init__(self, task_id: UUID) -> None:
        super().__init__(f"no task with id {task_id}")
        self.task_id = task_id


class TaskKeyNotFoundError(TaskNotFoundError):
    """No stored task has this key."""

    def __init__(self, key: str) -> None:
        EverTaskError.__init__(self, f"no task with key {key!r}")
        self.key = key


class InvalidArgumentError(EverTaskError, ValueError):
    """An operation was given a value it cannot use (a queue name, an actor, a page size...)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid {name}: {reason}")
        self.name = name
        self.reason = reason


class InvalidFilterError(EverTaskError, ValueError):
    """A query, a bulk action or a statistics window asks for something storage cannot answer (a page size out
    of range, a naive datetime, an edited payload for more than one task...); nothing was changed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid filter: {reason}")
        self.reason = reason


class ActionNotAllowedError(EverTaskError):
    """An operator action does not apply to a task in its current status (retrying a running task...)."""

    def __init__(self, action: str, task_id: UUID, status: str, allowed: str) -> None:
        super().__init__(f"cannot {action} task {task_id}: it is {status} ({action} applies to {allowed} tasks)")
        self.action = action
        self.task_id = task_id
        self.status = status


class InvalidCursorError(InvalidFilterError):
    """A page cursor is not one this storage handed out for the same order (edited, truncated, or from another
    sort)."""

    def __init__(self, cursor: str, reason: str) -> None:
        shown = cursor if len(cursor) <= 60 else cursor[:57] + "..."
        super().__init__(f"cursor {shown!r} {reason}")
        self.cursor = cursor


class QueueFullError(EverTaskError):
    """A queue configured with ``when_full="raise"`` has no room for another task."""

    def __init__(self, queue: str, capacity: int) -> None:
        super().__init__(f"queue {queue!r} is full ({capacity} tasks waiting)")
        self.queue = queue
        self.capacity = capacity


class UnknownQueueError(ConfigurationError):
    """A task was sent to a queue the application does not define."""

    def __init__(self, queue: str) -> None:
        super().__init__(f"queue {queue!r} is not configured")
        self.queue = queue


class StorageError(EverTaskError):
    """The storage backend failed; the message names the backend (passwords hidden)."""


class StorageUnavailableError(StorageError):
    """The database could not be reached."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"storage at {url} is unavailable: {reason}")
        self.url = url
        self.reason = reason


class StorageBusyError(StorageError):
    """SQLite: another connection (another process) held the database's write lock for longer than the storage's
    ``busy_timeout``. Nothing of the call was written; it may be tried again."""

    def __init__(self, path: str, waited: float, busy_timeout: float) -> None:
        super().__init__(
            f"SQLite database {path} stayed locked by another connection: gave up after waiting {waited:.1f} s "
            f"(busy_timeout={busy_timeout:g} s); nothing was written"
        )
        self.path = path
        self.waited = waited
        self.busy_timeout = busy_timeout


class RateLimitExceededError(EverTaskError):
    """An attempt was over its rate limit and the limit says ``discard``."""

    def __init__(self, bucket: str, retry_after: float) -> None:
        super().__init__(f"rate limit of {bucket!r} exceeded (next permit in {retry_after:.3f} s); discarded")
        self.bucket = bucket
        self.retry_after = retry_after


class TaskTimeoutError(EverTaskError, TimeoutError):
    """An attempt ran longer than its timeout and was cancelled."""

    def __init__(self, task_id: UUID, timeout_seconds: float) -> None:
        super().__init__(f"task {task_id} timed out after {timeout_seconds:g} s")
        self.task_id = task_id
        self.timeout_seconds = timeout_seconds


class TaskResultError(EverTaskError):
    """A handler's return value cannot be stored: it cannot be serialised to JSON (or is too large, see
    :class:`ResultTooLargeError`). The attempt fails with this error, and the retry policy applies."""

    def __init__(self, task_type: str, reason: str) -> None:
        super().__init__(f"the result of task {task_type!r} cannot be stored: {reason}")
        self.task_type = task_type
        self.reason = reason


class ResultTooLargeError(TaskResultError):
    """A handler returned a value whose JSON is larger than the app's ``max_result_size``."""

    def __init__(self, task_type: str, size: int, limit: int) -> None:
        super().__init__(task_type, f"its JSON is {size} bytes, over the limit of {limit} (max_result_size)")
        self.size = size
        self.limit = limit


class TaskCancelledError(EverTaskError):
    """The task was cancelled while running; ``on_error`` receives this."""

    def __init__(self, task_id: UUID, reason: str = "cancelled by request") -> None:
        super().__init__(f"task {task_id} was cancelled: {reason}")
        self.task_id = task_id
        self.reason = reason


class NotStartedError(EverTaskError):
    """An operation needs the application to be started (``async with app``)."""


# --- mediator (commands, queries, notifications) ---------------------------------------------------------


class DuplicateHandlerError(ConfigurationError):
    """A second handler was registered for a command or query that already has its one handler."""

    def __init__(self, request_type: str, existing: str, duplicate: str) -> None:
        super().__init__(
            f"{request_type!r} already has the handler {existing}; {duplicate} cannot be a second one "
            "(a command or query has exactly one handler; notifications may have many)"
        )
        self.request_type = request_type
        self.existing = existing
        self.duplicate = duplicate


class MissingHandlerError(ConfigurationError):
    """A command or query (or a deferred message) was sent, but no handler is registered for its type."""

    def __init__(self, request_type: str) -> None:
        super().__init__(f"no handler is registered for {request_type!r}; register one with mediator.register(...)")
        self.request_type = request_type


class Rejected(EverTaskError):
    """A queued mediator refused a request, or dropped it before it ran; the handler never ran.

    ``reason`` is ``"queue_full"`` (``when_full="drop_write"`` and no room), ``"evicted"`` (a newer request
    took its place: ``drop_oldest`` / ``drop_newest``) or ``"closed"`` (the mediator was shutting down).
    """

    def __init__(self, request_type: str, reason: str, detail: str = "") -> None:
        super().__init__(f"request {request_type!r} was rejected ({reason}){': ' + detail if detail else ''}")
        self.request_type = request_type
        self.reason = reason


class RequestValidationError(EverTaskError, ValueError):
    """A request's validators found problems; the handler did not run. Never retried."""

    def __init__(self, request_type: str, failures: tuple[str, ...]) -> None:
        super().__init__(f"{request_type!r} is invalid: " + "; ".join(failures))
        self.request_type = request_type
        self.failures = failures


class RequestTimeoutError(EverTaskError, TimeoutError):
    """A request's handler ran longer than the request type's ``timeout`` and was cancelled."""

    def __init__(self, request_type: str, timeout_seconds: float) -> None:
        super().__init__(f"{request_type!r} timed out after {timeout_seconds:g} s")
        self.request_type = request_type
        self.timeout_seconds = timeout_seconds


class DuplicateRequestError(EverTaskError):
    """A request with this idempotency key is still running; its first result is not known yet."""

    def __init__(self, request_type: str, key: str) -> None:
        super().__init__(f"{request_type!r} with idempotency key {key!r} is already in progress")
        self.request_type = request_type
        self.key = key


class IdempotencyKeyReusedError(EverTaskError):
    """An idempotency key already answered a request with a different payload."""

    def __init__(self, request_type: str, key: str) -> None:
        super().__init__(f"idempotency key {key!r} of {request_type!r} was already used for a different payload")
        self.request_type = request_type
        self.key = key


# --- storage schema ------------------------------------------------------------------------------------------


class StorageSchemaError(StorageError):
    """evertask's tables in a database are missing, older or newer than this version of evertask expects."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"storage at {url} has no usable evertask schema: {reason}")
        self.url = url
        self.reason = reason
