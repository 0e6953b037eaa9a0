"""The Run screen: the live grid of a batch, its progress and ETA, the log, and the human in the loop.

The screen renders the session's ``RunBoard``; it never talks to the engine's threads. Keys act on the
highlighted run: ``x`` cancels it, ``m`` (or a click) goes to the message box, whose text is sent with
that model's next prompt and counted as a human intervention. ``C`` cancels the whole batch (it
stays resumable from History).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, ProgressBar, RichLog, Static

from benchtui.messages import CancelRun
from benchtui.present.board import RunBoard
from benchtui.present.session import Session
from benchtui.screens.base import BenchScreen
from benchtui.widgets.progress_grid import ProgressGrid, board_summary, log_text, row_summary


class RunScreen(BenchScreen):
    """Watch and steer the running batch."""

    MODE = "run"
    HELP = """\
**Run**: one row per (task, model, repeat): status, turn, prompts, interventions, your messages (You),
tokens, tokens/s, elapsed time and the last line of the check.

| Key | Action |
|---|---|
| ↑ ↓ | highlight a run |
| m | type a message to the highlighted running model (or the first running one); Enter sends it, Esc comes back |
| x | cancel the highlighted run |
| C | cancel the whole batch, after a yes/no question (it stays resumable from History) |
| q | quit; a running batch is stopped cleanly first and can be resumed later |

A message you send is given to the model with its next prompt and counted as a human intervention
(the Interv. column counts it once the model has received it; You counts what you sent).
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "focus_message", "Message"),
        Binding("x", "cancel_run", "Cancel run"),
        Binding("C", "app.cancel_batch", "Cancel batch"),
        Binding("escape", "focus_grid", "Grid", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._log_cursor = 0
        self._board: RunBoard | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        with Horizontal(id="run-head"):
            yield Label("", id="run-title")
            yield ProgressBar(total=1, show_eta=False, id="run-progress")
        yield Label("", id="run-eta")  # its own line: runs, passed, elapsed and ETA must fit 80 columns
        yield Static(self._empty_text(), id="run-empty", classes="empty-state")
        with Vertical(id="run-main"):
            yield ProgressGrid(id="grid")
            yield Static("", id="run-selected")  # the highlighted run whole: what a narrow grid leaves out
            yield RichLog(id="run-log", wrap=True, markup=False, max_lines=2000)
            yield Input(
                placeholder="Highlight a running model, press m, type a message, Enter sends it",
                id="message",
                disabled=True,
            )
        yield from self.compose_footer()

    def _empty_text(self) -> Text:
        text = Text("No batch yet.\n\n", style="bold")
        text.append(
            "Mark tasks (1 Tasks), choose models (2 Models) and press r to run them here,\n"
            "or resume an unfinished batch from 5 History.",
            style="dim",
        )
        return text

    def on_mount(self) -> None:
        self.sync()

    def refresh_from_session(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Show the session's board: changed rows, new log lines, progress and ETA."""
        board = self.session.board
        has_board = board is not None
        self.set_class(not has_board, "-empty")
        if board is None:
            return
        if board is not self._board:
            self._board = board
            self._log_cursor = 0
            self.query_one("#run-log", RichLog).clear()
        grid = self.query_one(ProgressGrid)
        grid.sync(board)
        log = self.query_one("#run-log", RichLog)
        for line in board.logs[self._log_cursor :]:
            log.write(log_text(line))
        self._log_cursor = len(board.logs)
        title = Text(board.batch_id or "starting…", style="bold")
        title.append("  ")
        title.append(board.status, style={"running": "cyan", "finished": "green"}.get(board.status, "yellow"))
        self.query_one("#run-title", Label).update(title)
        bar = self.query_one(ProgressBar)
        bar.update(total=max(board.total, 1), progress=board.done)
        self.query_one("#run-eta", Label).update(Text(board_summary(board)))
        self._update_message_box()
        self._update_selected()

    def _update_selected(self) -> None:
        board = self.session.board
        run_id = self.query_one(ProgressGrid).selected_run_id
        row = board.rows.get(run_id) if board is not None and run_id is not None else None
        self.query_one("#run-selected", Static).update(row_summary(row, board) if row and board else "")

    # Human in the loop

    def _selected_row(self) -> tuple[str, str] | None:
        board = self.session.board
        run_id = self.query_one(ProgressGrid).selected_run_id
        if board is None or run_id is None or run_id not in board.rows:
            return None
        row = board.rows[run_id]
        return run_id, f"{board.names.get(row.model_key, row.model_key)} · {row.task_id}"

    def _update_message_box(self) -> None:
        box = self.query_one("#message", Input)
        board = self.session.board
        selected = self._selected_row()
        running = board is not None and selected is not None and board.rows[selected[0]].running and board.active
        box.disabled = not running
        if running and selected is not None:
            box.placeholder = f"Message to {selected[1]} (Enter: sent with its next prompt)"
        else:
            box.placeholder = "Highlight a running model, press m, type a message, Enter sends it"

    @on(DataTable.RowHighlighted, "#grid")
    def _row_highlighted(self) -> None:
        self._update_message_box()
        self._update_selected()

    def action_focus_message(self) -> None:
        self._update_message_box()
        box = self.query_one("#message", Input)
        if box.disabled and not self._highlight_a_running_row():
            self.notify("No model is running: there is nobody to send a message to", severity="warning")
            return
        box.focus()

    def _highlight_a_running_row(self) -> bool:
        """Move the grid's cursor to the first running model (the highlighted one has finished or waits)."""
        board = self.session.board
        running = next((r for r in board.rows.values() if r.running), None) if board and board.active else None
        if running is None:
            return False
        grid = self.query_one(ProgressGrid)
        grid.move_cursor(row=grid.get_row_index(running.run_id), animate=False)
        self._update_message_box()
        return not self.query_one("#message", Input).disabled

    def action_focus_grid(self) -> None:
        self.query_one(ProgressGrid).focus()

    @on(Input.Submitted, "#message")
    def _send(self, event: Input.Submitted) -> None:
        selected = self._selected_row()
        text = event.value.strip()
        if selected is None or not text:
            return
        if self.session.send_message(selected[0], text):
            event.input.clear()
            self.notify(f"Sent to {selected[1]}", markup=False)
        else:
            self.notify("That run is not running", severity="warning")
        self.sync()

    def action_cancel_run(self) -> None:
        selected = self._selected_row()
        if selected is None:
            return
        self.post_message(CancelRun(selected[0]))
