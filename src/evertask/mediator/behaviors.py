"""The built-in behaviours: logging, validation, retry and timeout (idempotency lives in its own module).

Each applies only where it has work: validation to types with validators, retry and timeout to types that
declare them (see :class:`~evertask.mediator.messages.RequestOptions`). Only logging wraps every request, and
it formats nothing unless its logger is enabled for the level.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import cast

import pydantic

from evertask.di import Container
from evertask.errors import (
    ConfigurationError,
    DuplicateRequestError,
    IdempotencyKeyReusedError,
    Rejected,
    RequestTimeoutError,
    RequestValidationError,
)
from evertask.mediator.handlers import HandlerInvoker
from evertask.mediator.messages import Request
from evertask.mediator.pipeline import Behavior, Next, Priority
from evertask.mediator.registry import Registry
from evertask.retry import RetryPolicy

NEVER_RETRIED: tuple[type[Exception], ...] = (
    RequestValidationError,
    pydantic.ValidationError,
    Rejected,
    DuplicateRequestError,
    IdempotencyKeyReusedError,
    ConfigurationError,
)
"""Errors that another attempt cannot fix: bad input, a refused request, a configuration mistake."""

_logger = logging.getLogger("evertask.mediator")


class LoggingBehavior(Behavior):
    """Logs each request's start and completion (DEBUG, with the duration) and its failure (INFO)."""

    priority = Priority.logging

    def __init__(self, logger: logging.Logger = _logger) -> None:
        self._logger = logger

    async def handle(self, request: Request[object], call_next: Next) -> object:
        logger = self._logger
        debug = logger.isEnabledFor(logging.DEBUG)
        if debug:
            logger.debug("%s started", request.message_name)
        started = time.perf_counter()
        try:
            result = await call_next(request)
        except Exception as exc:
            # INFO, not ERROR: the caller receives the exception and decides how bad it is.
            elapsed = (time.perf_counter() - started) * 1000
            logger.info("%s failed after %.1f ms: %r", request.message_name, elapsed, exc)
            raise
        if debug:
            elapsed = (time.perf_counter() - started) * 1000
            logger.debug("%s completed in %.1f ms", request.message_name, elapsed)
        return result


class ValidationBehavior(Behavior):
    """Runs every :class:`~evertask.mediator.Validator` of the request's type (and of its bases), in turn,
    then fails with one :class:`~evertask.errors.RequestValidationError` listing all failures."""

    priority = Priority.validation

    def __init__(self, registry: Registry, container: Container) -> None:
        self._registry = registry
        self._container = container
        self._validators: dict[type[Request[object]], tuple[HandlerInvoker, ...]] = {}

    def applies_to(self, request_type: type[Request[object]]) -> bool:
        # The mediator asks again after every registration, so this is also where the cache is refreshed.
        specs = self._registry.subscribers(request_type)
        self._validators[request_type] = tuple(HandlerInvoker(s, self._container) for s in specs)
        return bool(specs)

    async def handle(self, request: Request[object], call_next: Next) -> object:
        failures: list[str] = []
        for validate in self._validators[type(request)]:
            failures.extend(cast(Iterable[str], await validate(request)))
        if failures:
            raise RequestValidationError(request.message_name, tuple(failures))
        return await call_next(request)


class RetryBehavior(Behavior):
    """Runs the rest of the pipeline again after a failure, as the type's ``retry`` policy allows.

    Never retries :data:`NEVER_RETRIED` errors or cancellation. The wait between attempts holds the request's
    place (in queued mode, its consumer slot), so keep in-process retry delays short; use a task for long ones.
    """

    priority = Priority.retry

    def applies_to(self, request_type: type[Request[object]]) -> bool:
        return request_type.request_options.retry is not None

    async def handle(self, request: Request[object], call_next: Next) -> object:
        policy = cast(RetryPolicy, request.request_options.retry)
        attempt = 1
        while True:
            try:
                return await call_next(request)
            except NEVER_RETRIED:
                raise
            except Exception as exc:
                delay = policy.next_delay(attempt, exc)
                if delay is None:
                    raise
                _logger.debug("%s attempt %d failed (%r); retrying", request.message_name, attempt, exc)
            await asyncio.sleep(delay.total_seconds())
            attempt += 1


class TimeoutBehavior(Behavior):
    """Cancels the handler after the type's ``timeout`` and raises
    :class:`~evertask.errors.RequestTimeoutError`.

    A sync handler's thread cannot be interrupted: the caller is answered on time, the thread runs on.
    """

    priority = Priority.timeout

    def applies_to(self, request_type: type[Request[object]]) -> bool:
        return request_type.request_options.timeout is not None

    async def handle(self, request: Request[object], call_next: Next) -> object:
        seconds = cast(float, request.request_options.timeout)
        try:
            async with asyncio.timeout(seconds) as deadline:
                return await call_next(request)
        except TimeoutError as exc:
            if deadline.expired():
                raise RequestTimeoutError(request.message_name, seconds) from exc
            raise
