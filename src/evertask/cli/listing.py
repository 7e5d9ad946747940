"""Tables that fit the terminal: one line per row, ids whole, long text shortened, minor columns left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

SQUEEZED: Final = 10
"""The width a ``squeeze`` column keeps for itself when an earlier one takes what it needs."""
READABLE: Final = 20
"""The width below which a ``squeeze`` column says too little: optional columns make way for it first."""
GAP: Final = 2
"""Spaces between two columns."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a :class:`Listing`. A ``squeeze`` column (free text: a type, an error, a schedule) may be
    shortened when the terminal is narrow; an ``optional`` one is left out where even that does not fit.
    Every other column is shown whole: ids, statuses and counts are what people read and copy."""

    name: str
    squeeze: bool = False
    optional: bool = False


class Listing:
    """Rows of values from the database under column headers, printed as a table the width of the terminal."""

    def __init__(self, *columns: Column | str, title: str | None = None) -> None:
        self.columns = [column if isinstance(column, Column) else Column(column) for column in columns]
        self.title = title
        self.rows: list[list[Text]] = []

    def add(self, *values: object) -> None:
        """Add a row: one value per column, shown as typed (None as a dash)."""
        self.rows.append([Text("-" if value is None else str(value)) for value in values])

    def print(self, out: Console) -> None:
        """Print the table, leaving out optional columns (the last first) until the others fit ``out``'s width,
        free text shortened to no less than ``READABLE``."""
        natural = self._natural()
        kept = self._fitting(natural, out.width)
        widths = _shares(natural, kept, [self.columns[index].squeeze for index in kept], out.width)
        grid = Table(
            title=self.title,
            title_justify="left",
            header_style="bold",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
        )
        for index, width in zip(kept, widths, strict=True):
            grid.add_column(self.columns[index].name, no_wrap=True, overflow="ellipsis", width=width)
        for row in self.rows:
            grid.add_row(*(row[index] for index in kept))
        out.print(grid)

    def _natural(self) -> list[int]:
        return [
            max([len(column.name), *(row[index].cell_len for row in self.rows)])
            for index, column in enumerate(self.columns)
        ]

    def _fitting(self, natural: Sequence[int], width: int) -> list[int]:
        least = [
            min(size, READABLE) if column.squeeze else size for size, column in zip(natural, self.columns, strict=True)
        ]
        kept = list(range(len(self.columns)))
        for index in reversed(kept.copy()):
            if _width(least, kept) <= width:
                break
            if self.columns[index].optional:
                kept.remove(index)
        return kept


def _width(least: Sequence[int], kept: Sequence[int]) -> int:
    return sum(least[index] for index in kept) + GAP * (len(kept) - 1)


def _shares(natural: Sequence[int], kept: Sequence[int], squeeze: Sequence[bool], width: int) -> list[int]:
    """The width of each kept column: whole columns their natural width; the squeeze columns share what is left
    in column order, each taking what it needs while leaving the ones after it at least ``SQUEEZED``."""
    sizes = [natural[index] for index in kept]
    left = (
        width - GAP * (len(kept) - 1) - sum(size for size, shrinks in zip(sizes, squeeze, strict=True) if not shrinks)
    )
    squeezed = [position for position, shrinks in enumerate(squeeze) if shrinks]
    for done, position in enumerate(squeezed):
        after = len(squeezed) - done - 1
        sizes[position] = max(1, min(sizes[position], left - SQUEEZED * after))
        left -= sizes[position]
    return sizes
