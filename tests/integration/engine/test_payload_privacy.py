"""Payloads carry personal data: a payload that does not fit its class is reported by field name and kind of
error, never with its values, in logs, in the stored error (``last_error``, history) and in events."""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from datetime import UTC, datetime

import pytest

from evertask import EverTask, Handler, Task, TaskContext, TaskStatus
from evertask.errors import SerializationError, TaskValidationError
from evertask.events import TaskEvent, TaskFailed, TaskRetrying
from evertask.serialization import load_payload
from evertask.storage import NewTask
from tests.integration.conftest import AppFactory

SECRET = "SECRET-4711"


class Transfer(Task):
    iban: str
    amount: int


class TransferHandler(Handler[Transfer]):
    async def handle(self, task: Transfer, ctx: TaskContext) -> None:
        pass


class Forward(Task):
    text: str


class ForwardHandler(Handler[Forward]):
    """Builds a follow-up task from its own payload, which does not fit: a ValidationError inside ``handle``."""

    async def handle(self, task: Forward, ctx: TaskContext) -> None:
        Transfer(iban=task.text, amount=task.text)  # type: ignore[arg-type]


def stale_payload() -> str:
    # ``iban`` is missing (pydantic shows the whole object as its input) and ``amount`` no longer parses.
    return json.dumps({"amount": f"{SECRET}-amount", "memo": f"{SECRET}-memo"})


async def run_to_failure(app: EverTask, task_id: uuid.UUID, failures: list[TaskEvent]) -> str:
    record = await app.wait(task_id, timeout=10)
    assert record.status is TaskStatus.failed
    assert record.last_error is not None
    history = await app.storage.history(task_id)
    texts = [record.last_error, *(change.error or "" for change in history), *(repr(e) for e in failures)]
    for text in texts:
        assert SECRET not in text
    return record.last_error


def watched_app(make_app: AppFactory, handler: type, *kinds: type[TaskEvent]) -> tuple[EverTask, list[TaskEvent]]:
    """An app running ``handler``, and the events of ``kinds`` it publishes."""
    app = make_app()
    app.register(handler)
    events: list[TaskEvent] = []
    app.events.subscribe(events.append, *kinds)
    return app, events


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records
    assert SECRET not in caplog.text  # messages and formatted tracebacks


async def test_a_stored_payload_that_no_longer_fits_fails_naming_fields_and_errors_but_no_values(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="evertask")
    app, failures = watched_app(make_app, TransferHandler, TaskFailed)
    now = datetime.now(UTC)
    async with app:
        [task_id] = await app.storage.add(
            [NewTask(uuid.uuid4(), Transfer.task_name, stale_payload(), "default", now, now)]
        )
        last_error = await run_to_failure(app, task_id, failures)
    assert "iban" in last_error
    assert "missing" in last_error
    assert "amount" in last_error
    assert "int_parsing" in last_error
    assert failures
    assert_no_secret_logged(caplog)


def test_load_payload_error_names_fields_and_error_kinds_only() -> None:
    with pytest.raises(SerializationError) as caught:
        load_payload(Transfer, stale_payload())
    assert str(caught.value) == (
        f"task {Transfer.task_name!r} cannot be serialised: stored payload no longer matches Transfer: "
        "2 errors: iban (missing), amount (int_parsing)"
    )
    assert SECRET not in "".join(traceback.format_exception(caught.value))


async def test_a_task_built_with_bad_values_inside_a_handler_leaves_no_values_in_the_stored_error(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="evertask")
    app, failures = watched_app(make_app, ForwardHandler, TaskFailed, TaskRetrying)
    async with app:
        task_id = await app.dispatch(Forward(text=SECRET))
        last_error = await run_to_failure(app, task_id, failures)
    assert "ValidationError" in last_error
    assert "amount" in last_error
    assert_no_secret_logged(caplog)


async def test_a_function_task_given_a_bad_argument_raises_without_its_value(make_app: AppFactory) -> None:
    app = make_app()

    @app.task
    async def charge(iban: str, amount: int) -> None:
        pass

    async with app:
        with pytest.raises(TaskValidationError) as caught:
            await charge.dispatch(iban=SECRET, amount=f"{SECRET}-amount")
    assert "amount (int_parsing)" in str(caught.value)
    assert SECRET not in "".join(traceback.format_exception(caught.value))
