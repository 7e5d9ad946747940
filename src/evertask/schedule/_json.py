"""Typed reading of a stored schedule's JSON: every malformed field becomes an InvalidScheduleError."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TypeVar

from evertask.errors import InvalidScheduleError

T = TypeVar("T")


class JsonReader:
    """Reads the fields of one JSON object, checking each type; :meth:`finish` rejects unknown fields."""

    def __init__(self, data: object) -> None:
        if not isinstance(data, Mapping):
            raise InvalidScheduleError(data, "a stored schedule must be a JSON object")
        self._data: Mapping[object, object] = data
        self._read: set[str] = set()

    def _raw(self, key: str) -> object:
        if key not in self._data:
            raise InvalidScheduleError(dict(self._data), f"stored schedule has no {key!r} field")
        self._read.add(key)
        return self._data[key]

    @staticmethod
    def _typed(key: str, value: object, kind: type[T], description: str) -> T:
        # bool is an int subclass: a stored `true` must not pass for a count.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise InvalidScheduleError(value, f"stored schedule field {key!r} must be {description}")
        return value

    def _get(self, key: str, kind: type[T], description: str) -> T:
        return self._typed(key, self._raw(key), kind, description)

    def _optional(self, key: str, kind: type[T], description: str) -> T | None:
        value = self._raw(key)
        return None if value is None else self._typed(key, value, kind, f"{description} or null")

    def text(self, key: str) -> str:
        return self._get(key, str, "a string")

    def integer(self, key: str) -> int:
        return self._get(key, int, "an integer")

    def flag(self, key: str) -> bool:
        return self._get(key, bool, "true or false")

    def optional_text(self, key: str) -> str | None:
        return self._optional(key, str, "a string")

    def optional_integer(self, key: str) -> int | None:
        return self._optional(key, int, "an integer")

    def optional_duration(self, key: str) -> timedelta | None:
        """A duration stored as a number of seconds."""
        value = self._raw(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidScheduleError(value, f"stored schedule field {key!r} must be a number of seconds or null")
        try:
            return timedelta(seconds=value)
        except (OverflowError, ValueError):  # inf, nan, or past timedelta's billion days
            raise InvalidScheduleError(value, f"stored schedule field {key!r} is not a usable duration") from None

    def optional_datetime(self, key: str) -> datetime | None:
        value = self._optional(key, str, "an ISO 8601 date-time")
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise InvalidScheduleError(value, f"stored schedule field {key!r} is not a date-time") from None

    def items(self, key: str, kind: type[T], description: str) -> tuple[T, ...]:
        """A list field whose every item is a ``kind``."""
        values = self._get(key, list, f"a list of {description}")
        return tuple(self._typed(key, value, kind, f"a list of {description}") for value in values)

    def finish(self) -> None:
        """Raise if the object has fields nobody read: a newer or corrupted format is never silently cut."""
        unknown = sorted(str(key) for key in self._data if key not in self._read)
        if unknown:
            raise InvalidScheduleError(dict(self._data), f"stored schedule has unknown fields {unknown}")
