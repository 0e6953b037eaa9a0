"""BenchApp: the full-screen app over the engine, built from its collaborators.

The app owns the session's state (the task library and its marks, the selected models and options,
the running batch's ``RunBoard``, the batch shown in Results) and the batch's lifecycle: a thin thread
worker calls ``BatchRunner.run()``; engine events come back as messages (``benchtui.messages``) and a
10 Hz timer folds the coalesced progress snapshots into the board. Screens live in ``screens/`` (one
mode each), widgets in ``widgets/``, styles in ``app.tcss``.

Built by a factory that takes collaborators (``BenchApp(config=..., catalog=..., store=...,
task_paths=..., options=...)``) so tests run the real app against loopback model servers and a
temporary results folder.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.worker import Worker, WorkerState

from benchtui.engine.batches import new_batch, resume_batch
from benchtui.engine.config import ModelsConfig
from benchtui.engine.discovery import Catalog
from benchtui.engine.errors import InputError
from benchtui.engine.runner import BatchOptions, BatchOutcome, BatchRunner
from benchtui.engine.store import Batch, ResultsStore
from benchtui.engine.tasks import Task, load_tasks, run_time_limits, runnable_tasks
from benchtui.messages import (
    EngineBatchFinished,
    EngineBatchStarted,
    EngineLog,
    EngineRunFinished,
    EngineRunStarted,
    TuiSink,
)
from benchtui.present.board import RunBoard
from benchtui.present.exits import EXIT_INTERRUPTED, EXIT_OK
from benchtui.present.format import plural
from benchtui.present.options import batch_options, with_option
from benchtui.screens.base import NARROW, BenchScreen
from benchtui.screens.dialogs import ConfirmScreen, HelpScreen
from benchtui.screens.history import HistoryScreen
from benchtui.screens.models import ModelsScreen
from benchtui.screens.palette import BenchCommands
from benchtui.screens.results import ResultsScreen
from benchtui.screens.run import RunScreen
from benchtui.screens.tasks import TasksScreen
from benchtui.widgets.navbar import NavBar

TICK_S = 0.1  # how often coalesced progress reaches the grid (~10 Hz)


class BenchApp(App[None]):
    """benchtui's TUI: Tasks, Models, Run, Results and History over one engine and one results store."""

    CSS_PATH = "app.tcss"
    TITLE = "benchtui"
    MODES: ClassVar[dict[str, Any]] = {
        "tasks": TasksScreen, "models": ModelsScreen, "run": RunScreen, "results": ResultsScreen,
        "history": HistoryScreen,
    }
    DEFAULT_MODE = "tasks"
    # Screen classes the layout follows (app.tcss): below 110 columns panes stack, below 34 rows they shrink.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # noqa: RUF012 (App declares it a list)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]  # noqa: RUF012
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {BenchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "goto('tasks')", "Tasks", show=False),
        Binding("2", "goto('models')", "Models", show=False),
        Binding("3", "goto('run')", "Run", show=False),
        Binding("4", "goto('results')", "Results", show=False),
        Binding("5", "goto('history')", "History", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        *,
        config: ModelsConfig,
        catalog: Catalog,
        store: ResultsStore,
        task_paths: Sequence[Path | str] | None = None,
        tasks: Sequence[Task] | None = None,
        options: BatchOptions | None = None,
        marked_tasks: Iterable[str] = (),
        selected_models: Iterable[str] = (),
        resume: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.config, self.catalog, self.store, self.clock = config, catalog, store, clock
        self.batch_options = options or batch_options(config)
        self.option_errors: dict[str, str] = {}
        paths = [Path(p) for p in (task_paths if task_paths is not None else [Path.cwd() / "tasks"])]
        self.task_sources = [_shown_path(p) for p in paths]
        self.tasks: list[Task] = []
        self.task_error: str | None = None
        existing = [p for p in paths if p.exists()]
        if tasks is not None:  # loaded from task_paths already (the command line checks them first)
            self.tasks = list(tasks)
        elif not existing:
            self.task_error = "No task folder: " + ", ".join(self.task_sources)
        else:
            try:
                self.tasks = load_tasks(existing)
            except InputError as exc:
                self.task_error = str(exc)
        known = {t.id for t in self.tasks}
        self.marked_tasks: list[str] = [t for t in marked_tasks if t in known]
        self.selected_models: list[str] = [k for k in selected_models if (m := catalog.get(k)) and m.available]
        self.board: RunBoard | None = None
        self.runner: BatchRunner | None = None
        self.sink: TuiSink | None = None
        self.results_batch: Batch | None = None
        self.results_version = 0
        self.last_outcome: BatchOutcome | None = None
        self._quitting = False
        self._resume_on_start = resume

    def on_mount(self) -> None:
        self._ticker = self.set_interval(TICK_S, self.refresh_progress, pause=True)
        if self._resume_on_start:
            self.call_later(self.resume, self._resume_on_start)

    # State the screens share

    @property
    def batch_running(self) -> bool:
        return self.runner is not None and self.board is not None and self.board.active

    def toggle_models(self, keys: Sequence[str], together: bool = False) -> None:
        chosen = dict.fromkeys(self.selected_models)
        if together:
            if all(k in chosen for k in keys):
                for key in keys:
                    chosen.pop(key, None)
            else:
                chosen.update(dict.fromkeys(keys))
        else:
            for key in keys:
                if key in chosen:
                    chosen.pop(key)
                else:
                    chosen[key] = None
        self.selected_models = list(chosen)

    def set_option(self, name: str, value: str) -> str | None:
        """Apply a batch option typed on the Models screen; returns the error to show, if any."""
        self.batch_options, message = with_option(self.batch_options, name, value)
        if message is not None:
            self.option_errors[name] = message
            return message
        self.option_errors.pop(name, None)
        return None

    def batch_summary(self) -> str:
        if self.option_errors:  # the figures would describe values that are not set
            return "Fix the options before running: " + "; ".join(self.option_errors.values())
        options = self.batch_options
        tasks, models, repeats = len(self.marked_tasks), len(self.selected_models), options.repeats
        parallel = "one at a time" if options.parallel is None else (
            "parallel (endpoint defaults)" if options.parallel == 0 else f"{options.parallel} at a time per endpoint")
        limits = run_time_limits((t.timeout_s for t in self.tasks if t.id in self.marked_tasks), options.timeout_s)
        low, high = limits or (options.timeout_s, options.timeout_s)
        timeout = f"{low:g} s" if low == high else f"{low:g}–{high:g} s"
        runs = tasks * models * repeats
        line = (f"{plural(tasks, 'task')} × {plural(models, 'model')} × {plural(repeats, 'repeat')} = "
                f"{plural(runs, 'run')} · {parallel} · timeout {timeout} per run")
        if not tasks:
            return line + " · mark tasks on 1 (space)"
        if not models:
            return line + " · select models on 2 (space, c, a)"
        return line + " · r runs it"

    def update_nav_status(self) -> None:
        board = self.board
        text = ""
        if board is not None:
            text = f"● {board.status} {board.done}/{board.total}" if board.active else f"last batch {board.status}"
        with contextlib.suppress(NoMatches):
            self.screen.query_one(NavBar).set_status(text)

    # Actions (keys, footer and palette)

    def action_goto(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        self.push_screen(HelpScreen(screen.HELP if isinstance(screen, BenchScreen) else ""))

    def action_start_batch(self) -> None:
        if self.batch_running:
            self.notify("A batch is already running", severity="warning")
            self.switch_mode("run")
            return
        tasks = [t for t in self.tasks if t.id in self.marked_tasks]
        if not tasks:
            self.notify("Mark at least one task first (space on the Tasks screen)", severity="warning")
            self.switch_mode("tasks")
            return
        try:
            tasks, skipped = runnable_tasks(tasks)
        except InputError as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.switch_mode("tasks")
            return
        models = [m for k in self.selected_models if (m := self.catalog.get(k)) is not None and m.available]
        if not models:
            self.notify("Select at least one model first (space, c or a on the Models screen)", severity="warning")
            self.switch_mode("models")
            return
        if self.option_errors:
            self.notify("; ".join(self.option_errors.values()), severity="error", markup=False)
            self.switch_mode("models")
            return
        for note in skipped:
            self.notify(note, severity="warning", markup=False)
        self.start_runner(new_batch(self.store, self.config, self.catalog, tasks, models, self.batch_options))

    def action_mark_all_tasks(self) -> None:
        self.marked_tasks = [t.id for t in self.tasks]
        self.switch_mode("tasks")
        self._refresh_mode("tasks")

    def action_clear_task_marks(self) -> None:
        self.marked_tasks = []
        self.switch_mode("tasks")
        self._refresh_mode("tasks")

    def action_select_all_models(self) -> None:
        self.selected_models = [m.key for m in self.catalog.models if m.available]
        self.switch_mode("models")
        self._refresh_mode("models")

    def action_select_no_models(self) -> None:
        self.selected_models = []
        self.switch_mode("models")
        self._refresh_mode("models")

    def action_zoom_detail(self) -> None:
        self._on_screen("results", ResultsScreen, "zoom_detail")

    def action_open_selected_batch(self) -> None:
        self._on_screen("history", HistoryScreen, "open")

    def action_reload_history(self) -> None:
        self._on_screen("history", HistoryScreen, "reload")

    def action_cancel_selected_run(self) -> None:
        self.switch_mode("run")
        screen = self._mode_screen("run")
        if isinstance(screen, RunScreen):
            screen.action_cancel_run()

    def action_message_selected(self) -> None:
        self._on_screen("run", RunScreen, "focus_message")

    def action_export(self) -> None:
        self._on_screen("results", ResultsScreen, "export")

    def _on_screen(self, mode: str, screen_type: type, action: str) -> None:
        """A screen's own action from anywhere (the palette): show its mode, then run it once it is drawn."""
        self.switch_mode(mode)
        screen = self._mode_screen(mode)
        if isinstance(screen, screen_type):
            self.call_after_refresh(getattr(screen, f"action_{action}"))

    def action_resume_selected(self) -> None:
        screen = self.screen
        if isinstance(screen, HistoryScreen):
            screen.action_resume()
        else:
            self.switch_mode("history")
            self.notify("Highlight an unfinished batch and press r")

    def action_cancel_batch(self) -> None:
        if not self.batch_running or self.runner is None:
            self.notify("No batch is running")
            return

        def answer(stop: bool | None) -> None:
            if not stop or not self.batch_running or self.runner is None:
                return
            self.runner.cancel.set()
            if self.board is not None:
                self.board.log("warning", "Cancelling the batch: runs in flight stop, finished runs are kept "
                               "(resume it from History)")
            self.refresh_progress()

        # One capital letter must not throw away the runs in flight: ask, as quitting does.
        self.push_screen(ConfirmScreen("Cancel the batch?\nRuns in flight stop; finished runs are kept and the "
                                       "batch can be resumed from History.", yes="Cancel batch", no="Keep running"),
                         answer)

    async def action_quit(self) -> None:
        if not self.batch_running:
            self.exit(return_code=EXIT_OK)
            return
        if self._quitting:  # asked twice: leave now (finished runs are already on disk)
            self.exit(return_code=EXIT_INTERRUPTED)
            return

        def answer(stop: bool | None) -> None:
            if not stop:
                return
            if not self.batch_running or self.runner is None:  # it ended while the question was open
                self.exit(return_code=EXIT_OK)
                return
            self._quitting = True
            self.runner.cancel.set()
            self.notify("Stopping the batch; benchtui quits once its results are written")

        self.push_screen(ConfirmScreen("A batch is running. Stop it and quit?\nFinished runs are kept; resume it "
                                       "later from History or with --resume.", yes="Stop and quit", no="Keep running"),
                         answer)

    # Steering the running batch

    def send_message(self, run_id: str, text: str) -> bool:
        board, runner = self.board, self.runner
        if board is None or runner is None or not board.active or run_id not in board.rows \
                or not board.rows[run_id].running:
            self.notify("That run is not running", severity="warning")
            return False
        runner.send_message(run_id, text)
        board.note_message(run_id, text)
        return True

    def cancel_run(self, run_id: str) -> None:
        board, runner = self.board, self.runner
        if board is None or runner is None or not board.active or board.rows[run_id].finished:
            self.notify("That run is not running", severity="warning")
            return
        runner.cancel_run(run_id)
        board.log("warning", f"Cancelling {board.label(board.rows[run_id])}")
        board.cancel_queued(run_id)
        self.refresh_progress()

    # Batches

    def start_runner(self, runner: BatchRunner, notes: Sequence[str] = ()) -> None:
        # Keys, not display names, in the grid: they are short and what --models takes, and they leave
        # room for the last check line.
        runner.sink = self.begin_board({m.key: m.key for m in runner.models}, notes)
        self.runner = runner
        self.switch_mode("run")
        self.run_batch(runner)

    def begin_board(self, names: dict[str, str], notes: Sequence[str] = ()) -> TuiSink:
        """A fresh board for a batch about to run, and the sink that feeds it (and the 10 Hz timer)."""
        self.board = RunBoard(self.clock, names)
        for note in notes:
            self.board.log("info", note)
        self.sink = TuiSink(self)
        self._ticker.resume()
        self.refresh_progress()
        return self.sink

    def resume(self, batch_id: str) -> None:
        if self.batch_running:
            self.notify("A batch is already running", severity="warning")
            return
        try:
            runner, notes = resume_batch(self.store, self.config, self.catalog, batch_id,
                                         self.batch_options.parallel)
        except InputError as exc:
            self.notify(str(exc), title="Cannot resume", severity="error", markup=False)
            return
        self.start_runner(runner, notes)

    def open_results(self, batch_id: str) -> None:
        try:
            batch = self.store.open_batch(batch_id)
        except InputError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.show_results(batch)

    def show_results(self, batch: Batch) -> None:
        self.results_batch = batch
        self.results_version += 1
        self.switch_mode("results")
        self._refresh_mode("results")

    @work(thread=True, exclusive=True, exit_on_error=False, group="batch")
    def run_batch(self, runner: BatchRunner) -> BatchOutcome:
        return runner.run()

    @on(EngineBatchStarted)
    @on(EngineRunStarted)
    @on(EngineRunFinished)
    @on(EngineLog)
    @on(EngineBatchFinished)
    def _engine_event(self, message: Any) -> None:
        if self.board is not None:
            if isinstance(message, EngineRunFinished) and self.sink is not None:
                self.board.apply_updates(self.sink.drain())
            self.board.apply(message.event)
            self._sync_run()
            self.update_nav_status()

    def refresh_progress(self) -> None:
        """Fold the coalesced progress snapshots into the board and show it (the ~10 Hz timer)."""
        if self.board is not None and self.sink is not None:
            self.board.apply_updates(self.sink.drain())
            self.board.tick()
        self._sync_run()
        self.update_nav_status()

    def _sync_run(self) -> None:
        screen = self._mode_screen("run")
        if isinstance(screen, RunScreen) and screen.is_mounted:
            with contextlib.suppress(NoMatches):
                screen.sync()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "batch" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR,
                                                                 WorkerState.CANCELLED):
            return
        self.refresh_progress()
        self._ticker.pause()
        outcome = event.worker.result if event.state == WorkerState.SUCCESS else None
        self.last_outcome = outcome
        board = self.board
        if board is not None and board.active:  # the worker died before BatchFinished
            board.status = outcome.status if outcome else "error"
            board.ended_at = self.clock()
            board.log("error", f"The batch stopped: {event.worker.error or 'no outcome'}")
        self._sync_run()
        self.update_nav_status()
        if self._quitting:
            status = outcome.status if outcome else "error"
            self.exit(return_code=EXIT_INTERRUPTED if status != "finished" else EXIT_OK)
            return
        if outcome is None:
            self.notify(f"The batch failed: {event.worker.error}", severity="error", markup=False)
            return
        self.results_batch = outcome.batch
        self.results_version += 1
        if outcome.status == "finished":
            self.notify(f"Batch {outcome.batch.batch_id} finished", markup=False)
            if self.current_mode == "run":
                self.switch_mode("results")
            self._refresh_mode("results")
        else:
            self.notify(f"Batch {outcome.batch.batch_id} {outcome.status}: resume it from History",
                        severity="warning", markup=False)

    # Screens

    def _mode_screen(self, mode: str) -> Any:
        try:
            stack = self.get_screen_stack(mode)
        except KeyError:
            return None
        return stack[0] if stack else None

    def _refresh_mode(self, mode: str) -> None:
        screen = self._mode_screen(mode)
        if isinstance(screen, BenchScreen) and screen.is_mounted:
            with contextlib.suppress(NoMatches):
                screen.refresh_from_app()


def _shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix() + "/" * path.is_dir()
    except ValueError:
        return str(path)
