"""The live per-run progress grid and the board (plain state) it renders.

``RunBoard`` is the UI-thread model of one batch: every planned run's latest state, the log lines, the
batch status and the clock-based ETA. The app applies engine messages and coalesced snapshots to it;
``ProgressGrid`` (a DataTable) shows it, rewriting only the rows that changed since the last sync.
Keeping the state out of the widget lets a screen that is not shown, or not yet composed, catch up
in one sync, and lets tests assert on plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from benchtui.engine.events import BatchFinished, BatchStarted, LogMessage, RunFinished, RunStarted, RunUpdate
from benchtui.engine.textsafety import strip_control
from benchtui.widgets.format import duration, number, one_line, status_text
from benchtui.widgets.sortable_table import cursor_row_key

FINISHED = ("passed", "failed", "timeout", "error", "cancelled", "kept")


@dataclass
class RowState:
    """One run as the grid shows it."""

    run_id: str
    task_id: str
    model_key: str
    repeat: int
    status: str = "queued"
    phase: str = ""
    turn: int = 0
    max_turns: int = 0
    prompts: int = 0
    interventions: int = 0
    typed_sent: int = 0
    tokens: int = 0
    tokens_per_s: float | None = None
    elapsed_s: float | None = None
    check_line: str = ""
    error: str | None = None
    seen_at: float | None = None  # board clock when elapsed_s was last reported

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def shown_status(self) -> str:
        return self.phase if self.running and self.phase else self.status


class RunBoard:
    """Everything the Run screen shows about one batch, updated on the UI thread only."""

    def __init__(self, clock: Callable[[], float], names: dict[str, str] | None = None) -> None:
        self.clock = clock
        self.names = names or {}
        self.rows: dict[str, RowState] = {}
        self.logs: list[tuple[str, Text]] = []
        self.batch_id: str | None = None
        self.batch_dir: str | None = None
        self.status = "starting"
        self.resumed = False
        self.started_at = clock()
        self.ended_at: float | None = None
        self.reports: tuple[str, ...] = ()
        self.dirty: set[str] = set()
        self._early: dict[str, RunUpdate] = {}
        self.generation = 0  # bumped when the set of rows changes: the grid rebuilds

    # Applying engine events

    def apply(self, event: Any) -> None:
        if isinstance(event, BatchStarted):
            self.batch_id, self.batch_dir, self.resumed = event.batch_id, str(event.batch_dir), event.resumed
            self.status = "running"
            self.rows = {
                run.run_id: RowState(run.run_id, run.task_id, run.model_key, run.repeat,
                                     status="kept" if run.done else "queued")
                for run in event.runs
            }
            self.generation += 1
            early, self._early = list(self._early.values()), {}
            self.apply_updates(early)
            todo = sum(1 for r in event.runs if not r.done)
            verb = "Resuming" if event.resumed else "Starting"
            self.log("info", f"{verb} {event.batch_id}: {todo} run(s) to do of {len(event.runs)}")
        elif isinstance(event, RunStarted):
            row = self.rows.get(event.run_id)
            if row is not None and not row.finished:
                row.status = "running"
                if row.seen_at is None:  # a snapshot drained by the timer may have come first: keep it
                    row.elapsed_s, row.seen_at = 0.0, self.clock()
                self.dirty.add(row.run_id)
        elif isinstance(event, RunFinished):
            self._finish(event)
        elif isinstance(event, LogMessage):
            self.log(event.level, event.text, event.run_id)
        elif isinstance(event, BatchFinished):
            self.status = event.status
            self.ended_at = self.clock()
            self.reports = tuple(str(p) for p in event.reports)
            self.log("info" if event.status == "finished" else "warning",
                     f"Batch {event.batch_id} {event.status}: {self.done}/{self.total} run(s) done, "
                     f"{self.passed} passed")

    def apply_updates(self, updates: Iterable[RunUpdate]) -> None:
        for update in updates:
            row = self.rows.get(update.run_id)
            if row is None:
                # The timer can drain a snapshot before the BatchStarted message is handled: keep it.
                self._early[update.run_id] = update
                continue
            if row.finished:
                continue
            row.status = "running"
            row.phase = update.phase
            row.turn, row.max_turns = update.turn, update.max_turns
            row.prompts, row.interventions = update.prompts_sent, update.human_interventions
            row.tokens, row.tokens_per_s = update.completion_tokens, update.tokens_per_s
            row.elapsed_s, row.seen_at = update.elapsed_s, self.clock()
            if update.last_check_line:
                row.check_line = strip_control(update.last_check_line)
            self.dirty.add(row.run_id)

    def _finish(self, event: RunFinished) -> None:
        row = self.rows.get(event.run_id)
        result = event.result
        if row is None:
            return
        row.status = str(result.get("status", "error"))
        row.phase = ""
        row.turn = int(result.get("turns") or row.turn)
        row.prompts = int(result.get("prompts_sent") or 0)
        row.interventions = int(result.get("human_interventions") or 0)
        row.tokens = int(result.get("completion_tokens") or row.tokens)
        row.tokens_per_s = result.get("tokens_per_s")
        row.elapsed_s = result.get("completion_time_s")
        row.error = str(result["error"]) if result.get("error") else None
        if row.error:
            row.check_line = f"{row.error}: {strip_control(str(result.get('error_message') or ''))}"
        elif result.get("check_output"):
            row.check_line = strip_control(str(result["check_output"]))
        self.dirty.add(row.run_id)
        name = self.names.get(row.model_key, row.model_key)
        self.log("error" if row.status == "error" else "info",
                 f"{name} · {row.task_id}: {row.status}"
                 + (f" in {number(row.elapsed_s, '.1f', ' s')}" if row.elapsed_s is not None else "")
                 + (f" ({row.check_line})" if row.error else ""))

    def live_elapsed(self, row: RowState) -> float | None:
        """A running row's time, still ticking between the engine's snapshots (none come while checking)."""
        if row.running and row.elapsed_s is not None and row.seen_at is not None and self.active:
            return row.elapsed_s + max(self.clock() - row.seen_at, 0.0)
        return row.elapsed_s

    def tick(self) -> None:
        """Mark the running rows for a redraw so their elapsed time moves (only changed cells are redrawn)."""
        if self.active:
            self.dirty.update(r.run_id for r in self.rows.values() if r.running)

    def log(self, level: str, text: str, run_id: str | None = None) -> None:
        style = {"error": "bold red", "warning": "yellow", "you": "bold cyan"}.get(level, "")
        prefix = Text(f"{level:<7} ", style=style or "dim")
        self.logs.append((level, prefix + Text(strip_control(text))))

    def note_message(self, run_id: str, text: str) -> None:
        row = self.rows[run_id]
        row.typed_sent += 1
        self.dirty.add(run_id)
        name = self.names.get(row.model_key, row.model_key)
        self.log("you", f"to {name} · {row.task_id}: {text} (sent with its next prompt)")

    # Figures

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def done(self) -> int:
        return sum(1 for r in self.rows.values() if r.finished)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows.values() if r.status == "passed")

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running")

    def elapsed(self) -> float:
        return (self.ended_at if self.ended_at is not None else self.clock()) - self.started_at

    def eta_s(self) -> float | None:
        """Time left, from this session's pace: elapsed / runs done here × runs left."""
        if not self.active:
            return 0.0 if self.total else None
        kept = sum(1 for r in self.rows.values() if r.status == "kept")
        done_here = self.done - kept
        left = self.total - self.done
        if done_here <= 0:
            return None
        return self.elapsed() / done_here * left

    def summary(self) -> str:
        eta = self.eta_s()
        parts = [f"{self.done}/{self.total} runs", f"{self.passed} passed", f"elapsed {duration(self.elapsed())}"]
        if self.active:
            parts.append(f"ETA {duration(eta)}" if eta is not None else "ETA —")
        return " · ".join(parts)


