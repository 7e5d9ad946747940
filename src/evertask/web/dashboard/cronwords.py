"""Common cron expressions in words ("every day at 03:00"), for the recurring page; anything else is shown as
the expression itself."""

from __future__ import annotations

import re

_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_NAMES = {name[:3].upper(): index for index, name in enumerate(_DAYS)}
_NUMBER = re.compile(r"\d{1,2}")
_STEP = re.compile(r"\*/(\d{1,2})")


def cron_words(expression: str) -> str | None:
    """``expression`` (five fields) in words, or None when it is not one of the common forms."""
    fields = expression.split()
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    if month != "*":
        return None
    every_day = dom == "*" and dow == "*"
    if every_day and hour == "*":
        if minute == "*":
            return "every minute"
        step = _STEP.fullmatch(minute)
        if step:
            return f"every {step[1]} minutes"
        if _NUMBER.fullmatch(minute):
            return f"every hour at :{int(minute):02d}"
        return None
    if not _NUMBER.fullmatch(minute):
        return None
    step = _STEP.fullmatch(hour)
    if every_day and step:
        return f"every {step[1]} hours at :{int(minute):02d}"
    if not _NUMBER.fullmatch(hour) or int(hour) > 23 or int(minute) > 59:
        return None
    at = f"at {int(hour):02d}:{int(minute):02d}"
    if every_day:
        return f"every day {at}"
    if dow == "*" and _NUMBER.fullmatch(dom):
        return f"on day {int(dom)} of every month {at}"
    if dom == "*":
        days = _days(dow)
        return None if days is None else f"{days} {at}"
    return None


def _days(field: str) -> str | None:
    if "-" in field and "," not in field:
        first, _, last = field.partition("-")
        start, end = _day(first), _day(last)
        return None if start is None or end is None else f"{_DAYS[start]} to {_DAYS[end]}"
    days = [_day(part) for part in field.split(",")]
    if any(day is None for day in days):
        return None
    names = [_DAYS[day] for day in days if day is not None]
    return "every " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def _day(text: str) -> int | None:
    if _NUMBER.fullmatch(text) and int(text) <= 7:
        return int(text) % 7
    return _NAMES.get(text.upper())
