"""What every backend can store, defined once: dispatch checks a task against these before anything is written,
so a value one database would refuse (or truncate) is the same typed error on all of them.

The SQL columns are sized from these constants (``storage/sql/tables.py``); the migrations spell the same sizes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from evertask.errors import ConfigurationError

MAX_KEY_LENGTH: Final = 200
"""Characters in a task key."""
MAX_QUEUE_NAME_LENGTH: Final = 200
"""Characters in a queue name."""
MAX_TYPE_NAME_LENGTH: Final = 255
"""Characters in a task type's stored name (``task_name``)."""

MIN_PRIORITY: Final = -(2**31)
MAX_PRIORITY: Final = 2**31 - 1
"""Priorities are 32-bit signed integers: the ``INTEGER`` column of every SQL backend."""

LATEST_DUE_TIME: Final = datetime(9999, 12, 30, tzinfo=UTC)
"""The latest due time a task may have. It is a day short of the end of Python's (and MySQL's) calendar, so
that the stored time can still be shown in any time zone."""

DEFAULT_MAX_PAYLOAD_BYTES: Final = 16 * 1024 * 1024
"""The default limit on a payload's JSON, in UTF-8 bytes (MySQL/MariaDB may impose a lower one: see
docs/storage.md)."""


def payload_limit(max_payload_bytes: int) -> int:
    """``max_payload_bytes`` as a storage's setting; :class:`ConfigurationError` unless it is a positive int."""
    if not isinstance(max_payload_bytes, int) or max_payload_bytes < 1:
        raise ConfigurationError(f"max_payload_bytes must be a positive int, got {max_payload_bytes!r}")
    return max_payload_bytes


def text_problem(text: object, max_length: int) -> str | None:
    """Why ``text`` cannot be stored as a key or a name on every backend, or None if it can."""
    if not isinstance(text, str):
        return f"a str is needed, not {type(text).__name__}"
    if len(text) > max_length:
        return f"{len(text)} characters; the limit is {max_length}"
    if "\x00" in text:
        return "it contains a NUL character, which PostgreSQL cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid Unicode (a lone surrogate such as '\\ud800'), so no database can store it"
    return None
