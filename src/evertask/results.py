"""Handler results: a handler's return value to the JSON stored with its task, and back.

Values are serialised with pydantic (models, dataclasses, datetimes, UUIDs, sets... as ``pydantic_core.to_json``
does; NaN and infinities become ``null``, as in JavaScript), so that what is stored is always valid JSON.
``None`` stores nothing.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic_core import PydanticSerializationError, to_json

from evertask.errors import ConfigurationError, ResultTooLargeError, TaskResultError

DEFAULT_MAX_RESULT_SIZE: Final = 64 * 1024
"""Bytes of JSON a result may take by default (``EverTask(max_result_size=...)``)."""


def check_limit(limit: int) -> int:
    """``limit`` if it is a usable ``max_result_size``; :class:`ConfigurationError` if not."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigurationError(f"max_result_size must be a positive number of bytes, got {limit!r}")
    return limit


def dump_result(value: object, *, task_type: str, limit: int) -> str | None:
    """The JSON stored for a handler's return value (None for None).

    Raises :class:`TaskResultError` if it cannot be serialised, :class:`ResultTooLargeError` past ``limit``
    bytes; neither message shows the value.
    """
    if value is None:
        return None
    try:
        data = to_json(value, inf_nan_mode="null")
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise TaskResultError(task_type, f"not JSON-serialisable ({exc})") from exc
    if len(data) > limit:
        raise ResultTooLargeError(task_type, len(data), limit)
    return data.decode()


def load_result(text: str | None) -> Any:
    """A stored result as Python values (dicts, lists, strings, numbers, booleans, None)."""
    return None if text is None else json.loads(text)
