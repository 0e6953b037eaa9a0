"""Figure 6: what the check sandbox itself costs per check, in each mode that works here.

The same ``true`` check runs through ``run_check`` in every mode and bare (``/bin/sh -c true`` as a plain
subprocess: the baseline), interleaved so load changes hit all alike. Two figures per mode: the median
wall time, and the median CPU time (benchtui's and its children's, from ``getrusage``), which the load
of a shared machine moves much less than the wall clock. The target is the issue's: the sandbox adds
at most 10 ms per check. The bwrap mode's figure is the reference the other modes are set beside.
"""

from __future__ import annotations

import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Figure, median, sandbox_mode
from benchtui.engine.sandbox import run_check, unavailable_reason

TARGET_ADDED_MS = 10.0
MODES = ("bwrap", "unshare", "none")


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _sample(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, cpu) seconds of one call."""
    cpu, wall = _cpu_s(), time.perf_counter()
    fn()
    return time.perf_counter() - wall, _cpu_s() - cpu


def measure(quick: bool) -> list[Figure]:
    reps = 20 if quick else 60
    modes = [m for m in MODES if unavailable_reason(m) is None]
    skipped = {m: unavailable_reason(m) for m in MODES if m not in modes}
    with tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp:
        workspace = Path(tmp)

        def bare() -> None:
            subprocess.run(["/bin/sh", "-c", "true"], check=True)

        def checked(mode: str) -> Callable[[], object]:
            def run() -> None:
                with sandbox_mode(mode):
                    outcome = run_check("true", workspace, 30)
                if not outcome.passed:
                    raise RuntimeError(f"`true` failed in the {mode} sandbox: {outcome.output[-300:]}")

            return run

        calls = {"bare": bare, **{m: checked(m) for m in modes}}
        for fn in calls.values():  # warm up: the mode probes, the page cache
            fn()
        walls: dict[str, list[float]] = {name: [] for name in calls}
        cpus: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(reps):
            for name, fn in calls.items():
                wall, cpu = _sample(fn)
                walls[name].append(wall)
                cpus[name].append(cpu)
    bare_wall, bare_cpu = median(walls["bare"]) * 1000, median(cpus["bare"]) * 1000
    bwrap_cpu = median(cpus["bwrap"]) * 1000 if "bwrap" in modes else None
    figures = []
    for mode in modes:
        wall, cpu = median(walls[mode]) * 1000, median(cpus[mode]) * 1000
        versus = f"; {cpu / bwrap_cpu:.2f}× bwrap's CPU" if bwrap_cpu and mode != "bwrap" else ""
        figures += [
            Figure(
                f"6 check in the {mode} sandbox, wall",
                wall,
                "ms",
                bare_wall,
                "bare `sh -c true`",
                f"≤ bare + {TARGET_ADDED_MS:g} ms",
                wall - bare_wall <= TARGET_ADDED_MS,
                note=f"median of {reps}, interleaved with the other modes and the bare command",
            ),
            Figure(
                f"6 check in the {mode} sandbox, CPU",
                cpu,
                "ms",
                bare_cpu,
                "bare `sh -c true`",
                f"≤ bare + {TARGET_ADDED_MS:g} ms",
                cpu - bare_cpu <= TARGET_ADDED_MS,
                note=f"user + system time of benchtui and every process of the check{versus}",
            ),
        ]
    if skipped and figures:
        figures[0].note += "; not measured: " + "; ".join(f"{m} ({reason})" for m, reason in skipped.items())
    return figures
