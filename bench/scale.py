"""Figure 5: a 10,000-run batch: memory growth, pace from first run to last, and the reports.

10 tasks × 10 models (on 2 endpoints, in a child process) × 100 repeats, every model instant and
every check ``true``, ``parallel=4``. The checks run with the sandbox in ``none`` mode (its test
hook): a sandboxed check costs tens of ms here (figure 1d), so 10,000 of them on two CPUs would
take most of the benchmark's five minutes by themselves, and this figure is about the runner's
memory and pace, which the sandbox does not change. ``--quick`` runs 1,000 runs and scales the
memory and report figures to 10,000 runs, labelled "extrapolated" in the table.

* RSS: ``VmRSS`` of this process (/proc/self/status) sampled every 0.2 s; growth = peak during the
  batch − the value before it (after a warm-up batch). Baseline: the size of the results on disk
  (the per-model result files), which the runner's ``BatchOutcome`` returns in memory.
* Pace: wall time per run over the last 10 % of runs ÷ over the first 10 %; a runner whose cost grows
  with the batch (a file rewritten whole, a list scanned per run) shows here.
* Reports: ``write_reports(batch)`` (JSON, CSV, HTML) on the finished batch. Baseline: the floor any
  report pays, reading and parsing every ``<model>_result.json`` and writing the runs as one JSON.
"""

from __future__ import annotations

import gc
import json
import tempfile
import threading
import time
from pathlib import Path

from bench.common import EDIT_REPLY, Figure, make_task, median, ollama_model, rss_mb, sandbox_mode
from bench.parallel import FinishTimes
from bench.servers import ServerProcess
from benchtui.engine.reports import write_reports
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import MODEL_FILE_SUFFIX, Batch, ResultsStore
from benchtui.engine.tasks import load_tasks

FULL_RUNS = 10_000
RSS_TARGET_MB = 50.0
REPORT_TARGET_S = 2.0
PACE_TARGET = 1.25
TASKS, MODELS = 10, 10


class RssSampler:
    """VmRSS every 0.1 s on a thread: (perf_counter, MB) samples."""

    def __init__(self) -> None:
        self.samples = [(time.perf_counter(), rss_mb())]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.samples.append((time.perf_counter(), rss_mb()))

    def peak(self, until: float | None = None) -> float:
        return max(mb for at, mb in self.samples if until is None or at <= until)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.perf_counter(), rss_mb()))


def floor_report_s(batch: Batch) -> float:
    started = time.perf_counter()
    runs = []
    for path in sorted(batch.path.glob(f"*{MODEL_FILE_SUFFIX}")):
        runs += json.loads(path.read_text(encoding="utf-8"))["runs"]
    (batch.path / "floor.json").write_text(json.dumps(runs, indent=2, ensure_ascii=False))
    return time.perf_counter() - started


def measure(quick: bool) -> list[Figure]:
    repeats = 10 if quick else 100
    runs = TASKS * MODELS * repeats
    scale = FULL_RUNS / runs
    label = f" (extrapolated to {FULL_RUNS:,} from {runs:,} runs)" if scale != 1 else ""
    tag = " [extrapolated]" if scale != 1 else ""
    spec = [
        {"dialect": "ollama", "models": {f"s{e}m{m}": {"reply": EDIT_REPLY} for m in range(MODELS // 2)}}
        for e in range(2)
    ]
    with (
        tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp,
        ServerProcess(spec) as servers,
        sandbox_mode("none"),
    ):
        root = Path(tmp)
        tasks = load_tasks([make_task(root / "tasks", f"t{n}") for n in range(TASKS)])
        models = [
            ollama_model(name, url) for entry, url in zip(spec, servers.urls, strict=True) for name in entry["models"]
        ]
        options = BatchOptions(parallel=4, repeats=repeats)
        # Warm-up: every import, the first connections, the first reports.
        BatchRunner(
            store=ResultsStore(root / "warm"), tasks=tasks, models=models, options=BatchOptions(parallel=4, repeats=1)
        ).run()
        gc.collect()
        before = rss_mb()
        sink = FinishTimes()
        runner = BatchRunner(
            store=ResultsStore(root / "results"), tasks=tasks, models=models, options=options, sink=sink
        )
        with RssSampler() as sampler:
            started = time.perf_counter()
            outcome = runner.run()
            total = time.perf_counter() - started
            after = rss_mb()
        if outcome.status != "finished" or len(outcome.results) != runs:
            raise RuntimeError(f"scale batch: {outcome.status}, {len(outcome.results)} of {runs} results")
        finished = sorted(sink.finished)
        tenth = max(runs // 10, 1)
        first = (finished[tenth - 1] - started) / tenth
        last = (finished[-1] - finished[-tenth - 1]) / tenth
        batch = outcome.batch
        data_mb = sum(p.stat().st_size for p in batch.path.glob(f"*{MODEL_FILE_SUFFIX}")) / 2**20
        reps = 1 if quick else 3
        report_s = median([_timed_reports(batch) for _ in range(reps)])
        floor_s = median([floor_report_s(batch) for _ in range(reps)])
    runs_growth = sampler.peak(until=finished[-1]) - before
    report_growth = sampler.peak() - before - runs_growth
    if scale != 1:
        # Memory per run, from the second half of the runs (the first carries one-time costs: threads,
        # caches), carried on to 10,000 runs; the reports' memory grows with the runs they show.
        half = sampler.peak(until=finished[-1]) - sampler.peak(until=finished[len(finished) // 2])
        runs_growth += max(half, 0.0) / (runs - runs // 2) * (FULL_RUNS - runs)
        report_growth *= scale
    growth = runs_growth + report_growth
    return [
        Figure(
            f"5a RSS growth, {FULL_RUNS:,} runs (to the last run){tag}",
            runs_growth,
            "MB",
            data_mb * scale,
            "results on disk",
            f"≤ {RSS_TARGET_MB:g} MB",
            runs_growth <= RSS_TARGET_MB,
            note=f"before {before:.0f} MB, peak until the last run finished "
            f"{sampler.peak(until=finished[-1]):.0f} MB{label}; "
            f"{runs:,} runs in {total:.0f} s ({total / runs * 1000:.1f} ms/run, sandbox 'none')",
        ),
        Figure(
            f"5b RSS growth, {FULL_RUNS:,}-run batch with its reports{tag}",
            growth,
            "MB",
            data_mb * scale,
            "results on disk",
            f"≤ {RSS_TARGET_MB:g} MB",
            growth <= RSS_TARGET_MB,
            note=f"peak during runner.run() {sampler.peak():.0f} MB (the reports are written at its end), "
            f"after it {after:.0f} MB{label}",
        ),
        Figure(
            "5c time per run, last 10 % ÷ first 10 %",
            last / first,
            "×",
            None,
            "",
            f"≤ {PACE_TARGET:g}×",
            last / first <= PACE_TARGET,
            note=f"first {tenth:,} runs {first * 1000:.1f} ms/run, last {tenth:,} {last * 1000:.1f} ms/run",
        ),
        Figure(
            f"5d reports for {FULL_RUNS:,} runs{tag}",
            report_s * scale,
            "s",
            floor_s * scale,
            "parse result files + one JSON",
            f"≤ {REPORT_TARGET_S:g} s",
            report_s * scale <= REPORT_TARGET_S,
            note=f"write_reports(): JSON + CSV + HTML, median of {reps}{label}",
        ),
    ]


def _timed_reports(batch: Batch) -> float:
    started = time.perf_counter()
    write_reports(batch)
    return time.perf_counter() - started
