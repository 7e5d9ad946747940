"""How commands answer: rich tables for people, JSON for scripts, and a confirmation before bulk changes."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pydantic_core
import typer
from rich.console import Console

Json = Annotated[bool, typer.Option("--json", help="Print JSON (the service's models) instead of tables.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (for scripts).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Only count the tasks it would change; change nothing.")]


PIPE_WIDTH = 250
"""How wide tables may grow when standard output is no terminal (a pipe, a file): whole rows, not the 80
columns rich would otherwise assume. ``COLUMNS`` overrides it."""


def console() -> Console:
    """Standard output as rich sees it (colours and the terminal's width only on a terminal). Markup is off:
    what is printed comes from the database (errors, payloads, names), and ``[...]`` in it must show as typed."""
    out = Console(highlight=False, markup=False, emoji=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = PIPE_WIDTH
    return out


def print_json(value: Any) -> None:
    """``value`` (pydantic models, or lists and dicts of them) as indented JSON: the service models' own JSON."""
    typer.echo(pydantic_core.to_json(value, indent=2).decode())


def reply(value: Any, sentence: str, *, as_json: bool) -> None:
    """An action's answer: ``value`` as JSON for scripts, or one ``sentence`` for people."""
    if as_json:
        print_json(value)
    else:
        console().print(sentence)


def when(moment: datetime | None) -> str:
    """An exact time, UTC to the second, or a dash."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """A time in a list, relative to now: ``5m ago``, ``in 7h 3m``, or a dash."""
    if moment is None:
        return "-"
    offset = moment - (now or datetime.now(UTC))
    return f"in {span(offset)}" if offset > timedelta(0) else f"{span(-offset)} ago"


def seconds(value: float | None) -> str:
    """An age or a duration the service gives in seconds, for people (``3m 12s``), or a dash."""
    return "-" if value is None else span(timedelta(seconds=value))


def span(length: timedelta) -> str:
    """A duration in the two largest of d/h/m/s (``1d 4h``, ``3m 12s``, ``0s``)."""
    seconds = max(0, int(length.total_seconds()))
    parts = [(seconds // 86400, "d"), (seconds // 3600 % 24, "h"), (seconds // 60 % 60, "m"), (seconds % 60, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0s"


def ensure_terminal() -> None:
    """Refuse a change that needs confirming where nobody can answer: a script must say ``--yes``, so that a
    pipeline never changes tasks by accident."""
    if not sys.stdin.isatty():
        typer.echo("error: not on a terminal to confirm: add --yes to go ahead", err=True)
        raise typer.Exit(2)


def confirm(question: str) -> None:
    """Ask the operator at the terminal; declining ends the command with exit status 1, nothing changed."""
    if not typer.confirm(question, default=False):
        typer.echo("nothing changed", err=True)
        raise typer.Exit(1)


def plural(count: int, noun: str) -> str:
    """``1 task``, ``3 tasks``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
