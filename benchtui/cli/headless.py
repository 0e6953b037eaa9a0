"""``benchtui --no-ui``: prepare the batch, run it with a rich live table of the runs, then the rankings.

An EventSink like the TUI's, over the same ``RunBoard``: engine events arrive on worker threads and
update the board under a lock, which rich's Live renders on its own refresh thread. When stdout is not
a terminal (CI, pipes) it prints one line per started and finished run instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from typing import Any

from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from benchtui.cli.common import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    batch_options_from,
    check_batch_flags,
    executor_from,
    fail,
    load_catalog,
    results_root,
    resume_command,
)
from benchtui.cli.summary import WIDE, figure_text, summary
from benchtui.engine import metrics
from benchtui.engine.events import (
    BatchFinished,
    BatchStarted,
    EngineEvent,
    LogMessage,
    RunFinished,
    RunStarted,
    RunUpdate,
)
from benchtui.engine.results import RunResult
from benchtui.present.board import RunBoard
from benchtui.present.format import STATUS_STYLES

FIGURES = ("Turn", "Prompts", "Interv.", "Tokens", "tok/s", "Time")
# (column, min width): the names get their width from the rows
LIVE_COLUMNS = (
    ("Model", 0),
    ("Task", 0),
    ("Status", 9),
    ("Turn", 5),
    ("Prompts", 7),
    ("Interv.", 7),
    ("Tokens", 6),
    ("tok/s", 5),
    ("Time", 8),
    ("Last check line", 12),
)


class HeadlessDisplay:
    """EventSink rendering a live table (terminal) or plain lines (pipe)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.live_mode = self.console.is_terminal
        self.board = RunBoard(time.monotonic)
        self._lock = threading.Lock()
        self._live: Live | None = None
        self.results: list[RunResult] = []

    @property
    def batch_id(self) -> str | None:
        return self.board.batch_id

    def emit(self, event: EngineEvent) -> None:
        # The board is updated under our lock, the terminal written outside it: rich's Live renders
        # (and its stop() draws one last frame) by calling _render, which takes the same lock.
        with self._lock:
            lines = self._apply(event)
        for line in lines:
            self._print(line)
        if isinstance(event, BatchStarted) and self.live_mode and self._live is None:
            self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8, transient=False)
            self._live.start()
        elif isinstance(event, BatchFinished):
            self.stop()

    def _apply(self, event: EngineEvent) -> list[str]:
        """Fold ``event`` into the board; the lines to print for it."""
        board = self.board
        if isinstance(event, RunUpdate):
            board.apply_updates([event])
            return []
        board.apply(event)
        if isinstance(event, BatchStarted):
            todo = sum(1 for r in event.runs if not r.done)
            verb = "Resuming" if event.resumed else "Starting"
            kept = len(event.runs) - todo
            return [
                f"{verb} batch {event.batch_id}: {todo} run(s) to do"
                + (f" ({kept} finished before, kept)" if kept else "")
                + f", folder {event.batch_dir}"
            ]
        if isinstance(event, LogMessage):
            return [f"[{event.level}] {board.logs[-1].text}"]
        row = board.rows.get(event.run_id) if isinstance(event, RunStarted | RunFinished) else None
        if isinstance(event, RunFinished) and event.result["status"] != "cancelled":
            self.results.append(event.result)
        if row is None or self.live_mode:
            return []
        if isinstance(event, RunStarted):
            return [f"▶ {board.label(row)}"]
        if isinstance(event, RunFinished):
            detail = f" ({row.check_line})" if row.error else ""
            return [
                f"■ {board.label(row)}: {row.status} in {figure_text(row.elapsed_s, '.1f', ' s')}, "
                f"{row.prompts} prompt(s){detail}"
            ]
        return []

    def _print(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(Text(text))
        else:
            self.console.print(Text(text))

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _render(self) -> Table:
        with self._lock:
            rows = [(row, self.board.live_elapsed(row)) for row in self.board.rows.values()]
        # Figures keep their width and names give way first; on a narrow terminal the least needed columns
        # go (the summary at the end has them all). The last check line takes what is left, cut, not wrapped.
        width = self.console.width
        columns = [c for c in LIVE_COLUMNS if c[0] != "Last check line" or width >= WIDE]
        names = max([5, *(len(r.model_key) for r, _e in rows)]) + max([4, *(len(r.task_id) for r, _e in rows)])
        for optional in ("tok/s", "Interv."):  # dropped, in this order, only when the table would not fit
            if sum(w for _n, w in columns) + min(names, 38) + 2 * len(columns) <= width:
                break
            columns = [c for c in columns if c[0] != optional]
        table = Table(
            title=f"benchtui · {self.batch_id or ''}",
            expand=width >= WIDE,
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            collapse_padding=True,
            show_edge=False,
        )
        # rich does not shrink unwrappable columns: the names get what the figures leave them.
        left = width - sum(w for _name, w in columns) - 2 * len(columns)
        longest_task = max([4, *(len(row.task_id) for row, _e in rows)])
        task_width = min(longest_task, 24, max(8, left - 14))
        widest = {"Model": min(28, max(10, left - task_width)), "Task": task_width}
        for name, min_width in columns:
            table.add_column(
                name,
                no_wrap=True,
                overflow="ellipsis",
                min_width=min_width,
                justify="right" if name in FIGURES else "left",
                max_width=widest.get(name),
                ratio=1 if name == "Last check line" else None,
            )
        for row, elapsed in rows:
            cells: dict[str, str | Text] = {
                "Model": row.model_key,
                "Task": row.task_id,
                "Status": Text(row.shown_status, style=STATUS_STYLES.get("queued" if row.queued else row.status, "")),
                "Turn": f"{row.turn}/{row.max_turns}" if row.max_turns else "—",
                "Prompts": str(row.prompts),
                "Interv.": str(row.interventions),
                "Tokens": str(row.tokens),
                "tok/s": figure_text(row.tokens_per_s),
                "Time": figure_text(elapsed, ".1f", " s"),
                "Last check line": row.check_line,
            }
            table.add_row(*(cells[name] for name, _w in columns))
        return table


class _DropSentToSink(logging.Filter):
    """Drops the log records whose text the display already shows (marked with ``attribute``)."""

    def __init__(self, attribute: str) -> None:
        super().__init__()
        self.attribute = attribute

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, self.attribute, False)


