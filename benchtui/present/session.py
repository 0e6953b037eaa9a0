"""Session: what the TUI's screens share, kept apart from Textual so it can be read and tested alone.

It owns the task library and its marks, the selected models, the batch options and their errors, the
running batch's board and runner, and the batch shown in Results. ``BenchApp`` creates one and hands it
to every screen; the screens read and change it, and ask the app (messages, actions) for what the app
orchestrates: starting, resuming and opening batches.

Screens learn of changes by pulling, not by subscribing: each screen re-reads the session whenever it is
shown (``on_screen_resume``) and the app asks the visible one to refresh after it changes the state.
What is costly to re-read, the Results screen's report, is guarded by ``results_version``, a monotonic
number that every assignment of ``results_batch`` raises (the same batch assigned again, say a resumed
one that finished, must be read again). Observers would need unsubscribing as screens come and go and
calling on the right thread; a number a screen compares needs neither.

Everything here runs on the UI thread; nothing here is thread-safe, and nothing needs to be.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchtui.engine import metrics
from benchtui.engine.assistants import install, pairs
from benchtui.engine.assistants.base import BUILTIN
from benchtui.engine.config import ModelsConfig
from benchtui.engine.discovery import Catalog
from benchtui.engine.errors import InputError
from benchtui.engine.models import ModelSpec
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import Batch, ResultsStore
from benchtui.engine.tasks import Task, load_tasks, run_time_limits
from benchtui.present.board import RunBoard
from benchtui.present.format import plural
from benchtui.present.options import batch_options, with_option


@dataclass(frozen=True)
class AssistantRow:
    """One assistant as the Models screen lists it."""

    name: str
    source: str  # "built in", "pypi", "npm"
    version: str | None
    reason: str | None  # why it cannot run; None when it can

    @property
    def usable(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class TaskLibrary:
    """The tasks found in the task paths, the paths as shown, and why none could be read (if so)."""

    tasks: tuple[Task, ...]
    sources: tuple[str, ...]
    error: str | None = None


def load_library(task_paths: Sequence[Path | str] | None = None, tasks: Sequence[Task] | None = None) -> TaskLibrary:
    """Read the task paths (``./tasks`` by default); a missing folder or a bad task is an error to show.

    ``tasks`` are the paths' tasks when the caller loaded them already (the command line checks them first)."""
    paths = [Path(p) for p in (task_paths if task_paths is not None else [Path.cwd() / "tasks"])]
    sources = tuple(_shown_path(p) for p in paths)
    if tasks is not None:
        return TaskLibrary(tuple(tasks), sources)
    existing = [p for p in paths if p.exists()]
    if not existing:
        return TaskLibrary((), sources, "No task folder: " + ", ".join(sources))
    try:
        return TaskLibrary(tuple(load_tasks(existing)), sources)
    except InputError as exc:
        return TaskLibrary((), sources, str(exc))


