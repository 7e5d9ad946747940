"""A storage outage costs the log two lines per worker operation, however long it lasts: one warning when the
operation starts failing (naming it and the error, password hidden), one INFO line when it works again (how many
attempts failed, for how long). No traceback per poll."""

from __future__ import annotations

import asyncio
import logging
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
        self.recovered = asyncio.Event()

    def _gate(self, operation: str) -> None:
        if operation != self.operation:
            return
        if self.left > 0:
            self.left -= 1
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
