"""Durations as operators type them: ``30s``, ``30m``, ``12h``, ``7d``, ``2w``, or several (``1d12h``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

import typer

from evertask.errors import InvalidDurationError

_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART: Final = re.compile(r"(\d+)([smhdw])")
_WHOLE: Final = re.compile(r"(?:\d+[smhdw])+")


def parse_duration(text: str) -> timedelta:
    """The duration ``text`` names; :class:`InvalidDurationError` unless it is numbers with units s/m/h/d/w
    adding up to more than zero."""
    compact = text.strip().lower()
    if not _WHOLE.fullmatch(compact):
        raise InvalidDurationError(text)
    try:
        duration = sum((timedelta(**{_UNITS[unit]: int(n)}) for n, unit in _PART.findall(compact)), timedelta())
    except OverflowError as exc:  # more than timedelta holds (about 2.7 million years)
        raise InvalidDurationError(text) from exc
    if not duration:
        raise InvalidDurationError(text)
    return duration


def duration_parser(text: str) -> timedelta:
    """Typer ``parser`` for duration options: a malformed one is a usage error naming the option."""
    try:
        return parse_duration(text)
    except InvalidDurationError as exc:
        raise typer.BadParameter(str(exc)) from exc