def run_headless(args: argparse.Namespace) -> int:
    from benchtui.engine.errors import InputError

    try:
        runner, notes = prepare_batch(args)
    except InputError as exc:
        return fail(str(exc))
    return execute(runner, notes)


def prepare_batch(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """Build the BatchRunner for a new or resumed batch from the command line (raises InputError)."""
    from benchtui.engine.discovery import select_models
    from benchtui.engine.errors import InputError
    from benchtui.engine.store import ResultsStore
    from benchtui.engine.tasks import load_tasks, runnable_tasks

    check_batch_flags(args)
    executor = executor_from(args)
    store = ResultsStore(results_root(args.output))
    config, catalog = load_catalog(args.config)
    notes = list(catalog.notes)
    if not args.resume and not args.task:
        raise InputError("--task is required with --no-ui (a task file or a folder of tasks)")
    # The runner (and the edit loop and the sandbox under it) is loaded once a batch is to be built: a
    # command line that cannot start one says so without it.
    from benchtui.engine.assistants import pairs
    from benchtui.engine.batches import new_batch, resume_batch

    if args.resume:
        runner, more = resume_batch(store, config, catalog, args.resume, args.parallel)
        runner.executor = executor
        return runner, notes + more
    tasks, skipped = runnable_tasks(load_tasks(args.task))
    notes += skipped
    models, more = select_models(catalog, args.models, args.category)
    models = pairs.cross(models, pairs.parse(getattr(args, "assistants", None)), config.assistants)
    runner = new_batch(store, config, catalog, tasks, models, batch_options_from(args, config))
    runner.executor = executor
    return runner, notes + more


def execute(runner: Any, notes: list[str]) -> int:
    """Run a prepared batch headless: live table, Ctrl-C handling, summary, exit code."""
    from benchtui.cli.commands import stdout_console

    # Piped output (CI logs, files) is not cut at 80 columns: paths and resume commands stay whole.
    console = stdout_console(piped_width=160)
    for note in notes:
        console.print(f"[yellow]•[/] {note}")
    for note in metrics.plan_notes(
        len(runner.tasks), runner.options.repeats, {m.key: m.settings for m in runner.models}
    ):
        console.print(f"• {note}", markup=False, highlight=False)
    display = HeadlessDisplay(console)
    runner.sink = display
    cancel: threading.Event = runner.cancel
    interrupts = {"count": 0}

    def on_signal(signum: int, frame: object) -> None:
        interrupts["count"] += 1
        if interrupts["count"] > 1:
            os._exit(EXIT_INTERRUPTED)
        cancel.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    from benchtui.engine.errors import InputError
    from benchtui.engine.runner import SENT_TO_SINK

    # The display prints the runner's messages ("[warning] ..."): Python's own printing of its warnings
    # (the last-resort handler, on stderr) would say each one twice.
    runner_log = logging.getLogger("benchtui.engine.runner")
    shown = _DropSentToSink(SENT_TO_SINK)
    runner_log.addFilter(shown)
    try:
        outcome = runner.run()
    except InputError as exc:  # the executor could not start (no Ray cluster at that address)
        display.stop()
        return fail(str(exc))
    finally:
        runner_log.removeFilter(shown)
        display.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    names = {m.key: m.display_name for m in runner.models}
    interrupted = outcome.status == "interrupted"
    if interrupted:
        planned = len(display.board.rows)
        # Said first: the rankings that follow cover only part of the batch.
        console.print(
            f"[yellow]Interrupted[/] after {len(outcome.results)} of {planned} run(s) finished; "
            "the rankings below cover only those."
            if outcome.results
            else "[yellow]Interrupted.[/] No run finished, so there is nothing to rank yet."
        )
    if outcome.results:
        try:  # endpoints taken out of a pool, noted in the manifest as it happened
            taken_out = outcome.batch.manifest().get("endpoints_out") or {}
        except (OSError, ValueError):
            taken_out = {}
        pools = ({m.key: m.snapshot() for m in runner.models}, taken_out)
        console.print(summary(outcome.results, names, console.width, pools))
    elif not interrupted:
        console.print("No run finished, so there is nothing to rank yet.")
    console.print(f"Results: {outcome.batch.path}")
    for report in outcome.reports:
        console.print(f"  {report.name}")
    if interrupted:
        again = resume_command(outcome.batch.batch_id, runner.store.root, no_ui=True, executor=runner.executor)
        console.print(f"Resume with: {again}")
        return EXIT_INTERRUPTED
    if outcome.status == "error":
        return EXIT_INTERNAL
    return EXIT_OK
