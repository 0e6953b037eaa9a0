"""Engine events as Textual messages, the EventSink that posts them from the engine's threads, and the
requests screens send the app.

The engine calls ``TuiSink.emit`` on its worker threads. The sink never touches a widget: discrete
events (batch started, run started/finished, log lines, batch finished) become messages posted to the
app with ``post_message`` (thread-safe), in order and never dropped. ``RunUpdate`` snapshots are
coalesced (convention 7): the sink keeps only the latest snapshot per run under a lock and the app
drains them with a ~10 Hz timer, so fifty chatty runs cost at most ten grid refreshes a second.

Screens hold the session, not the app: what only the app can do (open, resume a batch, cancel a run
and refresh the grid) they ask for with a request message, which bubbles up to the app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from textual.message import Message

from benchtui.engine.events import (
    BatchFinished,
    BatchStarted,
    EngineEvent,
    LogMessage,
    RunFinished,
    RunStarted,
    RunUpdate,
)


class EngineBatchStarted(Message):
    """Sent when the runner has planned the batch (new or resumed), before any run starts."""

    def __init__(self, event: BatchStarted) -> None:
        super().__init__()
        self.event = event


class EngineRunStarted(Message):
    """Sent when one (task, model, repeat) run starts."""

    def __init__(self, event: RunStarted) -> None:
        super().__init__()
        self.event = event


class EngineRunFinished(Message):
    """Sent when a run ends (passed, failed, timeout, error or cancelled), with its result dict."""

    def __init__(self, event: RunFinished) -> None:
        super().__init__()
        self.event = event


class EngineLog(Message):
    """Sent for each log line the engine emits (resume notes, warnings, errors)."""

    def __init__(self, event: LogMessage) -> None:
        super().__init__()
        self.event = event


class EngineBatchFinished(Message):
    """Sent once the batch has ended and its results and reports are written."""

    def __init__(self, event: BatchFinished) -> None:
        super().__init__()
        self.event = event


class OpenBatch(Message):
    """Sent by a screen (History: enter, o) to show a batch's results."""

    def __init__(self, batch_id: str) -> None:
        super().__init__()
        self.batch_id = batch_id


class ResumeBatch(Message):
    """Sent by a screen (History: r) to run the missing runs of an unfinished batch."""

    def __init__(self, batch_id: str) -> None:
        super().__init__()
        self.batch_id = batch_id


class CancelRun(Message):
    """Sent by the Run screen (x) to stop one run of the running batch."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id


_WRAPPERS: dict[type[Any], Callable[[Any], Message]] = {
    BatchStarted: EngineBatchStarted,
    RunStarted: EngineRunStarted,
    RunFinished: EngineRunFinished,
    LogMessage: EngineLog,
    BatchFinished: EngineBatchFinished,
}


class _Target(Protocol):
    def post_message(self, message: Message) -> bool: ...


class TuiSink:
    """The TUI's EventSink: posts discrete events, keeps the latest RunUpdate per run for the timer."""

    def __init__(self, target: _Target) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._latest: dict[str, RunUpdate] = {}

    def emit(self, event: EngineEvent) -> None:
        if isinstance(event, RunUpdate):
            with self._lock:
                self._latest[event.run_id] = event
            return
        if isinstance(event, RunFinished):
            # The run's thread sends nothing after this, so a snapshot still waiting here is stale:
            # dropping it keeps a finished row from flashing back to "running".
            with self._lock:
                self._latest.pop(event.run_id, None)
        wrapper = _WRAPPERS.get(type(event))
        if wrapper is not None:
            self._target.post_message(wrapper(event))

    def drain(self) -> list[RunUpdate]:
        """The snapshots that arrived since the last drain (one per run, newest), called on the UI thread."""
        with self._lock:
            updates = list(self._latest.values())
            self._latest.clear()
        return updates
