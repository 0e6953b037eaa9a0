"""BenchApp: the full-screen app over the engine, built from its collaborators.

The state the screens share (the task library and its marks, the selected models and options, the
running batch's ``RunBoard``, the batch shown in Results) is a ``present.session.Session`` the app
creates and hands to each screen. The app owns the batch's lifecycle: a thin thread worker calls
``BatchRunner.run()``; engine events come back as messages (``benchtui.messages``) and a 10 Hz timer
folds the coalesced progress snapshots into the board; screens ask it to open or resume a batch with
request messages. Screens live in ``screens/`` (one mode each), widgets in ``widgets/``, styles in
``app.tcss``.

Built by a factory that takes collaborators (``BenchApp(config=..., catalog=..., store=...,
task_paths=..., options=...)``) so tests run the real app against loopback model servers and a
temporary results folder.

Just over ~400 lines because the batch lifecycle (start, resume, the sink, the 10 Hz fold, the end and
its exit code) is one job that the screens must never see; the screens' state is already in the Session.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.worker import Worker, WorkerState

from benchtui.engine import metrics
from benchtui.engine.batches import new_batch, resume_batch
from benchtui.engine.config import ModelsConfig
from benchtui.engine.discovery import Catalog
from benchtui.engine.errors import InputError
from benchtui.engine.executors import Executor
from benchtui.engine.runner import BatchOptions, BatchOutcome, BatchRunner
from benchtui.engine.store import Batch, ResultsStore
from benchtui.engine.tasks import Task, runnable_tasks
from benchtui.messages import (
    CancelRun,
    EngineBatchFinished,
    EngineBatchStarted,
    EngineLog,
    EngineRunFinished,
    EngineRunStarted,
    OpenBatch,
    ResumeBatch,
    TuiSink,
)
from benchtui.present.board import RunBoard
from benchtui.present.exits import EXIT_INTERRUPTED, EXIT_OK
from benchtui.present.session import Session, load_library
from benchtui.screens.base import NARROW, BenchScreen
from benchtui.screens.dialogs import ConfirmScreen, HelpScreen
from benchtui.screens.history import HistoryScreen
from benchtui.screens.models import ModelsScreen
from benchtui.screens.palette import BenchCommands
from benchtui.screens.results import ResultsScreen
from benchtui.screens.run import RunScreen
from benchtui.screens.tasks import TasksScreen

TICK_S = 0.1  # how often coalesced progress reaches the grid (~10 Hz)


class BenchApp(App[None]):
    """benchtui's TUI: Tasks, Models, Run, Results and History over one engine and one results store."""

    CSS_PATH = "app.tcss"
    TITLE = "benchtui"
    # One screen per mode, each built with the session (``add_mode`` in ``__init__``).
    SCREENS_BY_MODE: ClassVar[dict[str, type[BenchScreen]]] = {
        "tasks": TasksScreen,
        "models": ModelsScreen,
        "run": RunScreen,
        "results": ResultsScreen,
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
        selected_assistants: Iterable[str] = (),
        executor: Callable[[], Executor] | None = None,
    ) -> None:
        """``executor``: makes each batch's executor (engine/executors/; None: runs in this process)."""
        super().__init__()
        self._executor = executor
        self.session = Session(
            config=config,
            catalog=catalog,
            store=store,
            library=load_library(task_paths, tasks),
            options=options,
            marked_tasks=marked_tasks,
            selected_models=selected_models,
            clock=clock,
            selected_assistants=selected_assistants,
        )
        for mode, screen in self.SCREENS_BY_MODE.items():
            self.add_mode(mode, partial(screen, self.session))
        self.sink: TuiSink | None = None
        self.last_outcome: BatchOutcome | None = None
        self._quitting = False
        self._resume_on_start = resume

    def on_mount(self) -> None:
        self._ticker = self.set_interval(TICK_S, self.refresh_progress, pause=True)
        if self._resume_on_start:
            self.call_later(self.resume, self._resume_on_start)

    # The session's batch, read by tests and the benchmarks

    @property
    def board(self) -> RunBoard | None:
        return self.session.board

    @property
    def runner(self) -> BatchRunner | None:
        return self.session.runner

    def update_nav_status(self) -> None:
        screen = self.screen
        if isinstance(screen, BenchScreen):
            screen.update_nav_status()

    # Actions (keys, footer and palette)

    def action_goto(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        self.push_screen(HelpScreen(screen.HELP if isinstance(screen, BenchScreen) else ""))

    def action_start_batch(self) -> None:
        session = self.session
        if session.batch_running:
            self.notify("A batch is already running", severity="warning")
            self.switch_mode("run")
            return
        tasks = session.marked()
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
        models = session.chosen_models()
        if not models:
            self.notify("Select at least one model first (space, c or a on the Models screen)", severity="warning")
            self.switch_mode("models")
            return
        if session.option_errors:
            self.notify("; ".join(session.option_errors.values()), severity="error", markup=False)
            self.switch_mode("models")
            return
        for note in skipped:
            self.notify(note, severity="warning", markup=False)
        self.start_runner(
            new_batch(session.store, session.config, session.catalog, tasks, models, session.batch_options)
        )

    def action_mark_all_tasks(self) -> None:
        self.session.mark_all_tasks()
        self.switch_mode("tasks")
        self._refresh_mode("tasks")

    def action_clear_task_marks(self) -> None:
        self.session.marked_tasks = []
        self.switch_mode("tasks")
        self._refresh_mode("tasks")

    def action_select_all_models(self) -> None:
        self.session.select_all_models()
        self.switch_mode("models")
        self._refresh_mode("models")

    def action_select_no_models(self) -> None:
        self.session.selected_models = []
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
        session = self.session
        if not session.batch_running or session.runner is None:
            self.notify("No batch is running")
            return

        def answer(stop: bool | None) -> None:
            if not stop or not session.batch_running or session.runner is None:
                return
            session.runner.cancel.set()
            if session.board is not None:
                session.board.log(
                    "warning",
                    "Cancelling the batch: runs in flight stop, finished runs are kept (resume it from History)",
                )
            self.refresh_progress()

        # One capital letter must not throw away the runs in flight: ask, as quitting does.
        self.push_screen(
            ConfirmScreen(
                "Cancel the batch?\nRuns in flight stop; finished runs are kept and the "
                "batch can be resumed from History.",
                yes="Cancel batch",
                no="Keep running",
            ),
            answer,
        )

    async def action_quit(self) -> None:
        session = self.session
        if not session.batch_running:
            self.exit(return_code=EXIT_OK)
            return
        if self._quitting:  # asked twice: leave now (finished runs are already on disk)
            self.exit(return_code=EXIT_INTERRUPTED)
            return

        def answer(stop: bool | None) -> None:
            if not stop:
                return
            if not session.batch_running or session.runner is None:  # it ended while the question was open
                self.exit(return_code=EXIT_OK)
                return
            self._quitting = True
            session.runner.cancel.set()
            self.notify("Stopping the batch; benchtui quits once its results are written")

        self.push_screen(
            ConfirmScreen(
                "A batch is running. Stop it and quit?\nFinished runs are kept; resume it "
                "later from History or with --resume.",
                yes="Stop and quit",
                no="Keep running",
            ),
            answer,
        )

    # Steering the running batch

    @on(CancelRun)
    def _cancel_run_asked(self, message: CancelRun) -> None:
        if not self.session.cancel_run(message.run_id):
            self.notify("That run is not running", severity="warning")
            return
        self.refresh_progress()

    # Batches

    def start_runner(self, runner: BatchRunner, notes: Sequence[str] = ()) -> None:
        # Keys, not display names, in the grid: they are short and what --models takes, and they leave
        # room for the last check line.
        plan = metrics.plan_notes(len(runner.tasks), runner.options.repeats, {m.key: m.settings for m in runner.models})
        runner.sink = self.begin_board({m.key: m.key for m in runner.models}, [*notes, *plan])
        if self._executor is not None:
            runner.executor = self._executor()
        self.session.runner = runner
        self.switch_mode("run")
        self.run_batch(runner)

    def begin_board(self, names: dict[str, str], notes: Sequence[str] = ()) -> TuiSink:
        """A fresh board for a batch about to run, and the sink that feeds it (and the 10 Hz timer)."""
        self.session.new_board(names, notes)
        self.sink = TuiSink(self)
        self._ticker.resume()
        self.refresh_progress()
        return self.sink

    @on(ResumeBatch)
    def _resume_asked(self, message: ResumeBatch) -> None:
        self.resume(message.batch_id)

    def resume(self, batch_id: str) -> None:
        session = self.session
        if session.batch_running:
            self.notify("A batch is already running", severity="warning")
            return
        try:
            runner, notes = resume_batch(
                session.store, session.config, session.catalog, batch_id, session.batch_options.parallel
            )
        except InputError as exc:
            self.notify(str(exc), title="Cannot resume", severity="error", markup=False)
            return
        self.start_runner(runner, notes)

    @on(OpenBatch)
    def _open_asked(self, message: OpenBatch) -> None:
        self.open_results(message.batch_id)

    def open_results(self, batch_id: str) -> None:
        try:
            batch = self.session.store.open_batch(batch_id)
        except InputError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.show_results(batch)

    def show_results(self, batch: Batch) -> None:
        self.session.results_batch = batch
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
        board = self.session.board
        if board is not None:
            if isinstance(message, EngineRunFinished) and self.sink is not None:
                board.apply_updates(self.sink.drain())
            board.apply(message.event)
            self._sync_run()
            self.update_nav_status()

    def refresh_progress(self) -> None:
        """Fold the coalesced progress snapshots into the board and show it (the ~10 Hz timer)."""
        board = self.session.board
        if board is not None and self.sink is not None:
            board.apply_updates(self.sink.drain())
            board.tick()
        self._sync_run()
        self.update_nav_status()

    def _sync_run(self) -> None:
        screen = self._mode_screen("run")
        if isinstance(screen, RunScreen) and screen.is_mounted:
            with contextlib.suppress(NoMatches):
                screen.sync()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "batch" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        self.refresh_progress()
        self._ticker.pause()
        outcome = event.worker.result if event.state == WorkerState.SUCCESS else None
        self.last_outcome = outcome
        board = self.session.board
        if board is not None and board.active:  # the worker died before BatchFinished
            board.status = outcome.status if outcome else "error"
            board.ended_at = self.session.clock()
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
        self.session.results_batch = outcome.batch
        if outcome.status == "finished":
            self.notify(f"Batch {outcome.batch.batch_id} finished", markup=False)
            if self.current_mode == "run":
                self.switch_mode("results")
            self._refresh_mode("results")
        else:
            self.notify(
                f"Batch {outcome.batch.batch_id} {outcome.status}: resume it from History",
                severity="warning",
                markup=False,
            )

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
                screen.refresh_from_session()
