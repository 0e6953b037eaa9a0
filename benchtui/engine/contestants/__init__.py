"""Contestants: what plays one (task, model, repeat) run for the runner (see base.Contestant)."""

from __future__ import annotations

from benchtui.engine.contestants.base import Contestant, ProgressCallback, RunControl, Transcript
from benchtui.engine.contestants.edit_loop import EditLoop, run_task

__all__ = ["Contestant", "EditLoop", "ProgressCallback", "RunControl", "Transcript", "run_task"]
