"""Engine events and the one Protocol through which progress leaves the engine.

The TUI and the headless display are both EventSinks. ``RunUpdate`` snapshots may be coalesced by a
sink (each replaces the previous one for its run); every other event is discrete and must never be
dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from benchtui.engine.results import RunResult


@dataclass(frozen=True)
class PlannedRun:
    run_id: str
    task_id: str
    model_key: str
    repeat: int
    done: bool = False
    result: RunResult | None = field(default=None, hash=False, compare=False)
    """For a run finished before a resume: its stored result, so views can show its figures."""


@dataclass(frozen=True)
class BatchStarted:
    batch_id: str
    batch_dir: Path
    runs: tuple[PlannedRun, ...]
    resumed: bool = False


@dataclass(frozen=True)
class RunStarted:
    run_id: str


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands, as its contestant reports it: the one shape of progress, from the contestant
    through the runner (``RunUpdate.of``) to every view, with the same names all the way.

    ``human_interventions`` is ``hints_given + typed_interventions``, as in the result."""

    phase: str
    turn: int
    max_turns: int
    prompts_sent: int
    human_interventions: int
    completion_tokens: int
    tokens_per_s: float | None
    elapsed_s: float
    last_check_line: str | None = None
    hints_given: int = 0
    typed_interventions: int = 0


@dataclass(frozen=True)
class RunUpdate:
    """A snapshot of a run in progress; a newer one for the same run replaces an older one.

    Its fields are RunProgress's, with the run's id first."""

    run_id: str
    phase: str
    turn: int
    max_turns: int
    prompts_sent: int
    human_interventions: int
    completion_tokens: int
    tokens_per_s: float | None
    elapsed_s: float
    last_check_line: str | None = None
    hints_given: int = 0
    typed_interventions: int = 0

    @classmethod
    def of(cls, run_id: str, progress: RunProgress) -> RunUpdate:
        return cls(run_id, **vars(progress))


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    result: RunResult = field(hash=False)


@dataclass(frozen=True)
class LogMessage:
    text: str
    level: str = "info"
    run_id: str | None = None


@dataclass(frozen=True)
class BatchFinished:
    batch_id: str
    batch_dir: Path
    status: str
    reports: tuple[Path, ...] = ()


EngineEvent = BatchStarted | RunStarted | RunUpdate | RunFinished | LogMessage | BatchFinished


class EventSink(Protocol):
    def emit(self, event: EngineEvent) -> None: ...


class NullSink:
    """A sink that ignores everything (library use, tests)."""

    def emit(self, event: EngineEvent) -> None:
        return None


class RecordingSink:
    """A sink that keeps every event (tests, the benchmark)."""

    def __init__(self) -> None:
        self.events: list[EngineEvent] = []

    def emit(self, event: EngineEvent) -> None:
        self.events.append(event)
