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
from rich.console import Console, Group
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
from benchtui.engine import metrics, rankings
from benchtui.engine.events import (
    BatchFinished,
    BatchStarted,
    EngineEvent,
    LogMessage,
    RunFinished,
    RunStarted,
    RunUpdate,
)
from benchtui.engine.results import FINISHED_STATUSES, RunResult
from benchtui.present.board import RunBoard
from benchtui.present.format import STATUS_STYLES
from benchtui.present.repeats import repeat_notes

WIDE = 110
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


def _fmt(value: float | None, spec: str = ".1f", unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def _percent(ratio: float | None) -> float | None:
    return None if ratio is None else 100 * ratio


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
                f"■ {board.label(row)}: {row.status} in {_fmt(row.elapsed_s, '.1f', ' s')}, "
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
                "tok/s": _fmt(row.tokens_per_s),
                "Time": _fmt(elapsed, ".1f", " s"),
                "Last check line": row.check_line,
            }
            table.add_row(*(cells[name] for name, _w in columns))
        return table


def _count(value: float | None) -> str:
    """A mean of counts: whole numbers as integers (``5``, not ``5.00``), others with what the fraction needs."""
    if value is None:
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _podium_value(value: float | None, unit: str) -> str:
    if unit == "s":
        return f"{_fmt(value, '.2f')} s"
    shown = _count(value)
    # "1 prompt", "2 prompts", "1.5 prompts"
    return f"{shown} {unit.removesuffix('s') if shown == '1' else unit}"


#: The leaderboard's columns that show an aggregate figure: column -> ``metrics.aggregate``'s key.
BOARD_KEYS = {
    "Time": "mean_time_s",
    "Prompts": "mean_prompts",
    "Interv.": "mean_interventions",
    "Malformed": "malformed_replies",
    "Cut off": "truncated_replies",
    "Tokens": "completion_tokens",
    "tok/s": "mean_tokens_per_s",
    "Cost": "cost_usd",
    "Cache": "cache_hit_ratio",
    "Repaired": "repaired_tool_calls",
}


def summary(results: list[RunResult], models: dict[str, str] | None = None, width: int = 80) -> Group:
    """The end-of-batch summary: the podiums and the leaderboard (from engine.rankings)."""
    aggregates = metrics.aggregate_by_model(results)
    paired = metrics.paired_comparisons(results, aggregates)
    ranked = rankings.rank(aggregates, paired)
    names = models or {}
    grid = Table.grid(padding=(0, 2))
    for key, (icon, title, _field, unit) in rankings.RANKINGS.items():
        first = ranked[key][0] if ranked[key] else None
        value = (
            "no model passed"
            if first is None
            else (f"{names.get(first['model'], first['model'])} ({_podium_value(first['value'], unit)})")
        )
        tie = rankings.first_place_tie(ranked[key])
        if tie:
            value += f", a tie with {', '.join(names.get(m, m) for m in tie[1:])}"
        grid.add_row(f"{icon} {title}", value)
    # Three rows of "no model passed" say one thing three times.
    podium = grid if any(ranked[key] for key in rankings.RANKINGS) else Text("No model passed, so there is no podium.")
    # Model keys, not display names, and no wrapping. At 80 columns the two least needed columns go
    # (the reports have every figure) and the legend says so.
    wide = width >= 100
    board = Table(
        title="Leaderboard", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True, show_edge=False
    )
    columns = [
        *("#", "Model", "Pass", "95% CI", "Time", "Prompts", "Interv.", "Malformed", "Cut off", "Tokens", "tok/s"),
        *("Cost", "Cache"),
    ]
    repairing = any(agg.get("repaired_tool_calls") is not None for agg in aggregates.values())
    if repairing:
        columns.append("Repaired")  # only when some contestant's model had the repair on
    if not wide:
        columns = [c for c in columns if c not in ("Malformed", "Cut off", "Tokens", "Cache", "Repaired")]
    for column in columns:
        if column == "Model":
            # Wide: room for a contestant's whole name (``mini-swe-agent · smollm2-135m``).
            board.add_column(column, no_wrap=True, overflow="ellipsis", min_width=10, max_width=32 if wide else 18)
        else:
            board.add_column(column, justify="right", no_wrap=True)
    for entry in ranked["leaderboard"]:
        agg = aggregates[entry["model"]]
        cells = {
            "#": rankings.place_text(entry, ranked["leaderboard"]),  # =1 for a tie
            # The mark first: a long name is cut at its end, and the mark must survive at 80 columns.
            "Model": _marked(entry["model"], agg.get("repaired_tool_calls")),
            "Pass": f"{agg['passed']}/{agg['runs']}",
            "95% CI": _interval(agg["success_ci"]),
            "Time": _fmt(agg["mean_time_s"], ".1f", " s"),
            "Prompts": _fmt(agg["mean_prompts"], ".1f"),
            "Interv.": _fmt(agg["mean_interventions"], ".1f"),
            "Malformed": _fmt(agg["malformed_replies"], "d"),  # — for an assistant's: benchtui parsed none
            "Cut off": _fmt(agg["truncated_replies"], "d"),
            "Tokens": _fmt(agg["completion_tokens"], ".0f"),
            "tok/s": _fmt(agg["mean_tokens_per_s"], ".1f"),
            "Cost": metrics.cost_text(agg["cost_usd"]),
            "Cache": _fmt(_percent(agg.get("cache_hit_ratio")), ".0f", " %"),
            "Repaired": _fmt(agg.get("repaired_tool_calls"), "d"),
        }
        board.add_row(*(cells[c] for c in columns))
    # Which figures are means per run and which totals over the runs, for the columns shown: side by side
    # in one row, "5" prompts and "10" malformed replies would otherwise read alike.
    kinds = metrics.figure_kinds_text({BOARD_KEYS[c]: c for c in columns if c in BOARD_KEYS})
    legend = Text(
        kinds[:1].upper()
        + kinds[1:]
        + " · Interv.: human interventions (hints and typed messages)"
        + (
            " · Malformed: replies whose edits could not be applied (—: an assistant's, which benchtui does not "
            "parse) · Cut off: replies the server stopped at the token limit · Tokens: completion tokens · "
            "Cache: prompt tokens read from the server's prompt cache"
            if wide
            else " · malformed replies and tokens: in the reports"
        ),
        style="dim",
    )
    return Group(
        podium,
        board,
        legend,
        *repeat_notes(aggregates, ranked, paired),
        *_cut_off_warning(aggregates),
        *_runaway_warning(aggregates),
        *_repaired_note(aggregates),
        *_endpoints_table(results),
        *_cost_note(results),
    )


