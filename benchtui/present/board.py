"""The live state of one batch, built from engine events: every planned run's latest figures and the log.

Both faces keep one: the TUI's Run screen (applied on the UI thread, coalesced snapshots folded in at
10 Hz) and the headless progress table (applied under a lock on the engine's threads). Plain data, no
rendering: each face draws it its own way, and tests assert on it directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from benchtui.engine.events import BatchFinished, BatchStarted, LogMessage, RunFinished, RunStarted, RunUpdate
from benchtui.engine.results import RunResult
from benchtui.engine.textsafety import strip_control

FINISHED = ("passed", "failed", "timeout", "error", "cancelled", "kept")


class LogLine(NamedTuple):
    level: str  # info, warning, error, or "you" for a message the user typed
    text: str  # control characters already stripped
    run_id: str | None = None


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

    @property
    def queued(self) -> bool:
        """Started, but waiting for a request slot of its endpoint or a check slot: its clock is stopped."""
        return self.running and self.phase == "queued"


class RunBoard:
    """Everything a view shows about one batch; one writer at a time (the TUI's UI thread, or the
    headless display under its lock)."""

    def __init__(self, clock: Callable[[], float], names: dict[str, str] | None = None) -> None:
        self.clock = clock
        self.names = names or {}
        self.rows: dict[str, RowState] = {}
        self.logs: list[LogLine] = []
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
                run.run_id: RowState(
                    run.run_id, run.task_id, run.model_key, run.repeat, status="kept" if run.done else "queued"
                )
                for run in event.runs
            }
            for run in event.runs:
                if run.result is not None:  # finished before this resume: show what it did
                    self._fill(self.rows[run.run_id], run.result)
                    self.rows[run.run_id].check_line = f"kept from before the resume: {run.result.get('status')}"
            self.generation += 1
            early, self._early = list(self._early.values()), {}
            self.apply_updates(early)
            todo = sum(1 for r in event.runs if not r.done)
            verb = "Resuming" if event.resumed else "Starting"
            kept = len(event.runs) - todo
            self.log(
                "info",
                f"{verb} {event.batch_id}: {todo} run(s) to do of {len(event.runs)}"
                + (f" ({kept} finished before, kept)" if kept else ""),
            )
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
            for row in self.rows.values():
                if row.status == "queued":  # the batch stopped before their turn
                    row.status = "not run"
                    self.dirty.add(row.run_id)
            counts = {
                status: sum(1 for r in self.rows.values() if r.status == status) for status in ("cancelled", "not run")
            }
            finished = self.done - counts["cancelled"]
            extra = "".join(f", {n} {status}" for status, n in counts.items() if n)
            self.log(
                "info" if event.status == "finished" else "warning",
                f"Batch {event.batch_id} {event.status}: {finished} of {self.total} run(s) finished, "
                f"{self.passed} passed{extra}",
            )

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

    def _fill(self, row: RowState, result: RunResult) -> None:
        """A finished run's figures, from its result."""
        row.phase = ""
        row.turn = int(result.get("turns") or row.turn)
        row.prompts = int(result.get("prompts_sent") or 0)
        row.interventions = int(result.get("human_interventions") or 0)
        row.tokens = int(result.get("completion_tokens") or row.tokens)
        row.tokens_per_s = result.get("tokens_per_s")
        row.elapsed_s = result.get("completion_time_s")

    def _finish(self, event: RunFinished) -> None:
        row = self.rows.get(event.run_id)
        result = event.result
        if row is None:
            return
        row.status = str(result.get("status", "error"))
        self._fill(row, result)
        row.error = str(result["error"]) if result.get("error") else None
        if row.error:
            row.check_line = f"{row.error}: {strip_control(str(result.get('error_message') or ''))}"
        elif result.get("check_output"):
            row.check_line = strip_control(str(result["check_output"]))
        self.dirty.add(row.run_id)
        self.log(
            "error" if row.status == "error" else "info",
            f"{self.label(row)}: {row.status}"
            + (f" in {row.elapsed_s:.1f} s" if row.elapsed_s is not None else "")
            + (f" ({row.check_line})" if row.error else ""),
        )

    def label(self, row: RowState) -> str:
        """``model · task`` (``#N`` for repeats after the first), as log lines name a run."""
        name = self.names.get(row.model_key, row.model_key)
        return f"{name} · {row.task_id}" + (f" #{row.repeat}" if row.repeat != 1 else "")

    def cancel_queued(self, run_id: str) -> None:
        """A queued run the user cancelled: it will never start, so it shows as cancelled at once."""
        row = self.rows[run_id]
        if row.status == "queued":
            row.status = "cancelled"
            self.dirty.add(run_id)

    def live_elapsed(self, row: RowState) -> float | None:
        """A running row's time, still ticking between the engine's snapshots (none come while checking);
        it stands still while the run is queued for a slot, as the run's own clock does."""
        if row.running and not row.queued and row.elapsed_s is not None and row.seen_at is not None and self.active:
            return row.elapsed_s + max(self.clock() - row.seen_at, 0.0)
        return row.elapsed_s

    def tick(self) -> None:
        """Mark the running rows for a redraw so their elapsed time moves (only changed cells are redrawn)."""
        if self.active:
            self.dirty.update(r.run_id for r in self.rows.values() if r.running)

    def log(self, level: str, text: str, run_id: str | None = None) -> None:
        self.logs.append(LogLine(level, strip_control(text), run_id))

    def note_message(self, run_id: str, text: str) -> None:
        row = self.rows[run_id]
        row.typed_sent += 1
        self.dirty.add(run_id)
        self.log("you", f"to {self.label(row)}: {text} (sent with its next prompt)")

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
