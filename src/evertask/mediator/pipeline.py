"""Pipeline behaviours (middleware) around a request's handler, ordered by a numeric priority.

The chain for a request type is built once, at its first send after any registration, from the behaviours
whose :meth:`Behavior.applies_to` accepts the type, so a behaviour with nothing to do for a type costs that
type nothing. Lower priority runs further out; ties are broken by class name, so the order never depends on
the order of registration. Built-ins sit at the :class:`Priority` values; user behaviours default to
``Priority.default``, innermost, right around the handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from enum import IntEnum

from evertask.mediator.messages import Request

Next = Callable[[Request[object]], Awaitable[object]]
"""The rest of the pipeline: call it with the request (or another one) to run it, or do not, to short-circuit."""


class Priority(IntEnum):
    """Where the built-in behaviours sit (lower = outer). Pick a number between them to slot in your own."""

    logging = -100
    validation = -50
    retry = 50
    """Outside idempotency and timeout: each retry re-claims the key and gets a fresh timeout."""
    idempotency = 75
    timeout = 300
    """Bounds the handler and the user behaviours inside it, not the retries around it."""
    default = 1000


class Behavior:
    """Middleware for requests. Subclass it, override :meth:`handle` (and :meth:`applies_to` to skip types).

    Install an instance with ``mediator.use(behavior)``; one instance serves every request, concurrently, so
    keep per-request state in locals. A behaviour may transform the request or the result, catch errors,
    call ``call_next`` again (that is how retry works), or answer without calling it.
    """

    priority: int = Priority.default

    def applies_to(self, request_type: type[Request[object]]) -> bool:
        """Whether this behaviour wraps requests of ``request_type``; asked once per type, not per request."""
        return True

    async def handle(self, request: Request[object], call_next: Next) -> object:
        """Run around the rest of the pipeline; return the result the caller will get."""
        return await call_next(request)


class _Link:
    """One behaviour bound to the rest of its chain, built once per request type.

    ``__call__`` is a plain function returning the behaviour's coroutine, so a link adds no coroutine frame
    and no per-request allocation of its own.
    """

    __slots__ = ("_behavior", "_next")

    def __init__(self, behavior: Behavior, call_next: Next) -> None:
        self._behavior = behavior
        self._next = call_next

    def __call__(self, request: Request[object]) -> Awaitable[object]:
        return self._behavior.handle(request, self._next)


def build_pipeline(behaviors: Iterable[Behavior], request_type: type[Request[object]], handler: Next) -> Next:
    """The entry point of ``request_type``'s pipeline: the applicable behaviours wrapped around ``handler``,
    outermost first by priority, then by class name (then, for one class twice, the first added)."""
    outer_first = sorted((b for b in behaviors if b.applies_to(request_type)), key=_order)
    chain = handler
    for behavior in outer_first[::-1]:  # wrap from the innermost outwards
        chain = _Link(behavior, chain)
    return chain


def _order(behavior: Behavior) -> tuple[int, str, str]:
    return behavior.priority, type(behavior).__module__, type(behavior).__qualname__
