"""Executors: where one (task, model, repeat) run is played, for the runner's worker threads.

The runner plans, queues runs per endpoint, holds each endpoint's limits and alone writes the batch folder;
an executor only plays the run it is handed and returns its result and transcript. ``local`` plays it in
this process (the default); ``ray`` sends it to a Ray cluster as one task and waits for it, so the driver's
threads, limits, events and writes stay exactly as they are. Ray is imported only by ``ray.py``, and only
when that executor is chosen.
"""

from __future__ import annotations

import importlib.util

from benchtui.engine.errors import InputError
from benchtui.engine.executors.base import Executor, LogFn, RunJob

EXECUTORS = ("local", "ray")
RAY_MISSING = "--executor ray needs Ray, which is not installed: pip install 'benchtui[ray]'"
_RAY_MODULE = "ray"  # tests name a module that does not exist, to see benchtui without Ray


def ray_installed() -> bool:
    """Whether Ray can be imported, found without importing it (it takes seconds and starts threads)."""
    return importlib.util.find_spec(_RAY_MODULE) is not None


def make_executor(name: str, *, address: str | None = None, cpus_per_run: float = 1.0) -> Executor:
    """The executor ``--executor`` names; raises InputError for Ray when it is not installed."""
    if name == "local":
        from benchtui.engine.executors.local import LocalExecutor

        return LocalExecutor()
    if name != "ray":
        raise InputError(f"--executor takes one of {', '.join(EXECUTORS)}, got {name!r}")
    if not ray_installed():
        raise InputError(RAY_MISSING)
    from benchtui.engine.executors.ray import RayExecutor

    return RayExecutor(address=address, cpus_per_run=cpus_per_run)


__all__ = ["EXECUTORS", "RAY_MISSING", "Executor", "LogFn", "RunJob", "make_executor", "ray_installed"]