class Session:
    """The state the screens share, for one run of the app."""

    def __init__(
        self,
        *,
        config: ModelsConfig,
        catalog: Catalog,
        store: ResultsStore,
        library: TaskLibrary,
        options: BatchOptions | None = None,
        marked_tasks: Iterable[str] = (),
        selected_models: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        selected_assistants: Iterable[str] = (),
    ) -> None:
        self.config, self.catalog, self.store, self.clock = config, catalog, store, clock
        self.tasks: list[Task] = list(library.tasks)
        self.task_sources: list[str] = list(library.sources)
        self.task_error = library.error
        self.batch_options = options or batch_options(config)
        self.option_errors: dict[str, str] = {}
        known = {t.id for t in self.tasks}
        self.marked_tasks: list[str] = [t for t in marked_tasks if t in known]
        self.selected_models: list[str] = [k for k in selected_models if (m := catalog.get(k)) and m.available]
        # Which assistants play the selected models (benchtui's own loop unless told): assistants/pairs.py.
        self.selected_assistants: list[str] = list(dict.fromkeys(selected_assistants)) or [BUILTIN]
        self._assistants: list[AssistantRow] | None = None
        self.board: RunBoard | None = None
        self.runner: BatchRunner | None = None
        self._results_batch: Batch | None = None
        self._results_version = 0

    # The batch shown in Results

    @property
    def results_batch(self) -> Batch | None:
        return self._results_batch

    @results_batch.setter
    def results_batch(self, batch: Batch | None) -> None:
        self._results_batch = batch
        self._results_version += 1

    @property
    def results_version(self) -> int:
        """Raised by every assignment of ``results_batch``: a screen that showed an older one reads it again."""
        return self._results_version

    # Tasks and models

    def marked(self) -> list[Task]:
        """The marked tasks, in the library's order."""
        return [t for t in self.tasks if t.id in self.marked_tasks]

    def mark_all_tasks(self) -> None:
        self.marked_tasks = [t.id for t in self.tasks]

    def chosen_models(self) -> list[ModelSpec]:
        """The contestants of the next batch: each selected assistant on each selected model that can run,
        in the order they were selected (an assistant's pair keyed ``assistant · model``)."""
        models = [m for k in self.selected_models if (m := self.catalog.get(k)) is not None and m.available]
        usable = [a for a in self.selected_assistants if a == BUILTIN or self.assistant_row(a).usable]
        return pairs.cross(models, usable or [BUILTIN], self.config.assistants)

    # Assistants

    def assistants(self) -> list[AssistantRow]:
        """Every assistant (benchtui's own loop first), with its version and why it cannot run; read once."""
        if self._assistants is None:
            rows = [AssistantRow(BUILTIN, "built in", None, None)]
            for state in install.statuses():
                rows.append(AssistantRow(state.name, state.registry, state.installed, state.reason))
            self._assistants = rows
        return self._assistants

    def assistant_row(self, name: str) -> AssistantRow:
        return next((row for row in self.assistants() if row.name == name), AssistantRow(name, "?", None, "unknown"))

    def toggle_assistant(self, name: str) -> str | None:
        """Select or unselect an assistant; the reason it cannot run when it cannot (nothing changes)."""
        if name in self.selected_assistants:
            self.selected_assistants = [a for a in self.selected_assistants if a != name]
            return None
        row = self.assistant_row(name)
        if not row.usable:
            return f"{name} is unavailable: {row.reason}"
        self.selected_assistants.append(name)
        return None

    def select_all_models(self) -> None:
        self.selected_models = [m.key for m in self.catalog.models if m.available]

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

    # Options

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
        assistants = len(self.selected_assistants) if self.selected_assistants != [BUILTIN] else 1
        parallel = (
            "one at a time"
            if options.parallel is None
            else (
                "parallel (endpoint defaults)"
                if options.parallel == 0
                else f"{options.parallel} at a time per endpoint"
            )
        )
        own = [t.timeout_s for t in self.tasks if t.id in self.marked_tasks]
        limits = run_time_limits(own, options.timeout_s)
        low, high = limits or (options.timeout_s, options.timeout_s)
        timeout = f"{low:g} s" if low == high else f"{low:g}–{high:g} s"
        # Each run gets the shorter of its task's own timeout and the Timeout field: say which one the figure
        # is, or the field above and the figure here read as two timeouts.
        cap, timeout_note = options.timeout_s, ""
        if high < cap:
            whose = "the task's own" if len(own) == 1 else "the tasks' own"
            timeout_note = f" ({whose}, shorter than Timeout {cap:g} s)"
        elif low < cap:
            timeout_note = f" (each task's own, at most Timeout {cap:g} s)"
        runs = tasks * models * assistants * repeats
        crossed = f" × {plural(assistants, 'assistant')}" if self.selected_assistants != [BUILTIN] else ""
        # What the runs can tell, before they run: the widest 95 % interval of a model's success rate.
        half = metrics.planned_precision(tasks, repeats)["contestant_half_width"] if models else None
        precision = f" (success ±{half * 100:.0f} pts)" if half is not None else ""
        line = (
            f"{plural(tasks, 'task')} × {plural(models, 'model')}{crossed} × {plural(repeats, 'repeat')} = "
            f"{plural(runs, 'run')}{precision} · {parallel} · timeout {timeout} per run{timeout_note}"
        )
        if not tasks:
            return line + " · mark tasks on 1 (space)"
        if not models:
            return line + " · select models on 2 (space, c, a)"
        return line + " · r runs it"

    # The running batch

    @property
    def batch_running(self) -> bool:
        return self.runner is not None and self.board is not None and self.board.active

    def new_board(self, names: dict[str, str], notes: Sequence[str] = ()) -> RunBoard:
        """A fresh board for a batch about to run, with the notes it starts with."""
        self.board = RunBoard(self.clock, names)
        for note in notes:
            self.board.log("info", note)
        return self.board

    def nav_status(self) -> str:
        """The running batch's progress (or how the last one ended), for the navigation bar."""
        board = self.board
        if board is None:
            return ""
        return f"● {board.status} {board.done}/{board.total}" if board.active else f"last batch {board.status}"

    def send_message(self, run_id: str, text: str) -> bool:
        """Give ``text`` to a running run with its next prompt; False if that run is not running."""
        board, runner = self.board, self.runner
        if (
            board is None
            or runner is None
            or not board.active
            or run_id not in board.rows
            or not board.rows[run_id].running
        ):
            return False
        runner.send_message(run_id, text)
        board.note_message(run_id, text)
        return True

    def cancel_run(self, run_id: str) -> bool:
        """Stop one run (queued or in flight); False if it is not running."""
        board, runner = self.board, self.runner
        if board is None or runner is None or not board.active or board.rows[run_id].finished:
            return False
        runner.cancel_run(run_id)
        board.log("warning", f"Cancelling {board.label(board.rows[run_id])}")
        board.cancel_queued(run_id)
        return True


def _shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix() + "/" * path.is_dir()
    except ValueError:
        return str(path)
