"""Handler base classes, and how one handler is built and called for one message.

A handler names what it handles in its base class (``CommandHandler[CreateUser, UUID]``); registration reads
that type argument, so there is nothing else to declare. ``handle`` may be ``async def`` or plain ``def``: a
plain one runs in the default thread pool with the caller's context variables. Handlers are built per message
through the dependency container, with constructor injection by type hints (the same providers as tasks).
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from evertask.di import Container
from evertask.errors import ConfigurationError
from evertask.mediator.messages import Command, Message, Notification, Query, Request

C = TypeVar("C", bound=Command[object])
Q = TypeVar("Q", bound=Query[object])
N = TypeVar("N", bound=Notification)
Req = TypeVar("Req", bound=Request[object])
R = TypeVar("R")

Role = Literal["request", "notification", "validator"]


class CommandHandler(Generic[C, R]):
    """The one handler of command type ``C``; ``handle`` returns its result (of type ``R``) or raises."""

    def handle(self, command: C) -> R | Awaitable[R]:
        """Carry out ``command``. Override as ``async def`` (or plain ``def`` for blocking code)."""
        raise NotImplementedError


class QueryHandler(Generic[Q, R]):
    """The one handler of query type ``Q``; ``handle`` returns the answer (of type ``R``) or raises."""

    def handle(self, query: Q) -> R | Awaitable[R]:
        """Answer ``query``. Override as ``async def`` (or plain ``def`` for blocking code)."""
        raise NotImplementedError


class NotificationHandler(Generic[N]):
    """One of any number of handlers of notification type ``N`` (and of its subclasses)."""

    def handle(self, notification: N) -> Awaitable[None] | None:
        """React to ``notification``. Override as ``async def`` (or plain ``def`` for blocking code)."""
        raise NotImplementedError


class Validator(Generic[Req]):
    """Checks a command or query before its handler runs; every validator of the type runs.

    Use it for rules pydantic cannot check on the model alone (uniqueness, existence: anything needing a
    dependency). Any failure message makes the request fail with
    :class:`~evertask.errors.RequestValidationError` carrying all of them; the handler does not run.
    """

    def validate(self, request: Req) -> Iterable[str] | Awaitable[Iterable[str]]:
        """The problems found in ``request``, as messages for its sender; empty when it is valid."""
        raise NotImplementedError


_ROLES: dict[type, tuple[Role, type, str]] = {
    CommandHandler: ("request", Command, "handle"),
    QueryHandler: ("request", Query, "handle"),
    NotificationHandler: ("notification", Notification, "handle"),
    Validator: ("validator", Request, "validate"),
}


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """What registration learned from a handler class."""

    cls: type
    message_type: type[Message]
    role: Role
    method: str
    is_async: bool


def is_mediator_component(cls: object) -> bool:
    """Whether ``cls`` is a class the mediator registers (a handler or a validator)."""
    return isinstance(cls, type) and issubclass(cls, tuple(_ROLES))


def spec_of(cls: type) -> HandlerSpec:
    """Read the handled message type and the calling convention of ``cls``; a clear error if unusable."""
    if not is_mediator_component(cls):
        raise ConfigurationError(
            f"{_name(cls)} is not a mediator handler: subclass CommandHandler[C, R], QueryHandler[Q, R], "
            "NotificationHandler[N] or Validator[C]"
        )
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            role = _ROLES.get(typing.get_origin(base) or base)
            if role is not None:
                return _spec(cls, typing.get_args(base), *role)
    raise ConfigurationError(f"{_name(cls)} does not say which message it handles, e.g. CommandHandler[C, R]")


def _spec(cls: type, args: tuple[object, ...], role: Role, expected: type, method: str) -> HandlerSpec:
    message_type = args[0] if args else None
    if not (isinstance(message_type, type) and issubclass(message_type, expected)):
        raise ConfigurationError(f"{_name(cls)} must handle a {expected.__name__} subclass, not {message_type!r}")
    function = getattr(cls, method)
    if any(getattr(base, method, None) is function for base in _ROLES):
        raise ConfigurationError(f"{_name(cls)} does not define {method}()")
    return HandlerSpec(
        cls, typing.cast(type[Message], message_type), role, method, inspect.iscoroutinefunction(function)
    )


class HandlerInvoker:
    """Builds one handler (or validator) per message and calls it: the innermost step of every pipeline.

    A class without constructor parameters is instantiated directly, so the common case opens no DI scope.
    """

    __slots__ = ("_cls", "_container", "_is_async", "_method", "_needs_scope")

    def __init__(self, spec: HandlerSpec, container: Container) -> None:
        self._cls = spec.cls
        self._method = spec.method
        self._is_async = spec.is_async
        self._container = container
        self._needs_scope = bool(container.parameters(spec.cls))

    async def __call__(self, message: Message) -> object:
        if not self._needs_scope:
            return await self._call(self._cls(), message)
        async with self._container.scope() as scope:
            return await self._call(await scope.build(self._cls), message)

    def _call(self, handler: object, message: Message) -> Awaitable[object]:
        method = getattr(handler, self._method)
        if self._is_async:
            return typing.cast(Awaitable[object], method(message))
        # to_thread copies the caller's contextvars into the worker thread (request ids, tracing spans).
        return asyncio.to_thread(method, message)


def _name(cls: object) -> str:
    return str(getattr(cls, "__qualname__", repr(cls)))
