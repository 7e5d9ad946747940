"""A storage outage costs the log two lines per worker operation, however long it lasts: one warning when the
operation starts failing (naming it and the error, password hidden), one INFO line when it works again (how many
attempts failed, for how long). No traceback per poll."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from evertask import TaskStatus
from evertask.errors import StorageUnavailableError
from evertask.storage import ClaimResult, MemoryStorage, Outcome
from evertask.task import TaskRecord
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Echo, EchoHandler, Probe

RAW_URL = "postgresql://app:s3cret@db.internal/app"  # an error text from a storage that did not hide the password


class FailingFor(MemoryStorage):
    """A memory storage whose ``operation`` fails its next ``failures`` calls, then works: a database that went
    away and came back. Claims fail for the queue ``default`` only, so that one fetch loop sees them all."""

    def __init__(self, operation: str, failures: int) -> None:
        super().__init__()
        self.operation = operation
        self.left = failures
        self.failed = asyncio.Event()
        self.recovered = asyncio.Event()
        self.closed = False
        self.after_close: list[str] = []

    async def close(self) -> None:
        self.closed = True

    def _gate(self, operation: str) -> None:
        if self.closed:  # a real storage would raise "storage is not open"
            self.after_close.append(operation)
        if operation != self.operation:
            return
        if self.left > 0:
            self.left -= 1
            self.failed.set()
            raise StorageUnavailableError(RAW_URL, "connection refused")
        self.recovered.set()

    async def claim(self, **kwargs: Any) -> ClaimResult:
        if "default" in kwargs["queues"]:
            self._gate("claim")
        return await super().claim(**kwargs)

    async def recover_expired(self, *, now: datetime, max_recoveries: int) -> list[TaskRecord]:
        self._gate("recover_expired")
        return await super().recover_expired(now=now, max_recoveries=max_recoveries)

    async def finish(self, outcomes: Sequence[Outcome]) -> list[bool]:
        self._gate("finish")
        return await super().finish(outcomes)


def worker_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "evertask.worker" and r.levelno == level]


async def run_one_task_through(make_app: AppFactory, storage: FailingFor) -> None:
    app = make_app(storage=storage)
    app.register(EchoHandler)
    app.provide_value(Probe, Probe())
    async with app:
        task_id = await app.dispatch(Echo(text="after the outage"))
        record = await app.wait(task_id, timeout=15)
        assert record.status is TaskStatus.completed
        await asyncio.wait_for(storage.recovered.wait(), timeout=15)
    # stop() has returned: every loop ended after its last storage call, so its lines are all logged


def assert_one_outage(caplog: pytest.LogCaptureFixture, operation: str, failures: int) -> None:
    [warning] = worker_lines(caplog, logging.WARNING)
    message = warning.getMessage()
    assert operation in message
    assert "StorageUnavailableError" in message
    assert "connection refused" in message
    [recovered] = worker_lines(caplog, logging.INFO)
    assert operation in recovered.getMessage()
    assert f"{failures} failed attempts" in recovered.getMessage()
    assert worker_lines(caplog, logging.ERROR) == []
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a storage outage"
    assert "s3cret" not in caplog.text


@pytest.mark.parametrize(
    ("operation", "failures", "named"),
    [
        ("claim", 5, "claiming from queue 'default'"),
        ("recover_expired", 5, "heartbeat"),
        ("finish", 2, "recording outcomes"),  # its retries back off from 0.8 s: two failures keep the test short
    ],
)
async def test_an_outage_logs_one_warning_when_it_starts_and_one_line_when_it_ends(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, operation: str, failures: int, named: str
) -> None:
    caplog.set_level(logging.INFO, logger="evertask")
    storage = FailingFor(operation, failures)
    await run_one_task_through(make_app, storage)
    assert_one_outage(caplog, named, failures)


FIRST_RETRY = 0.8  # seconds after a failed outcome write before the recorder tries it again


async def stop_while_an_outcome_write_is_failing(make_app: AppFactory, storage: FailingFor) -> TaskStatus:
    """Stop the app just after an outcome write failed; the task's stored status once ``stop()`` returned."""
    app = make_app(storage=storage)
    app.register(EchoHandler)
    app.provide_value(Probe, Probe())
    await app.start()
    task_id = await app.dispatch(Echo(text="finished just before shutdown"))
    await asyncio.wait_for(storage.failed.wait(), timeout=10)
    started = time.monotonic()
    await app.stop()
    assert time.monotonic() - started < 10  # bounded: one more write at most, not the whole back-off
    await asyncio.sleep(FIRST_RETRY * 2)  # past the moment a retry left behind would fire
    assert storage.after_close == []
    record = await storage.get(task_id)
    assert record is not None
    return record.status


async def test_stop_writes_an_outcome_whose_write_failed_just_before_instead_of_retrying_after_it_returned(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    status = await stop_while_an_outcome_write_is_failing(make_app, FailingFor("finish", 1))
    assert status is TaskStatus.completed
    assert len(worker_lines(caplog, logging.WARNING)) <= 1
    assert worker_lines(caplog, logging.ERROR) == []


async def test_an_outcome_that_still_cannot_be_written_at_stop_is_dropped_with_one_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    status = await stop_while_an_outcome_write_is_failing(make_app, FailingFor("finish", 1_000))
    assert status is TaskStatus.in_progress  # run again once its lease expires: at least once, never lost
    outage, dropped = worker_lines(caplog, logging.WARNING)
    assert "recording outcomes failed" in outage.getMessage()
    assert "1 outcomes not recorded" in dropped.getMessage()
    assert "leases expire" in dropped.getMessage()
    assert worker_lines(caplog, logging.ERROR) == []
