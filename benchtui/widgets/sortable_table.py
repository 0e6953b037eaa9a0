"""A DataTable sortable by any column: click a header, or press ``s`` to move the sort to the next column.

Rows are given as raw values (numbers stay numbers) plus a formatter per column, so sorting uses the
values and never the formatted text; unmeasured values (None) always sort last. Clicking the header
that is already sorted reverses the order. The table only orders rows for display: rankings come
from the engine and are passed in as a column like any other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from benchtui.present.format import sort_value
from benchtui.widgets.columns import Fit, FittedTable


def cursor_row_key(table: DataTable[Any]) -> str | None:
    """The key of the row under a table's cursor, or None when the table is empty."""
    if table.row_count == 0:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:
        return None
    return None if key.value is None else str(key.value)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    render: Callable[[Any], Any] = str
    width: int | None = None
    descending_first: bool = False  # e.g. success rate: best (highest) first on the first click
    cell: Callable[[dict[str, Any]], Any] | None = None  # renders from the whole row (sorting still uses key)
    minimum: int | None = None  # may shrink to this, cut with an ellipsis, when the table is narrow
    drop: int = 0  # 0: always shown; else dropped (highest first) when the table is too narrow for it
    measured_only: bool = False  # shown only when some row has a value (a figure few batches have)

    def show(self, row: dict[str, Any]) -> Any:
        value = self.cell(row) if self.cell is not None else self.render(row.get(self.key))
        if self.minimum is not None and isinstance(value, Text):
            value.no_wrap, value.overflow = True, "ellipsis"
        return value


def cell_width(value: Any) -> int:
    return value.cell_len if isinstance(value, Text) else Text(str(value)).cell_len


class SortableTable(FittedTable):
    """A table of dict rows (each with a unique ``"key"``) that sorts by column.

    Its columns fit its width: optional ones (``Column.drop``) go first, names shrink to their minimum.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "cycle_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", show=False),
    ]

    @dataclass
    class Sorted(Message):
        """The sort column or direction changed."""

        table: SortableTable
        column: str
        reverse: bool

    def __init__(self, columns: Sequence[Column], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.columns_spec = list(columns)
        self.rows_data: list[dict[str, Any]] = []
        self.sort_column: str | None = None
        self.sort_reverse = False

    def on_mount(self) -> None:
        self._render_rows()

    def on_resize(self) -> None:
        if self.size.width != self.fitted_width:
            self._render_rows()

    def _add_columns(self, cells: Sequence[Sequence[Any]], rows: Sequence[dict[str, Any]]) -> list[int]:
        """Add the columns that fit; returns the indexes (into ``columns_spec``) of those shown."""
        fits = []
        for i, column in enumerate(self.columns_spec):
            if column.measured_only and all(row.get(column.key) is None for row in rows):
                continue
            # Room for the sort arrow on the sorted column, so its header shows which way it is sorted.
            header = len(column.label) + (2 if column.key == self.sort_column else 0)
            natural = (
                max([header, *(cell_width(row[i]) for row in cells)])
                if column.width is None
                else max(column.width, header)
            )
            fits.append(Fit(column.key, natural, column.minimum, column.drop))
        widths = self.fit(fits)
        shown = [i for i, column in enumerate(self.columns_spec) if column.key in widths]
        for i in shown:
            column = self.columns_spec[i]
            self.add_column(self._header(column), key=column.key, width=widths[column.key])
        return shown

    def _header(self, column: Column) -> Text:
        if column.key != self.sort_column:
            return Text(column.label)
        return Text(f"{column.label} {'▼' if self.sort_reverse else '▲'}", style="bold")

    def set_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the rows, keeping the current sort and the highlighted row when it is still there."""
        self.rows_data = list(rows)
        self._render_rows()

    def ordered(self) -> list[dict[str, Any]]:
        if self.sort_column is None:
            return list(self.rows_data)
        key = self.sort_column
        present = [r for r in self.rows_data if r.get(key) is not None]
        missing = [r for r in self.rows_data if r.get(key) is None]
        present.sort(key=lambda r: sort_value(r.get(key)), reverse=self.sort_reverse)
        return present + missing

    def _render_rows(self) -> None:
        selected = self.selected_key
        self.clear(columns=True)
        rows = self.ordered()
        cells = [[column.show(row) for column in self.columns_spec] for row in rows]
        shown = self._add_columns(cells, rows)
        for row, row_cells in zip(rows, cells, strict=True):
            self.add_row(*(row_cells[i] for i in shown), key=str(row["key"]))
        if selected is not None:
            with contextlib.suppress(Exception):
                self.move_cursor(row=self.get_row_index(selected), animate=False)

    def sort_description(self) -> str:
        """``sorted by Prompts ▲`` (or the default order) for a title line."""
        spec = next((c for c in self.columns_spec if c.key == self.sort_column), None)
        if spec is None:
            return "default order"
        return f"sorted by {spec.label} {'▼' if self.sort_reverse else '▲'}"

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        spec = next(c for c in self.columns_spec if c.key == column)
        if reverse is None:
            reverse = (not self.sort_reverse) if column == self.sort_column else spec.descending_first
        self.sort_column, self.sort_reverse = column, reverse
        self._render_rows()
        self.post_message(self.Sorted(self, column, reverse))

    def action_cycle_sort(self) -> None:
        keys = [c.key for c in self.columns_spec]
        index = keys.index(self.sort_column) + 1 if self.sort_column in keys else 0
        self.sort_by(keys[index % len(keys)], reverse=self.columns_spec[index % len(keys)].descending_first)

    def action_reverse_sort(self) -> None:
        if self.sort_column is not None:
            self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    @property
    def selected_key(self) -> str | None:
        return cursor_row_key(self)

    def row_keys_in_order(self) -> list[str]:
        """The row keys from top to bottom as displayed (tests and the palette use it)."""
        return [str(self.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value) for i in range(self.row_count)]
