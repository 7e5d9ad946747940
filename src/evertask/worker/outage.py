"""Storage outages as the worker logs them: the fetch loops, the heartbeat and the outcome writes retry on their
own, so an outage of any length is worth two lines per operation, not a traceback per attempt."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from evertask.errors import StorageError

logger = logging.getLogger("evertask.worker")
# A password in a URL (scheme://user:password@) or in a libpq-style conninfo (password=...).
_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@]+@|(?P<key>password\s*=\s*)\S+", re.IGNORECASE)


def _masked(text: str) -> str:
    return _PASSWORD.sub(lambda m: f"{m['head']}***@" if m["head"] else f"{m['key']}***", text)


def describe(error: BaseException) -> str:
    """``Type: message`` of ``error``, any password in it hidden."""
    return f"{type(error).__name__}: {_masked(str(error))}"


class OutageLog:
    """The failures of one repeated storage operation (``operation``, as a log line names it).

    The first failure logs a WARNING naming the operation and the error (with its traceback only when it is not
    a :class:`~evertask.errors.StorageError`: then it is a bug, not an outage); further failures log at DEBUG;
    the first success after them logs one INFO line with the number of failed attempts and how long they lasted.
    """

    __slots__ = ("_clock", "_operation", "_since", "failures")

    def __init__(self, operation: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._operation = operation
        self._clock = clock
        self._since = 0.0
        self.failures = 0
        """Failed attempts since the operation last worked (0: it works)."""

    def failed(self, error: BaseException) -> None:
        """One more attempt failed with ``error``; the caller retries it."""
        self.failures += 1
        if self.failures > 1:
            logger.debug("%s failed again (%s)", self._operation, describe(error))
            return
        self._since = self._clock()
        logger.warning(
            "%s failed (%s); retrying, and quiet until it works again",
            self._operation,
            describe(error),
            exc_info=None if isinstance(error, StorageError) else error,
        )

    def succeeded(self) -> None:
        """The operation worked: ends the outage, if there was one."""
        if not self.failures:
            return
        logger.info(
            "%s works again after %d failed attempt%s over %.1f s",
            self._operation,
            self.failures,
            "" if self.failures == 1 else "s",
            self._clock() - self._since,
        )
        self.failures = 0
