"""OutageLog: what the worker logs while a storage operation keeps failing and when it works again."""

from __future__ import annotations

import logging

import pytest

from evertask.errors import StorageUnavailableError
from evertask.worker.outage import OutageLog, describe


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "evertask.worker"]


def test_an_outage_of_many_failures_is_one_warning_then_one_info_line_with_count_and_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="evertask")
    clock = Clock()
    outage = OutageLog("claiming from queue 'mail'", clock=clock)
    for _ in range(40):
        outage.failed(StorageUnavailableError("postgresql://app:***@db/app", "connection refused"))
        clock.now += 0.5
    outage.succeeded()
    outage.succeeded()  # working as usual again: nothing more to say
    assert lines(caplog) == [
        (
            logging.WARNING,
            "claiming from queue 'mail' failed (StorageUnavailableError: storage at postgresql://app:***@db/app is "
            "unavailable: connection refused); retrying, and quiet until it works again",
        ),
        (logging.INFO, "claiming from queue 'mail' works again after 40 failed attempts over 20.0 s"),
    ]
    assert not [r for r in caplog.records if r.exc_info]


def test_each_failure_after_the_first_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="evertask")
    outage = OutageLog("recording outcomes")
    for _ in range(3):
        outage.failed(OSError("connection reset"))
    assert [level for level, _ in lines(caplog)] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert outage.failures == 3


def test_a_new_outage_after_recovery_is_reported_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="evertask")
    outage = OutageLog("the heartbeat")
    for _ in range(2):
        outage.failed(StorageUnavailableError("sqlite:///t.db", "disk I/O error"))
        outage.succeeded()
    assert [level for level, _ in lines(caplog)] == [logging.WARNING, logging.INFO] * 2
    assert "after 1 failed attempt over" in lines(caplog)[1][1]


def test_an_error_that_is_not_a_storage_error_keeps_its_traceback_once(caplog: pytest.LogCaptureFixture) -> None:
    outage = OutageLog("claiming from queue 'default'")
    for _ in range(3):
        outage.failed(TypeError("a bug in a custom storage"))
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.exc_info is not None  # a bug, not an outage: its traceback is what a report needs


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("could not reach postgresql://app:s3cret@db:5432/app", "could not reach postgresql://app:***@db:5432/app"),
        ("mysql+asyncmy://root:p%40ss@localhost/test refused", "mysql+asyncmy://root:***@localhost/test refused"),
        ("bad conninfo: host=db password=s3cret user=app", "bad conninfo: host=db password=*** user=app"),
        ("sqlite:///var/tasks.db is locked", "sqlite:///var/tasks.db is locked"),
    ],
)
def test_a_password_in_the_error_text_is_hidden(text: str, shown: str) -> None:
    assert describe(ConnectionError(text)) == f"ConnectionError: {shown}"
