"""Which status changes the audit trail keeps, by level (EverTask's ``AuditLevel``)."""

from __future__ import annotations

from evertask.storage.base import AuditLevel
from evertask.task import TaskStatus


class AuditFilter:
    """Decides whether a transition is written to history, and an execution to the attempts.

    ``full`` keeps every transition; ``minimal`` keeps final ones and any that carries an error (retries,
    recoveries); ``errors`` keeps only transitions that carry an error; ``none`` keeps nothing. Attempts: ``full``
    and ``minimal`` keep every one, ``errors`` those that ended with an error, ``none`` none.
    """

    __slots__ = ("level",)

    def __init__(self, level: AuditLevel) -> None:
        if level not in ("full", "minimal", "errors", "none"):
            raise ValueError(f"unknown audit level {level!r}: use full, minimal, errors or none")
        self.level = level

    def keeps(self, to_status: TaskStatus, error: str | None) -> bool:
        """Whether a change to ``to_status`` (with ``error``) is recorded."""
        if self.level == "full":
            return True
        if self.level == "none":
            return False
        if error is not None:
            return True
        return self.level == "minimal" and to_status.is_final

    def keeps_attempt(self, error: str | None) -> bool:
        """Whether an execution that ended with ``error`` (None: without one) is recorded."""
        if self.level == "none":
            return False
        return error is not None or self.level != "errors"
