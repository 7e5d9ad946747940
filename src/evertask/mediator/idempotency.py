"""Idempotency: a request carrying a key already answered gets the first answer again; the handler runs once.

Opt in per type with ``idempotency_key="field_name"``; keys are scoped by the type's ``message_name``. A key in
progress is a :class:`~evertask.errors.DuplicateRequestError`; a key reused with another payload is an
:class:`~evertask.errors.IdempotencyKeyReusedError`; a failure (or cancellation) frees the key, so the request can be
sent again. Results are replayed as the same object, so return immutable values.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol, cast

from evertask.errors import ConfigurationError, DuplicateRequestError, IdempotencyKeyReusedError
from evertask.mediator.messages import Request
from evertask.mediator.pipeline import Behavior, Next, Priority


@dataclass(slots=True)
class IdempotencyRecord:
    """What a store holds under one key: the request that claimed it and, once ``done``, its result."""

    request: Request[object]
    done: bool = False
    result: object = None


class IdempotencyStore(Protocol):
    """Where claimed keys and first results are kept. Every method is one atomic step for its key."""

    async def claim(self, key: str, request: Request[object]) -> IdempotencyRecord | None:
        """Take ``key`` for ``request`` and return None; or, if it is taken, return the record holding it."""
        ...

    async def complete(self, key: str, result: object) -> None:
        """Store the result of the claim on ``key``; later claims get it back."""
        ...

    async def release(self, key: str) -> None:
        """Give up the claim on ``key`` (its request failed); the next claim runs the handler again."""
        ...


class MemoryIdempotencyStore:
    """An in-process :class:`IdempotencyStore` keeping the ``max_entries`` most recently used results."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1, got {max_entries}")
        self._max_entries = max_entries
        self._running: dict[str, IdempotencyRecord] = {}
        # Only completed records are evicted: forgetting a running claim would let a duplicate run.
        self._done: OrderedDict[str, IdempotencyRecord] = OrderedDict()

    async def claim(self, key: str, request: Request[object]) -> IdempotencyRecord | None:
        record = self._running.get(key)
        if record is not None:
            return record
        record = self._done.get(key)
        if record is not None:
            self._done.move_to_end(key)
            return record
        self._running[key] = IdempotencyRecord(request)
        return None

    async def complete(self, key: str, result: object) -> None:
        record = self._running.pop(key)
        record.done, record.result = True, result
        self._done[key] = record
        if len(self._done) > self._max_entries:
            self._done.popitem(last=False)

    async def release(self, key: str) -> None:
        self._running.pop(key, None)


class IdempotencyBehavior(Behavior):
    """Replays the first result of each idempotency key (see the module documentation)."""

    priority = Priority.idempotency

    def __init__(self, store: IdempotencyStore | None = None) -> None:
        self.store: IdempotencyStore = store if store is not None else MemoryIdempotencyStore()

    def applies_to(self, request_type: type[Request[object]]) -> bool:
        attribute = request_type.request_options.idempotency_key
        if attribute is None:
            return False
        if attribute not in request_type.model_fields and not hasattr(request_type, attribute):
            raise ConfigurationError(
                f"{request_type.__qualname__} names idempotency_key={attribute!r}, but has no such attribute"
            )
        return True

    async def handle(self, request: Request[object], call_next: Next) -> object:
        value = getattr(request, cast(str, request.request_options.idempotency_key))
        if value is None:
            return await call_next(request)
        key = f"{request.message_name}:{value}"
        record = await self.store.claim(key, request)
        if record is not None:
            if record.request != request:
                raise IdempotencyKeyReusedError(request.message_name, str(value))
            if not record.done:
                raise DuplicateRequestError(request.message_name, str(value))
            return record.result
        try:
            result = await call_next(request)
        except BaseException:
            await self.store.release(key)
            raise
        await self.store.complete(key, result)
        return result
