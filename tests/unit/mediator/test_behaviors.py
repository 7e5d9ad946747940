"""The built-in behaviours: validation, retry (opt-in, never on validation errors), timeout, logging."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pydantic
import pytest

from evertask.errors import RequestTimeoutError, RequestValidationError
from evertask.mediator import Command, CommandHandler, Mediator, Validator
from evertask.retry import RetryPolicy

NO_WAIT = RetryPolicy.linear(3, timedelta(0))


class Attempts:
    """Counts handler runs; fails the first ``failures`` of them with ``error``."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.count = 0
        self.failures = failures
        self.error = error or ConnectionError("flaky")

    def run(self) -> str:
        self.count += 1
        if self.count <= self.failures:
            raise self.error
        return f"ok after {self.count}"


class Flaky(Command[str], retry=NO_WAIT):
    pass


class Plain(Command[str]):
    pass


class Signup(Command[str], retry=NO_WAIT):
    email: str


class FlakyHandler(CommandHandler[Flaky, str]):
    def __init__(self, attempts: Attempts) -> None:
        self.attempts = attempts

    async def handle(self, command: Flaky) -> str:
        return self.attempts.run()


class PlainHandler(CommandHandler[Plain, str]):
    def __init__(self, attempts: Attempts) -> None:
        self.attempts = attempts

    async def handle(self, command: Plain) -> str:
        return self.attempts.run()


class SignupHandler(CommandHandler[Signup, str]):
    def __init__(self, attempts: Attempts) -> None:
        self.attempts = attempts

    async def handle(self, command: Signup) -> str:
        return self.attempts.run()


class Taken:
    emails = frozenset({"taken@example.com", "taken@localhost"})


class EmailFree(Validator[Signup]):
    def __init__(self, taken: Taken) -> None:
        self.taken = taken

    async def validate(self, request: Signup) -> list[str]:
        return ["email is taken"] if request.email in self.taken.emails else []


class EmailLooksReal(Validator[Signup]):
    def validate(self, request: Signup) -> list[str]:  # sync validators run in a thread, like handlers
        return [] if "." in request.email.split("@")[-1] else ["email domain has no dot"]


class Slow(Command[str], timeout=0.05):
    pass


class Quick(Command[str], timeout=timedelta(seconds=30)):
    pass


class SlowHandler(CommandHandler[Slow, str]):
    async def handle(self, command: Slow) -> str:
        await asyncio.Event().wait()
        return "never"


class QuickHandler(CommandHandler[Quick, str]):
    async def handle(self, command: Quick) -> str:
        return "quick"


def _mediator(attempts: Attempts) -> Mediator:
    mediator = Mediator()
    mediator.provide(Attempts, attempts)
    mediator.provide(Taken, Taken())
    mediator.register(FlakyHandler, PlainHandler, SignupHandler, EmailFree, EmailLooksReal)
    mediator.register(SlowHandler, QuickHandler)
    return mediator


async def test_validators_all_run_and_their_failures_are_reported_together() -> None:
    attempts = Attempts()
    with pytest.raises(RequestValidationError) as caught:
        await _mediator(attempts).send(Signup(email="taken@localhost"))
    assert sorted(caught.value.failures) == ["email domain has no dot", "email is taken"]
    assert attempts.count == 0


async def test_a_request_that_passes_its_validators_reaches_the_handler() -> None:
    assert await _mediator(Attempts()).send(Signup(email="new@example.com")) == "ok after 1"


async def test_retry_runs_the_handler_again_for_a_type_that_opts_in() -> None:
    attempts = Attempts(failures=2)
    assert await _mediator(attempts).send(Flaky()) == "ok after 3"


async def test_retry_gives_up_after_the_policys_retries() -> None:
    attempts = Attempts(failures=10)
    with pytest.raises(ConnectionError):
        await _mediator(attempts).send(Flaky())
    assert attempts.count == 4  # linear(3): three retries after the first attempt


async def test_a_type_without_a_retry_policy_is_not_retried() -> None:
    attempts = Attempts(failures=1)
    with pytest.raises(ConnectionError):
        await _mediator(attempts).send(Plain())
    assert attempts.count == 1


async def test_a_validator_failure_is_never_retried() -> None:
    attempts = Attempts()
    mediator = _mediator(attempts)
    with pytest.raises(RequestValidationError):
        await mediator.send(Signup(email="taken@example.com"))
    assert attempts.count == 0


async def test_a_pydantic_validation_error_from_the_handler_is_never_retried() -> None:
    try:
        pydantic.TypeAdapter(int).validate_python("not a number")
    except pydantic.ValidationError as error:
        invalid = error
    attempts = Attempts(failures=10, error=invalid)
    with pytest.raises(pydantic.ValidationError):
        await _mediator(attempts).send(Signup(email="new@example.com"))
    assert attempts.count == 1


async def test_a_handler_running_past_its_timeout_is_cancelled_with_a_timeout_error() -> None:
    with pytest.raises(RequestTimeoutError) as caught:
        await _mediator(Attempts()).send(Slow())
    assert caught.value.timeout_seconds == 0.05
    assert isinstance(caught.value, TimeoutError)


async def test_a_handler_within_its_timeout_returns_normally() -> None:
    assert await _mediator(Attempts()).send(Quick()) == "quick"


async def test_a_timeout_the_caller_set_is_not_reported_as_the_requests_timeout() -> None:
    with pytest.raises(TimeoutError) as caught:
        async with asyncio.timeout(0.01):
            await _mediator(Attempts()).send(Slow())
    assert not isinstance(caught.value, RequestTimeoutError)


async def test_a_failure_is_logged_with_the_request_name(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="evertask.mediator")
    with pytest.raises(ConnectionError):
        await _mediator(Attempts(failures=1)).send(Plain())
    assert any(Plain.message_name in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)