# (key, label, width): None = fit the longest model or task name; the last column takes what is left.
# Fixed widths keep live updates from making the grid jump sideways.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("model", "Model", None), ("task", "Task", None), ("status", "Status", 9), ("turn", "Turn", 5),
    ("prompts", "Prompts", 7), ("interventions", "Interv.", 7), ("typed", "You", 4), ("tokens", "Tokens", 6),
    ("tps", "tok/s", 6), ("elapsed", "Elapsed", 7), ("check", "Last check line", None),
)
MIN_CHECK_WIDTH = 16


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
        self._shown: dict[str, list[Any]] = {}
        self.names: dict[str, str] = {}

    def on_resize(self) -> None:
        if self._board is not None and self.size.width != self._width:
            self._generation = -1
            self.sync(self._board)

    def _widths(self, board: RunBoard) -> list[int]:
        rows = list(board.rows.values())
        model = max([len("Model"), *(len(self._model_label(r)) for r in rows)])
        task = max([len("Task"), *(len(self._task_label(r)) for r in rows)])
        widths = [model, task, *(w or 0 for _k, _l, w in COLUMNS[2:-1])]
        used = sum(widths) + 2 * len(COLUMNS) + 2  # cell padding, and room for the vertical scrollbar
        return [*widths, max(MIN_CHECK_WIDTH, self.size.width - used)]

    def sync(self, board: RunBoard) -> None:
        """Show ``board``: rebuild when its runs (or the width) changed, else rewrite only the dirty rows."""
        self.names = board.names
        self._board = board
        if board.generation != self._generation:
            self._generation = board.generation
            self._width = self.size.width
            cursor = self.cursor_row
            self.clear(columns=True)
            for (key, label, _w), width in zip(COLUMNS, self._widths(board), strict=True):
                self.add_column(label, key=key, width=width)
            self._shown = {}
            for row in board.rows.values():
                cells = self._cells(row, board)
                self._shown[row.run_id] = cells
                self.add_row(*cells, key=row.run_id)
            if self.row_count:
                self.move_cursor(row=min(cursor, self.row_count - 1), animate=False)
            board.dirty.clear()
            return
        for run_id in sorted(board.dirty):
            changed = board.rows.get(run_id)
            if changed is None:
                continue
            before = self._shown.get(run_id) or [None] * len(COLUMNS)
            cells = self._cells(changed, board)
            self._shown[run_id] = cells
            # Only the cells that changed: a snapshot usually moves the tokens and the time, nothing else.
            for (key, _label, _width), old, new in zip(COLUMNS, before, cells, strict=True):
                if old != new:
                    self.update_cell(run_id, key, new)
        board.dirty.clear()

    def _model_label(self, row: RowState) -> str:
        return self.names.get(row.model_key, row.model_key)

    def _task_label(self, row: RowState) -> str:
        return row.task_id if row.repeat == 1 else f"{row.task_id} #{row.repeat}"

    def _cells(self, row: RowState, board: RunBoard) -> list[Any]:
        return [
            Text(self._model_label(row)),
            Text(self._task_label(row)),
            status_text(row.shown_status),
            f"{row.turn}/{row.max_turns}" if row.max_turns else (str(row.turn) if row.turn else "—"),
            str(row.prompts),
            str(row.interventions),
            f"✉ {row.typed_sent}" if row.typed_sent else "",
            str(row.tokens) if row.tokens else "—",
            number(row.tokens_per_s, ".0f" if (row.tokens_per_s or 0) >= 1000 else ".1f"),
            number(board.live_elapsed(row), ".1f", " s"),
            one_line(row.check_line, 200),
        ]

    @property
    def selected_run_id(self) -> str | None:
        return cursor_row_key(self)
