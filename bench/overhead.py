"""Figure 1: what benchtui adds to each run when the model and the check are (nearly) free.

An instant loopback model (one NDJSON chunk, no delay, in its own process) and a ``true`` check in the
real sandbox; runs one after another. benchtui's own overhead per run is
``completion_time_s − model_time_s − check_time_s`` (the rest of the run: workspace copy, prompts,
edits, diffs, metrics), and ``batch wall ÷ runs`` adds what happens between runs (the result files,
events, the final reports). The in-run baseline is the raw cost of the same work without benchtui:
one plain httpx request to the same server plus one ``true`` subprocess.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import EDIT_REPLY, Figure, make_task, median, ollama_model, run_times
from bench.servers import ServerProcess
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.sandbox import detect_sandbox
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks

TARGET_MS = 20.0


def raw_request_s(url: str, model: str, reps: int) -> list[float]:
    """One plain streaming request per call, a fresh connection each time (as benchtui does)."""
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    times = []
    with httpx.Client(trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for _ in range(reps):
            started = time.perf_counter()
            with client.stream("POST", f"{url}/api/chat", json=body) as response:
                for _line in response.iter_lines():
                    pass
            times.append(time.perf_counter() - started)
    return times


def raw_true_s(reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        subprocess.run(["true"], check=True)
        times.append(time.perf_counter() - started)
    return times


def measure(quick: bool) -> list[Figure]:
    runs = 50 if quick else 200
    with (
        tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp,
        ServerProcess([{"dialect": "ollama", "models": {"instant": {"reply": EDIT_REPLY}}}]) as servers,
    ):
        root = Path(tmp)
        url = servers.urls[0]
        tasks = load_tasks([make_task(root, check="true")])
        # Warm up: imports, the sandbox probe, the first connection.
        raw_request_s(url, "instant", 5)
        raw_true_s(5)
        BatchRunner(
            store=ResultsStore(root / "warm"),
            tasks=tasks,
            models=[ollama_model("instant", url)],
            options=BatchOptions(repeats=3),
        ).run()
        baseline_request = raw_request_s(url, "instant", 40)
        baseline_true = raw_true_s(40)

        runner = BatchRunner(
            store=ResultsStore(root / "results"),
            tasks=tasks,
            models=[ollama_model("instant", url)],
            options=BatchOptions(repeats=runs),
        )
        started = time.perf_counter()
        outcome = runner.run()
        wall = time.perf_counter() - started
        # The baseline once more after the batch, so load drifting during it moves both sides.
        baseline_request += raw_request_s(url, "instant", 40)
        baseline_true += raw_true_s(40)

    results = outcome.results
    if outcome.status != "finished" or any(r["status"] != "passed" for r in results):
        raise RuntimeError(f"overhead batch did not pass: {outcome.status} {[r['status'] for r in results][:5]}")
    times = [run_times(r) for r in results]
    overhead = [completion - model - check for completion, model, check in times]
    model = [m for _, m, _ in times]
    check = [c for _, _, c in times]
    raw = median(baseline_request) + median(baseline_true)
    work = median([m + c for m, c in zip(model, check, strict=True)])
    per_run = wall / runs
    mode = detect_sandbox()
    return [
        Figure(
            "1a harness overhead per run",
            median(overhead) * 1000,
            "ms",
            raw * 1000,
            "raw httpx request + `true`",
            f"≤ {TARGET_MS:g} ms",
            median(overhead) * 1000 <= TARGET_MS,
            note=f"median of {runs} serial runs: completion − model − check; instant model in its own process, "
            f"`true` check in the {mode} sandbox",
        ),
        Figure(
            "1b batch wall ÷ runs",
            per_run * 1000,
            "ms",
            work * 1000,
            "model + check per run",
            f"≤ baseline + {TARGET_MS:g} ms",
            per_run * 1000 <= work * 1000 + TARGET_MS,
            note=f"whole runner.run() of {runs} runs (batch folder, result files, reports) ÷ runs; "
            f"benchtui's share: {(per_run - work) * 1000:.1f} ms/run",
        ),
        Figure(
            "1c model time per request",
            median(model) * 1000,
            "ms",
            median(baseline_request) * 1000,
            "raw httpx request",
            "info (providers/)",
            note="benchtui's provider layer (fresh connection + shared watchdog) vs a bare request",
        ),
        Figure(
            "1d check time per `true`",
            median(check) * 1000,
            "ms",
            median(baseline_true) * 1000,
            "raw `true` subprocess",
            "info (sandbox/)",
            note=f"the {mode} sandbox's cost per check, counted as check time, not overhead",
        ),
    ]
