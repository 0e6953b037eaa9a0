"""What every measurement shares: the figure row, the table, tiny tasks, loopback models, timers."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchtui.engine.models import ModelSpec
from benchtui.engine.results import RunResult, result_run_id
from benchtui.engine.sandbox import detect as sandbox_detect
from benchtui.engine.sandbox import host as sandbox_host

# The edit every benchmark model sends: it turns ``todo`` into ``done`` in state.txt.
EDIT_REPLY = "state.txt\n```\n<<<<<<< SEARCH\ntodo\n=======\ndone\n>>>>>>> REPLACE\n```\n"
# What a scripted Ollama server serves at once (it has no limit), above every parallel level a bench uses.
SCRIPTED_OLLAMA_CONCURRENCY = 1000


@dataclass
class Figure:
    """One row of the table. ``value`` and ``baseline`` are in ``unit``; ``ok`` None = no target."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "×":
        return f"{value:.3f}×"
    if unit == "cpu":
        return f"{value:.2f} CPU-s/s"
    return f"{value:g} {unit}".strip()


def table(figures: Sequence[Figure]) -> str:
    """The figures as a fixed-width text table (it goes into docs/PERFORMANCE.md as is)."""
    header = ("figure", "value", "baseline", "ratio", "target", "result")
    rows = []
    for f in figures:
        baseline = fmt(f.baseline, f.unit) + (f" ({f.baseline_label})" if f.baseline_label else "")
        result = "info" if f.ok is None else ("PASS" if f.ok else "FAIL")
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}×"
        rows.append(
            (f.name, fmt(f.value, f.unit), baseline if f.baseline is not None else "—", ratio, f.target, result)
        )
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    notes = [f"  * {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_times(result: RunResult) -> tuple[float, float, float]:
    """(completion, model, check) seconds of a passed run; a run without them leaves no figure to compute."""
    model, check = result["model_time_s"], result["check_time_s"]
    if model is None or check is None:
        raise RuntimeError(f"a passed run without a model or check time: {result_run_id(result)}")
    return result["completion_time_s"], model, check


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def make_task(root: Path, task_id: str = "bench", check: str = "true", max_turns: int = 1) -> Path:
    """A one-file task whose check is ``check`` (instant by default); EDIT_REPLY solves it."""
    folder = root / task_id
    (folder / "ws").mkdir(parents=True)
    (folder / "ws" / "state.txt").write_text("todo\n")
    path = folder / f"{task_id}.md"
    path.write_text(
        f"---\nid: {task_id}\ntitle: Benchmark task\ndifficulty: smoke\nworkspace: ws/\n"
        f"check: {check!r}\nmax_turns: {max_turns}\ntimeout: 600\n---\n"
        "Write done instead of todo in state.txt.\n"
    )
    return path


def ollama_model(name: str, url: str) -> ModelSpec:
    """A model on a (scripted) Ollama server: each server is its own endpoint.

    The scripted server serves any number of requests at once, and says so as a user would (``concurrency``):
    without it the runner assumes Ollama's default of one request at a time."""
    return ModelSpec(
        key=f"ollama/{name}",
        name=name,
        provider="ollama",
        display_name=name,
        base_url=url,
        source="ollama",
        concurrency=SCRIPTED_OLLAMA_CONCURRENCY,
    )


def openai_model(name: str, url: str) -> ModelSpec:
    """A model on a (scripted) OpenAI-compatible server: a cloud endpoint (default concurrency 4)."""
    return ModelSpec(key=name, name=name, provider="openai", display_name=name, base_url=f"{url}/v1")


def rss_mb() -> float:
    """The resident set size of this process now, from /proc/self/status (VmRSS)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def sandbox_mode(mode: str | None) -> Iterator[None]:
    """Force the check sandbox's mode (its test hook) for a measurement that is not about the sandbox."""
    previous = sandbox_detect._FORCE_MODE
    sandbox_detect._FORCE_MODE = mode
    if mode == "none":
        sandbox_host._warned.add("none")  # chosen, not missing: no "install bubblewrap" warning
    try:
        yield
    finally:
        sandbox_detect._FORCE_MODE = previous


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} CPUs"
