"""How commands answer: rich tables for people, JSON for scripts, and a confirmation before bulk changes."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pydantic_core
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

ID_WIDTH = 36
"""A task id is never wrapped or cut: people copy it into the next command."""

Json = Annotated[bool, typer.Option("--json", help="Print JSON (the service's models) instead of tables.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (for scripts).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Only count the tasks it would change; change nothing.")]


def console() -> Console:
    """Standard output as rich sees it (colours and width only on a terminal). Markup is off: what is printed
    comes from the database (errors, payloads, names), and ``[...]`` in it must show as typed."""
    return Console(highlight=False, markup=False, emoji=False)


def print_json(value: Any) -> None:
    """``value`` (pydantic models, or lists and dicts of them) as indented JSON: the service models' own JSON."""
    typer.echo(pydantic_core.to_json(value, indent=2).decode())


def table(title: str | None, *columns: str) -> Table:
    """A table with these column headers; an ``id`` column keeps whole ids."""
    grid = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        if name == "id":
            grid.add_column(name, no_wrap=True, min_width=ID_WIDTH)
        else:
            grid.add_column(name)
    return grid


def when(moment: datetime | None) -> str:
    """A time for a table cell: UTC to the second, or a dash."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


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
        raise typer.BadParameter("not on a terminal to confirm: add --yes to go ahead", param_hint="--yes")


def confirm(question: str) -> None:
    """Ask the operator at the terminal; declining ends the command with exit status 1, nothing changed."""
    if not typer.confirm(question, default=False):
        typer.echo("nothing changed", err=True)
        raise typer.Exit(1)


def plural(count: int, noun: str) -> str:
    """``1 task``, ``3 tasks``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def cells(*values: object) -> list[Text]:
    """Table cells for values from the database, shown as typed (None as a dash)."""
    return [Text("-" if value is None else str(value)) for value in values]
