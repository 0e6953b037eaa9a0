"""--executor ray on a real Ray cluster on loopback: a head without CPUs and worker nodes started here.

The same batch gives the same results as on the thread pool; a worker node killed mid-batch costs no
run (its runs are played again elsewhere, each recorded once); a driver killed mid-batch resumes. All
against the scripted servers, which the workers reach on loopback like any model server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchtui.cli import main
from benchtui.engine.executors import ray_installed
from benchtui.present.exits import EXIT_INTERRUPTED
from tests.conftest import REPO, write_config
from tests.support.raycluster import LocalRayCluster
from tests.support.scripted import Script, ScriptedOpenAI, ScriptedServer, fixed, sequence, solution_reply, tiny_task

# Deselect with -m 'not ray': each test starts Ray nodes, seconds of CPU each.
pytestmark = [
    pytest.mark.ray,
    pytest.mark.timeout(400),
    pytest.mark.skipif(not ray_installed(), reason="ray is not installed: pip install 'benchtui[ray]'"),
]
FIGURES = (
    "status",
    "error",
    "turns",
    "prompts_sent",
    "files_modified",
    "lines_added",
    "lines_removed",
    "diff",
    "sandbox",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRayCluster]:
    with LocalRayCluster() as cluster:
        cluster.start_head()
        cluster.add_worker(cpus=2)
        yield cluster


@pytest.fixture
def on_cluster(cluster: LocalRayCluster, monkeypatch: pytest.MonkeyPatch) -> LocalRayCluster:
    """The cluster, with the drivers this test starts given its token."""
    for name, value in cluster.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return cluster


def start_on_ray(argv: list[str], cluster: LocalRayCluster) -> subprocess.Popen[str]:
    """``benchtui ARGV --executor ray`` on the cluster, in a process of its own: Ray reads its token once
    per process, and this one's drivers come and go (one is killed)."""
    return subprocess.Popen(
        [sys.executable, "-m", "benchtui", *argv, "--executor", "ray", "--ray-address", cluster.address],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_on_ray(argv: list[str], cluster: LocalRayCluster, timeout_s: float = 300) -> str:
    """What the batch printed; fails unless it exits 0."""
    driver = start_on_ray(argv, cluster)
    printed, _ = driver.communicate(timeout=timeout_s)
    assert driver.returncode == 0, printed[-4000:]
    return printed


def config_for(tmp_path: Path, server: ScriptedServer, *names: str, concurrency: int = 2) -> Path:
    models = "".join(
        f"  - name: {name}\n    provider: openai\n    base_url: {server.url}/v1\n    concurrency: {concurrency}\n"
        for name in names
    )
    return write_config(
        tmp_path / "models.yaml", f"embedded: {{enabled: false}}\nollama: {{enabled: false}}\nmodels:\n{models}"
    )


def batch_argv(tasks: list[Path], config: Path, output: Path, models: str, repeats: int) -> list[str]:
    return [
        *(arg for task in tasks for arg in ("--task", str(task))),
        *("--models", models, "--repeats", str(repeats), "--parallel", "--no-ui"),
        *("--output", str(output), "--config", str(config)),
    ]


def run_files(output: Path) -> dict[str, dict[str, Any]]:
    (batch,) = output.iterdir()
    found = {}
    for path in sorted((batch / "runs").rglob("*.json")):
        result = json.loads(path.read_text())["result"]
        found[f"{result['task_id']}::{result['model']}::{result['repeat']}"] = result
    return found


def test_a_batch_on_ray_gives_the_thread_pools_results(tmp_path: Path, on_cluster: LocalRayCluster) -> None:
    tasks = [tiny_task(tmp_path / "a", "tiny-a"), tiny_task(tmp_path / "b", "tiny-b")]
    scripts = {"solver": Script(solution_reply(tasks[0]), first_byte_delay_s=0.2), "loser": Script(fixed("no idea"))}
    with ScriptedOpenAI(scripts) as server:
        # One request at a time, two runs in progress (the cloud default's overlap): on a worker with two
        # CPUs only the driver's request slot keeps the second run's request waiting.
        config = config_for(tmp_path, server, "solver", "loser", concurrency=1)
        argv = batch_argv(tasks, config, tmp_path / "local", "solver,loser", 2)
        assert main(argv) == 0
        local_peak, server.peak_in_flight = server.peak_in_flight, 0
        started = time.monotonic()
        printed = run_on_ray(batch_argv(tasks, config, tmp_path / "ray", "solver,loser", 2), on_cluster)
        print(f"ray batch: {time.monotonic() - started:.1f} s", file=sys.stderr)
        ray_peak = server.peak_in_flight
    assert f"Ray executor: the Ray cluster at {on_cluster.address}, 2 node(s), 2 CPU(s)" in printed
    local, on_ray = run_files(tmp_path / "local"), run_files(tmp_path / "ray")
    assert len(local) == 8
    assert {k: [r[f] for f in FIGURES] for k, r in on_ray.items()} == {
        k: [r[f] for f in FIGURES] for k, r in local.items()
    }
    assert {r["status"] for r in on_ray.values()} == {"passed", "failed"}
    # The endpoint's limit holds across the cluster: its request slots stay the driver's.
    assert local_peak == 1 and ray_peak == 1


def test_a_worker_node_killed_mid_batch_costs_no_run_and_runs_none_twice(
    tmp_path: Path, on_cluster: LocalRayCluster
) -> None:
    task = tiny_task(tmp_path / "t")
    with ScriptedOpenAI({"solver": Script(solution_reply(task), first_byte_delay_s=1.5)}) as server:
        config = config_for(tmp_path, server, "solver")
        doomed = on_cluster.nodes[-1]
        driver = start_on_ray(batch_argv([task], config, tmp_path / "out", "solver", 6), on_cluster)
        deadline = time.monotonic() + 120
        while server.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        on_cluster.kill_worker(doomed)  # its raylet and the workers playing runs, at once
        on_cluster.add_worker(cpus=2)
        printed, _ = driver.communicate(timeout=300)
        assert driver.returncode == 0, printed[-4000:]
        sent = sum(server.attempts.values())
    assert "lost with its Ray worker (NodeDiedError): running it again, attempt 2 of 3" in printed
    runs = run_files(tmp_path / "out")
    assert sorted(runs) == [f"tiny::solver::{n}" for n in range(1, 7)]
    assert {r["status"] for r in runs.values()} == {"passed"}
    assert sent > 6  # the lost runs' requests were sent again
    (batch,) = (tmp_path / "out").iterdir()
    (model_file,) = batch.glob("*_result.json")
    ids = [(r["task_id"], r["repeat"]) for r in json.loads(model_file.read_text())["runs"]]
    assert sorted(ids) == [("tiny", n) for n in range(1, 7)]  # each run recorded once


def test_an_interrupted_ray_batch_cancels_its_workers_runs_and_resumes(
    tmp_path: Path, on_cluster: LocalRayCluster
) -> None:
    task = tiny_task(tmp_path / "t")
    output = tmp_path / "out"
    # The 3rd and 4th requests hang (a byte a second for a minute): the runs then in flight on the worker
    # end in time only if the cancel reaches the worker.
    script = Script(solution_reply(task), first_byte_delay_s=0.3, drip_attempts={3: 1.0, 4: 1.0})
    with ScriptedOpenAI({"solver": script}) as server:
        config = config_for(tmp_path, server, "solver")
        driver = start_on_ray(batch_argv([task], config, output, "solver", 6), on_cluster)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and driver.poll() is None:
                if server.attempts["solver"] >= 4 and server.in_flight == 2:
                    break
                time.sleep(0.05)
            assert driver.poll() is None, "the batch ended before it could be interrupted"
            interrupted = time.monotonic()
            driver.send_signal(signal.SIGINT)
            printed, _ = driver.communicate(timeout=60)
            took = time.monotonic() - interrupted
        finally:
            driver.kill()
            driver.wait()
        assert driver.returncode == EXIT_INTERRUPTED, printed[-4000:]
        # The resume command it prints goes on on the same cluster.
        assert f"--no-ui --executor ray --ray-address {on_cluster.address}" in printed
        # Within the cancel's grace (10 s, after which the worker would be killed): the worker stopped its run.
        assert took < 8, f"{took:.1f} s"
        gone = time.monotonic() + 5  # the server sees a closed connection at its next byte, once a second
        while server.in_flight and time.monotonic() < gone:
            time.sleep(0.05)
        assert server.in_flight == 0
        before = {path: path.read_bytes() for path in output.rglob("runs/**/*.json")}
        assert len(before) == 2
        (batch,) = output.iterdir()
        run_on_ray(["--resume", batch.name, "--no-ui", "--output", str(output), "--config", str(config)], on_cluster)
    runs = run_files(output)
    assert sorted(runs) == [f"tiny::solver::{n}" for n in range(1, 7)]
    assert {r["status"] for r in runs.values()} == {"passed"}
    assert all(path.read_bytes() == data for path, data in before.items())  # finished runs were kept, not rerun
    assert json.loads((batch / "batch.json").read_text())["status"] == "finished"


def test_a_typed_message_and_a_run_cancelled_by_id_reach_the_ray_worker(
    tmp_path: Path, on_cluster: LocalRayCluster
) -> None:
    talker = Script(sequence("no idea", "still no idea"), first_byte_delay_s=1.0)
    sleeper = Script(fixed("zzz"), drip_attempts={1: 1.0})  # its one request hangs for a minute
    with ScriptedOpenAI({"talker": talker, "sleeper": sleeper}) as server:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "tests.support.ray_steering", server.url, on_cluster.address, str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        second_prompt = server.bodies_snapshot()["talker"][1]["messages"][-1]["content"]
    assert "A person says: the answer is done" in second_prompt  # delivered with the next prompt
    assert outcome["recorded"] == {"talker": ["failed", 1]}  # the message counted as an intervention
    assert outcome["cancelled"] == ["sleeper"]  # not stored: redone on resume
    assert outcome["cancel_took_s"] < 8  # the worker stopped it, before the 10 s grace would kill it
    print(f"steering test: {time.monotonic() - started:.1f} s", file=sys.stderr)
