"""What goes through the mediator: commands and queries (one handler, a result) and notifications (fan-out).

Messages are frozen pydantic models, so they are validated when built, can be sent twice, and serialise to
JSON (which is how :meth:`Mediator.defer` stores them). Per-type pipeline options are class keywords::

    class ChargeCard(Command[Receipt], timeout=5, retry=RetryPolicy.linear(2), idempotency_key="order_id"):
        order_id: str
        cents: int

A subclass inherits its parent's options and may override any of them, so a project-wide base class can
carry a default timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from evertask.errors import ConfigurationError
from evertask.retry import RetryPolicy

R_co = TypeVar("R_co", covariant=True)

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """The pipeline options of one request type; ``None`` means the behaviour has nothing to do for it."""

    timeout: float | None = None
    """Seconds the handler (and the behaviours inside the timeout) may run before it is cancelled."""
    retry: RetryPolicy | None = None
    """Retry failed attempts with this policy; validation, rejection and configuration errors never are."""
    idempotency_key: str | None = None
    """Name of the attribute (field or property) holding the key; a ``None`` value opts that instance out."""


class Message(BaseModel):
    """Base of everything the mediator carries. ``message_name`` is its stable name in stored (deferred) form.

    It is ``"module.QualName"`` unless the class sets ``message_name = "..."`` itself: do that before renaming
    or moving a class of which deferred messages may be stored.
    """

    # As for task payloads (evertask.task.Task): validation errors show fields and problems, not input values.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    message_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("message_name"):
            cls.message_name = f"{cls.__module__}.{cls.__qualname__}"


class Request(Message, Generic[R_co]):
    """A message with exactly one handler and a result of type ``R_co``: a :class:`Command` or a :class:`Query`.

    Class keywords ``timeout`` (seconds or timedelta), ``retry`` and ``idempotency_key`` set
    :class:`RequestOptions` for the type, read back as ``request_options``.
    """

    request_options: ClassVar[RequestOptions] = RequestOptions()

    def __init_subclass__(
        cls,
        *,
        timeout: float | timedelta | None = _UNSET,
        retry: RetryPolicy | None = _UNSET,
        idempotency_key: str | None = _UNSET,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        given: dict[str, Any] = {}
        if timeout is not _UNSET:
            given["timeout"] = _seconds(cls, timeout)
        if retry is not _UNSET:
            given["retry"] = retry
        if idempotency_key is not _UNSET:
            given["idempotency_key"] = idempotency_key
        if given:
            cls.request_options = replace(cls.request_options, **given)


class Command(Request[R_co], Generic[R_co]):
    """A request to change something, answered by one :class:`~evertask.mediator.CommandHandler`.

    The type argument is the result type (``Command[None]`` for commands that return nothing).
    """


class Query(Request[R_co], Generic[R_co]):
    """A request to read something, answered by one :class:`~evertask.mediator.QueryHandler`."""


class Notification(Message):
    """Something that happened; every :class:`~evertask.mediator.NotificationHandler` of its type (or of a
    base type) receives it."""


def _seconds(cls: type, timeout: float | timedelta | None) -> float | None:
    if timeout is None:
        return None
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    if seconds <= 0:
        raise ConfigurationError(f"{cls.__qualname__}: timeout must be positive, got {timeout!r}")
    return seconds
