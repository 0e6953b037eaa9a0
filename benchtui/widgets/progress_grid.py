"""The live per-run progress grid: a DataTable that shows an engine ``RunBoard``.

The board (``present/board.py``) holds the state; the app applies engine messages and coalesced snapshots
to it on the UI thread, and ``ProgressGrid.sync`` rewrites only the rows that changed since the last sync.
Keeping the state out of the widget lets a screen that is not shown, or not yet composed, catch up in one
sync.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from benchtui.present.board import LogLine, RowState, RunBoard
from benchtui.present.format import duration, number, one_line, status_text
from benchtui.widgets.columns import Fit, fit_columns
from benchtui.widgets.sortable_table import cursor_row_key


def board_summary(board: RunBoard) -> str:
    """``3/10 runs · 2 passed · elapsed 1:05 · ETA 2:10``."""
    eta = board.eta_s()
    parts = [f"{board.done}/{board.total} runs", f"{board.passed} passed", f"elapsed {duration(board.elapsed())}"]
    if board.active:
        parts.append(f"ETA {duration(eta)}" if eta is not None else "ETA —")
    return " · ".join(parts)


LOG_STYLES = {"error": "bold red", "warning": "yellow", "you": "bold cyan"}


def log_text(line: LogLine) -> Text:
    """A log line as the Run screen's log pane shows it: the level padded and coloured, then the text."""
    return Text(f"{line.level:<7} ", style=LOG_STYLES.get(line.level, "dim")) + Text(line.text)


# (key, label, width, drop): width None = fit the longest model or task name; the last column takes what
# is left. Fixed widths keep live updates from making the grid jump sideways. A narrow terminal loses the
# columns with the highest drop first (the line under the grid still gives the highlighted run's figures);
# the status, the turn, the elapsed time and the last check line always stay.
COLUMNS: tuple[tuple[str, str, int | None, int], ...] = (
    ("model", "Model", None, 0),
    ("task", "Task", None, 0),
    ("status", "Status", 9, 0),
    ("turn", "Turn", 5, 0),
    ("prompts", "Prompts", 7, 5),
    ("interventions", "Interv.", 7, 4),
    ("typed", "You", 4, 3),
    ("tokens", "Tokens", 6, 2),
    ("tps", "tok/s", 6, 1),
    ("elapsed", "Elapsed", 7, 0),
    ("check", "Last check line", None, 0),
)
MIN_CHECK_WIDTH = 24  # below this, an optional column goes: a check line cut at 16 says little
MIN_NAME_WIDTH = 12


def row_summary(row: RowState, board: RunBoard) -> Text:
    """Every figure of one run on one line, and its last check line whole: what the grid may have cut."""
    text = Text(
        f"{board.names.get(row.model_key, row.model_key)} · {row.task_id}"
        + (f" #{row.repeat}" if row.repeat != 1 else "")
        + " · ",
        style="bold",
    )
    text.append_text(status_text(row.shown_status))
    turn = f"turn {row.turn}/{row.max_turns}" if row.max_turns else f"turn {row.turn or '—'}"
    figures = [
        turn,
        f"{row.prompts} prompt(s)",
        f"{row.interventions} interv.",
        f"{row.typed_sent} sent by you" if row.typed_sent else None,
        f"{row.tokens} tokens" if row.tokens else None,
        f"{number(row.tokens_per_s, '.1f')} tok/s" if row.tokens_per_s is not None else None,
        number(board.live_elapsed(row), ".1f", " s"),
    ]
    text.append(" · " + " · ".join(f for f in figures if f), style="dim")
    if row.check_line:
        text.append("\ncheck: ", style="dim")
        text.append_text(one_line(row.check_line, 400))
    return text


class ProgressGrid(DataTable[Any]):
    """A row per run: status, turn, prompts, interventions, your messages, tokens, speed, time, check line."""

    DEFAULT_CSS = """
    ProgressGrid { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._generation = -1
        self._board: RunBoard | None = None
        self._width = 0
        self._keys: list[str] = [key for key, *_ in COLUMNS]
        self._shown: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {}

    def on_resize(self) -> None:
        if self._board is not None and self.size.width != self._width:
            self._generation = -1
            self.sync(self._board)

    def _widths(self, board: RunBoard) -> dict[str, int]:
        rows = list(board.rows.values())
        model = max([len("Model"), *(len(self._model_label(r)) for r in rows)])
        task = max([len("Task"), *(len(self._task_label(r)) for r in rows)])
        fits = [
            Fit("model", model, MIN_NAME_WIDTH),
            Fit("task", task, MIN_NAME_WIDTH),
            *(Fit(key, width or 0, drop=drop) for key, _label, width, drop in COLUMNS[2:-1]),
            Fit("check", MIN_CHECK_WIDTH, minimum=8, grow=True),
        ]
        return fit_columns(fits, self.size.width)

    def sync(self, board: RunBoard) -> None:
        """Show ``board``: rebuild when its runs (or the width) changed, else rewrite only the dirty rows."""
        self.names = board.names
        self._board = board
        if board.generation != self._generation:
            self._generation = board.generation
            self._width = self.size.width
            cursor = self.cursor_row
            self.clear(columns=True)
            widths = self._widths(board)
            self._keys = list(widths)
            for key, label, *_ in COLUMNS:
                if key in widths:
                    self.add_column(label, key=key, width=widths[key])
            self._shown = {}
            for row in board.rows.values():
                cells = self._cells(row, board)
                self._shown[row.run_id] = cells
                self.add_row(*(cells[key] for key in self._keys), key=row.run_id)
            if self.row_count:
                self.move_cursor(row=min(cursor, self.row_count - 1), animate=False)
            board.dirty.clear()
            return
        for run_id in sorted(board.dirty):
            changed = board.rows.get(run_id)
            if changed is None:
                continue
            before = self._shown.get(run_id, {})
            cells = self._cells(changed, board)
            self._shown[run_id] = cells
            # Only the cells that changed: a snapshot usually moves the tokens and the time, nothing else.
            for key in self._keys:
                if before.get(key) != cells[key]:
                    self.update_cell(run_id, key, cells[key])
        board.dirty.clear()

    def _model_label(self, row: RowState) -> str:
        return self.names.get(row.model_key, row.model_key)

    def _task_label(self, row: RowState) -> str:
        return row.task_id if row.repeat == 1 else f"{row.task_id} #{row.repeat}"

    def _cells(self, row: RowState, board: RunBoard) -> dict[str, Any]:
        return {
            "model": Text(self._model_label(row), no_wrap=True, overflow="ellipsis"),
            "task": Text(self._task_label(row), no_wrap=True, overflow="ellipsis"),
            "status": status_text(row.shown_status),
            "turn": f"{row.turn}/{row.max_turns}" if row.max_turns else (str(row.turn) if row.turn else "—"),
            "prompts": str(row.prompts),
            "interventions": str(row.interventions),
            "typed": f"✉ {row.typed_sent}" if row.typed_sent else "",
            "tokens": str(row.tokens) if row.tokens else "—",
            "tps": number(row.tokens_per_s, ".0f" if (row.tokens_per_s or 0) >= 1000 else ".1f"),
            "elapsed": number(board.live_elapsed(row), ".1f", " s"),
            "check": one_line(row.check_line, 200),
        }

    @property
    def selected_run_id(self) -> str | None:
        return cursor_row_key(self)
