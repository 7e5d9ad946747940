"""CLI tables at the terminal's width: ids whole, free text shortened, optional columns left out first."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from evertask.cli.listing import Column, Listing
from evertask.cli.output import console

TASK_ID = "01a2333e-8ea2-770b-91e9-4ab88b041425"
ERROR = "shop.CardDeclined: card declined for order 6 (the bank said no, and said it twice)"


def printed(listing: Listing, width: int) -> list[str]:
    out = io.StringIO()
    listing.print(Console(file=out, width=width, markup=False, emoji=False, highlight=False))
    return [line.rstrip() for line in out.getvalue().splitlines()]


def tasks() -> Listing:
    rows = Listing(
        "id",
        Column("type", squeeze=True),
        "status",
        Column("queue", optional=True),
        Column("tries", optional=True),
        Column("error", squeeze=True),
    )
    rows.add(TASK_ID, "billing.ChargeCard", "failed", "default", 2, ERROR)
    rows.add("01a2333e-8e7e-7c59-9199-517b80807829", "mail.SendWelcome", "completed", "mail", 1, None)
    return rows


@pytest.mark.parametrize("width", [60, 80, 100, 120, 200])
def test_ids_and_statuses_are_never_cut_and_every_line_fits(width: int) -> None:
    lines = printed(tasks(), width)
    assert lines[2].startswith(TASK_ID + " ")
    assert "completed" in lines[3]
    assert all(len(line) <= width for line in lines)


def test_a_wide_terminal_shows_every_column_whole() -> None:
    header, _, first, second = printed(tasks(), 200)
    assert header.split() == ["id", "type", "status", "queue", "tries", "error"]
    assert first.endswith(ERROR)
    assert second.endswith(" -")  # no error: a dash


def test_a_narrow_terminal_drops_optional_columns_before_shortening_text_below_readable() -> None:
    header, _, first, _ = printed(tasks(), 90)
    assert header.split() == ["id", "type", "status", "error"]
    assert "billing.ChargeCard" in first  # the first free-text column is whole, the last is cut
    assert first.endswith("…")


def test_text_from_the_database_is_shown_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    rows = Listing("id", Column("error", squeeze=True))
    rows.add(TASK_ID, "KeyError: '[bold]x[/bold]' :smile:")
    rows.print(console())  # the CLI's own console: no markup, no emoji codes
    assert capsys.readouterr().out.splitlines()[2].rstrip().endswith("KeyError: '[bold]x[/bold]' :smile:")
