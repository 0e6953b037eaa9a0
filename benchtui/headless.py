"""The headless display (``--no-ui``): a rich live table of the runs, then the rankings.

An EventSink like the TUI's; engine events arrive on worker threads and only update a dict under a
lock, which rich's Live renders on its own refresh thread. When stdout is not a terminal (CI, pipes)
it prints one line per started and finished run instead.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

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
from benchtui.engine.textsafety import strip_control

STATUS_STYLES = {
    "passed": "bold green", "failed": "red", "timeout": "yellow", "error": "bold red", "cancelled": "dim",
    "queued": "dim", "running": "cyan", "done": "green",
}


@dataclass
class _Row:
    task_id: str
    model: str
    status: str = "queued"
    phase: str = ""
    turn: int = 0
    max_turns: int = 0
    prompts: int = 0
    interventions: int = 0
    tokens: int = 0
    tokens_per_s: float | None = None
    started: float | None = None
    elapsed: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _fmt(value: float | None, spec: str = ".1f", unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


class HeadlessDisplay:
    """EventSink rendering a live table (terminal) or plain lines (pipe)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.live_mode = self.console.is_terminal
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._logs: list[str] = []
        self.batch_id: str | None = None
        self.results: list[dict[str, Any]] = []

    def emit(self, event: EngineEvent) -> None:
        with self._lock:
            self._apply(event)

    def _apply(self, event: EngineEvent) -> None:
        if isinstance(event, BatchStarted):
            self.batch_id = event.batch_id
            for run in event.runs:
                self._rows[run.run_id] = _Row(run.task_id, run.model_key, "done" if run.done else "queued")
            todo = sum(1 for r in event.runs if not r.done)
            verb = "Resuming" if event.resumed else "Starting"
            self._print(f"{verb} batch {event.batch_id}: {todo} run(s) to do, folder {event.batch_dir}")
            if self.live_mode and self._live is None:
                self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8,
                                  transient=False)
                self._live.start()
        elif isinstance(event, RunStarted):
            row = self._rows.get(event.run_id)
            if row:
                row.status, row.started = "running", time.monotonic()
                if not self.live_mode:
                    self._print(f"▶ {row.model} · {row.task_id}")
        elif isinstance(event, RunUpdate):
            row = self._rows.get(event.run_id)
            if row:
                row.phase, row.turn, row.max_turns = event.phase, event.turn, event.max_turns
                row.prompts, row.interventions = event.prompts_sent, event.human_interventions
                row.tokens, row.tokens_per_s = event.completion_tokens, event.tokens_per_s
                row.note = strip_control(event.last_check_line or "")
        elif isinstance(event, RunFinished):
            row = self._rows.get(event.run_id)
            result = event.result
            if row:
                row.status = str(result["status"])
                row.prompts = int(result.get("prompts_sent") or 0)
                row.interventions = int(result.get("human_interventions") or 0)
                row.tokens = int(result.get("completion_tokens") or 0)
                row.tokens_per_s = result.get("tokens_per_s")
                row.elapsed = result.get("completion_time_s")
                row.turn = int(result.get("turns") or row.turn)
                row.note = strip_control(str(result.get("error_message") or "")) if result.get("error") else ""
                if not self.live_mode:
                    detail = f" ({result.get('error')}: {row.note})" if result.get("error") else ""
                    self._print(f"■ {row.model} · {row.task_id}: {row.status} in "
                                f"{_fmt(row.elapsed, '.1f', ' s')}, {row.prompts} prompt(s){detail}")
            if result["status"] != "cancelled":
                self.results.append(result)
        elif isinstance(event, LogMessage):
            self._print(f"[{event.level}] {strip_control(event.text)}")
        elif isinstance(event, BatchFinished):
            self.stop()

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
            rows = list(self._rows.values())
        table = Table(title=f"benchtui · {self.batch_id or ''}", expand=False)
        for column in ("Model", "Task", "Status", "Turn", "Prompts", "Hints", "Tokens", "tok/s", "Elapsed", "Check"):
            table.add_column(column, no_wrap=column != "Check", overflow="ellipsis",
                             max_width=40 if column == "Check" else None)
        now = time.monotonic()
        for row in rows:
            elapsed = row.elapsed if row.elapsed is not None else (now - row.started if row.started else None)
            status = row.phase if row.status == "running" and row.phase else row.status
            table.add_row(
                row.model, row.task_id, Text(status, style=STATUS_STYLES.get(row.status, "")),
                f"{row.turn}/{row.max_turns}" if row.max_turns else "—", str(row.prompts), str(row.interventions),
                str(row.tokens), _fmt(row.tokens_per_s), _fmt(elapsed, ".1f", " s"), row.note,
            )
        return table


def format_cost(cost: float | None) -> str:
    if cost is None:
        return "—"
    if cost == 0:
        return "$0"
    return f"${cost:.4f}" if cost < 0.01 else f"${cost:.2f}"


def summary(results: list[dict[str, Any]], models: dict[str, str] | None = None) -> Group:
    """The end-of-batch summary: the podiums and the leaderboard (from engine.rankings)."""
    aggregates = metrics.aggregate_by_model(results)
    ranked = rankings.rank(aggregates)
    names = models or {}
    podium = Table.grid(padding=(0, 2))
    for key, (icon, title, _field, unit) in rankings.RANKINGS.items():
        first = ranked[key][0] if ranked[key] else None
        value = "no model passed" if first is None else (
            f"{names.get(first['model'], first['model'])} ({_fmt(first['value'], '.2f')} {unit})")
        podium.add_row(f"{icon} {title}", value)
    # Model keys, not display names, and no wrapping: the table must stay readable at 80 columns.
    board = Table(title="Leaderboard", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True,
                  show_edge=False)
    for column in ("#", "Model", "Pass", "Time", "Prompts", "Hints", "Bad", "Tokens", "tok/s", "Cost"):
        if column == "Model":
            board.add_column(column, no_wrap=True, overflow="ellipsis", min_width=10, max_width=18)
        else:
            board.add_column(column, justify="right", no_wrap=True)
    for entry in ranked["leaderboard"]:
        agg = aggregates[entry["model"]]
        board.add_row(
            str(entry["rank"]), entry["model"],
            f"{agg['passed']}/{agg['runs']}",
            _fmt(agg["mean_time_s"], ".1f", " s"), _fmt(agg["mean_prompts"], ".1f"),
            _fmt(agg["mean_interventions"], ".1f"), str(agg["malformed_replies"]),
            _fmt(agg["completion_tokens"], ".0f"), _fmt(agg["mean_tokens_per_s"], ".1f"), format_cost(agg["cost_usd"]),
        )
    legend = Text("Time, Prompts, Hints: mean per run (Hints = human interventions) · Bad: malformed replies · "
                  "Tokens: completion tokens, total", style="dim")
    return Group(podium, board, legend)