def _marked(model: str, repaired: Any) -> str:
    return f"{metrics.REPAIRED_MARK} {model}" if metrics.repaired_text(repaired) else model


def _repaired_note(aggregates: dict[str, dict[str, Any]]) -> list[Text]:
    """A line at any width naming the contestants whose tool calls the gateway had to repair, and how many."""
    repaired = {
        model: int(agg["repaired_tool_calls"])
        for model, agg in aggregates.items()
        if metrics.repaired_text(agg.get("repaired_tool_calls"))
    }
    if not repaired:
        return []
    total = sum(repaired.values())
    who = ", ".join(f"{model} {count}" for model, count in repaired.items())
    return [
        Text(
            f"{metrics.REPAIRED_MARK} {total} tool {'call' if total == 1 else 'calls'} written as text "
            f"{'was' if total == 1 else 'were'} made real calls by the gateway ({who}): "
            "those figures are with that help (repair_tool_calls)",
            style="yellow",
        )
    ]


def _endpoints_table(results: list[RunResult]) -> list[Table]:
    """Each endpoint of a pool with its runs and speed (reports.endpoints): only when a model's runs
    went to more than one endpoint, so a slow box in the pool shows."""
    # Imported here: the reports package (HTML included) is not loaded before a batch ends (figure 4b).
    from benchtui.engine.reports.endpoints import endpoint_rows

    rows = endpoint_rows(results)
    if not rows:
        return []
    table = Table(
        title="Endpoints (Time, tok/s: median per run)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        show_edge=False,
    )
    table.add_column("Model", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("Endpoint", no_wrap=True, overflow="ellipsis", max_width=28)
    for column in ("Runs", "Passed", "Time", "tok/s"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row["model"],
            row["endpoint"],
            str(row["runs"]),
            str(row["passed"]),
            _fmt(row["median_time_s"], ".1f", " s"),
            _fmt(row["median_tokens_per_s"], ".1f"),
        )
    return [table]


def _cost_note(results: list[RunResult]) -> list[Text]:
    """A line when a contestant's Cost is — although some of its runs have one: the others' costs are not
    known (a cache rate its pricing lacks, a request that failed before its usage came), so their sum is
    not its total."""
    by_model: dict[str, list[RunResult]] = {}
    for result in results:
        if result.get("status") in FINISHED_STATUSES:
            by_model.setdefault(str(result["model"]), []).append(result)
    partial = {
        model: (len(metrics.cost_unknown(runs)), len(runs))
        for model, runs in by_model.items()
        if metrics.cost_unknown(runs) and any(r.get("cost_usd") is not None for r in runs)
    }
    if not partial:
        return []
    who = ", ".join(f"{model} {unknown} of {runs}" for model, (unknown, runs) in partial.items())
    return [Text(f"Cost —: some runs' cost is not known ({who} runs; the batch log says why)", style="yellow")]


def _interval(ci: dict[str, float] | None) -> str:
    """A success-rate interval in percent: ``70–97%``; ``—`` when there is none (no finished run)."""
    if ci is None:
        return "—"
    return f"{ci['low'] * 100:.0f}–{ci['high'] * 100:.0f}%"


def _cut_off_warning(aggregates: dict[str, dict[str, Any]]) -> list[Text]:
    """A line at any width when replies were cut at the token limit: only the transcripts showed it before."""
    cut = {model: agg["truncated_replies"] for model, agg in aggregates.items() if agg["truncated_replies"]}
    if not cut:
        return []
    total = sum(cut.values())
    who = ", ".join(f"{model} {count}" for model, count in cut.items())
    return [
        Text(
            f"⚠ {total} {'reply was' if total == 1 else 'replies were'} cut off by the token limit "
            f"({who}): raise settings.max_tokens",
            style="yellow",
        )
    ]


def _runaway_warning(aggregates: dict[str, dict[str, Any]]) -> list[Text]:
    """A line at any width when replies were stopped for repeating themselves."""
    stopped = {model: agg.get("runaway_replies") for model, agg in aggregates.items() if agg.get("runaway_replies")}
    if not stopped:
        return []
    total = sum(count or 0 for count in stopped.values())
    who = ", ".join(f"{model} {count}" for model, count in stopped.items())
    return [
        Text(
            f"⚠ {total} {'reply was' if total == 1 else 'replies were'} stopped for repeating the same text ({who})",
            style="yellow",
        )
    ]


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
        console.print(summary(outcome.results, names, console.width))
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
