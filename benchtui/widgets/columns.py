"""Fitting a table's columns to its width: optional columns go first, then long names shrink.

A DataTable wider than its pane scrolls sideways, and at 80 columns that hid the columns that matter
most (a model's status, a batch's state) behind a scrollbar. Each table instead says which columns it
can do without (``drop``: higher numbers go first), which may shrink (``minimum`` below ``natural``,
cut with an ellipsis) and which takes what is left (``grow``); ``fit_columns`` picks the widths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textual.message import Message
from textual.widgets import DataTable

CELL_PADDING = 2  # DataTable's cell padding, one column each side
MIN_GROW = 6  # a growing column shrinks this far before the table scrolls sideways
SCROLLBAR = 2  # room kept for the vertical scrollbar, so a table that grows never overflows sideways


@dataclass(frozen=True)
class Fit:
    """What one column wants: its natural width, how far it may shrink, whether it may go."""

    key: str
    natural: int
    minimum: int | None = None  # None: never shrinks
    drop: int = 0  # 0: always shown; otherwise dropped (highest first) when the table is too narrow
    grow: bool = False  # takes the width left over (down to ``minimum``; ``natural`` is what it wants)

    @property
    def least(self) -> int:
        return self.natural if self.minimum is None else min(self.minimum, self.natural)


def fit_columns(columns: Sequence[Fit], width: int) -> dict[str, int]:
    """The shown columns' widths (in order) for a table ``width`` cells wide.

    A width of 0 (not laid out yet) gives every column its natural width.
    """
    if width <= 0:
        return {c.key: c.natural for c in columns}
    available = width - SCROLLBAR
    kept = list(columns)

    def need(shown: Sequence[Fit], shrunk: bool) -> int:
        return sum((c.least if shrunk else c.natural) + CELL_PADDING for c in shown)

    # Optional columns go before any name is cut; only then do the names shrink. A growing column's
    # natural width is what it wants before optional columns may stay; it yields to the names.
    for rank in sorted({c.drop for c in columns if c.drop}, reverse=True):
        if need(kept, shrunk=False) <= available:
            break
        kept = [c for c in kept if c.drop != rank]
    widths = {c.key: c.least for c in kept}
    spare = available - need(kept, shrunk=True)
    for column in kept:  # shrunk columns get their width back, left to right
        if not column.grow:
            extra = max(min(column.natural - widths[column.key], spare), 0)
            widths[column.key] += extra
            spare -= extra
    growing = [c for c in kept if c.grow]
    if growing:  # it takes what is left, and gives back what is missing rather than push the table sideways
        widths[growing[-1].key] = max(widths[growing[-1].key] + spare, MIN_GROW)
    return widths


class FittedTable(DataTable[Any]):
    """A DataTable whose owner fits its columns to its width, and fits them again when the width changes."""

    @dataclass
    class Resized(Message):
        """The table's width changed since its columns were last fitted."""

        table: FittedTable

        @property
        def control(self) -> FittedTable:
            return self.table

    fitted_width = -1

    def fit(self, columns: Sequence[Fit]) -> dict[str, int]:
        self.fitted_width = self.size.width
        return fit_columns(columns, self.size.width)

    def on_resize(self) -> None:
        if self.size.width != self.fitted_width:
            self.post_message(self.Resized(self))
