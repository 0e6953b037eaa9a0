"""Figure 9: does a pool of endpoints scale? The same batch on 1, 2 and 4 endpoints of one model's pool.

One model, one task, ``RUNS`` repeats; its pool is 1, 2 or 4 scripted OpenAI-compatible servers (in a
child process, like real model servers), each serving ``PER_ENDPOINT`` requests at once (``concurrency``)
and taking a fixed ``SERVER_S`` per request (``first_byte_delay_s``), with ``true`` checks in the sandbox's
``none`` mode. So the figure measures benchtui's dispatch (each run to whichever endpoint has a free
worker), not a model: no dispatcher can beat

    ideal(k) = ⌈RUNS ÷ (k × PER_ENDPOINT)⌉ × SERVER_S

and 9a–9c are each pool's wall (``runner.run()`` to the last run finished) against its ideal. 9d, the
figure with a target, is the speed-up from 1 to 4 endpoints against the ideal 4×; 9e is a pool of two
whose first endpoint is dead (a closed port): the batch against the ideal of the one live endpoint, so
what the dead one costs shows (the retry policy's backoff on its first runs, which then go to the live
one).
"""

from __future__ import annotations

import math
import socket
import tempfile
import time
from pathlib import Path

from bench.common import EDIT_REPLY, Figure, make_task, sandbox_mode
from bench.parallel import FinishTimes
from bench.servers import ServerProcess
from benchtui.engine.models import Endpoint, ModelSpec
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import Task, load_tasks

SERVER_S = 0.4
PER_ENDPOINT = 2
RUNS = 100  # the "same 100-run batch"
# The pool must scale as one endpoint does: 1 → 4 endpoints at least 95 % of the ideal 4× speed-up.
# (Each pool's wall against its ideal is information: figure 2 holds one endpoint's schedule to 1.05×,
# and a pool's short batch adds the same fixed start and end to fewer waves.)
SPEEDUP_TARGET = 0.95


def pooled(urls: list[str]) -> ModelSpec:
    endpoints = tuple(Endpoint(f"{url}/v1", PER_ENDPOINT) for url in urls)
    return ModelSpec(
        key="m",
        name="m",
        provider="openai",
        display_name="m",
        base_url=endpoints[0].base_url,
        concurrency=PER_ENDPOINT,
        pool=endpoints if len(endpoints) > 1 else (),
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def one_batch(root: Path, tasks: list[Task], model: ModelSpec, runs: int, name: str) -> tuple[float, dict[str, int]]:
    """(wall to the last run, runs per endpoint) of one batch of ``runs`` runs; every run must pass."""
    sink = FinishTimes()
    runner = BatchRunner(
        store=ResultsStore(root / name),
        tasks=tasks,
        models=[model],
        options=BatchOptions(parallel=0, repeats=runs),
        sink=sink,
    )
    started = time.perf_counter()
    results = runner.run().results
    if len(results) != runs or any(r["status"] != "passed" for r in results):
        raise RuntimeError(f"{name}: {len(results)} results, {sorted({r['status'] for r in results})}")
    served: dict[str, int] = {}
    for result in results:
        served[str(result["endpoint"])] = served.get(str(result["endpoint"]), 0) + 1
    return max(sink.finished) - started, served


def ideal(runs: int, endpoints: int) -> float:
    return math.ceil(runs / (endpoints * PER_ENDPOINT)) * SERVER_S


def measure(quick: bool) -> list[Figure]:
    # Fewer waves would let the batch's fixed start and end (threads, the last run's check and save)
    # decide 9d, so --quick keeps the RUNS and leaves out the pool of two and the dead endpoint instead.
    runs = RUNS
    sizes = (1, 4) if quick else (1, 2, 4)
    spec = [
        {"dialect": "openai", "models": {"m": {"reply": EDIT_REPLY, "first_byte_delay_s": SERVER_S}}}
        for _ in range(max(sizes))
    ]
    figures: list[Figure] = []
    walls: dict[int, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp,
        ServerProcess(spec) as servers,
        sandbox_mode("none"),
    ):
        root = Path(tmp)
        tasks = load_tasks([make_task(root, check="true")])
        for size in sizes:
            letter = "abc"[(1, 2, 4).index(size)]
            wall, served = one_batch(root, tasks, pooled(servers.urls[:size]), runs, f"pool{size}")
            walls[size] = wall
            best = ideal(runs, size)
            figures.append(
                Figure(
                    f"9{letter} pool wall, {size} endpoint{'s' if size > 1 else ''}",
                    wall,
                    "s",
                    best,
                    "ideal",
                    "info (9d)",
                    None,
                    note=f"{runs} runs of one model, {PER_ENDPOINT} requests at once per endpoint, "
                    f"{SERVER_S * 1000:.0f} ms per request; runs per endpoint: "
                    + ", ".join(str(n) for n in sorted(served.values(), reverse=True)),
                )
            )
        speedup = walls[1] / walls[4]
        figures.append(
            Figure(
                "9d pool speed-up, 1 → 4 endpoints",
                speedup,
                "×",
                ideal(runs, 1) / ideal(runs, 4),
                "ideal",
                f"≥ {SPEEDUP_TARGET:g}× ideal",
                speedup >= SPEEDUP_TARGET * ideal(runs, 1) / ideal(runs, 4),
                note=f"9a's wall ÷ 9c's: {walls[1]:.2f} s ÷ {walls[4]:.2f} s",
            )
        )
        if quick:
            return figures
        dead = pooled([closed_port_url(), servers.urls[0]])
        wall, served = one_batch(root, tasks, dead, runs, "pool-dead")
        figures.append(
            Figure(
                "9e pool of 2, the first one dead",
                wall,
                "s",
                ideal(runs, 1),
                "ideal, 1 live endpoint",
                "info",
                None,
                note="the dead endpoint's first runs wait out the default retry policy's backoff for a refused "
                "connection (the runs queued behind them then stop retrying it), and go to the live one, which "
                "serves the rest meanwhile (every run served by: " + ", ".join(sorted(served)) + ")",
            )
        )
    return figures
