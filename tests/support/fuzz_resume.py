"""Kill-and-resume fuzzing: SIGKILL headless batches at random moments, resume until done, compare.

Each round starts a batch in a subprocess, kills it with SIGKILL after a random delay (in a request, in
a check, between a temp write and its rename, during the reports), then resumes it until it finishes
(a resume can be killed too). It checks that every resume completes, that no run finished before a kill
is sent to the model again, and that the final report equals an uninterrupted batch's apart from timings.

    python -m tests.support.fuzz_resume --rounds 50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.scripted import Script, ScriptedOllama

REPO = Path(__file__).resolve().parents[2]
TIMING_KEYS = {
    "completion_time_s",
    "model_time_s",
    "check_time_s",
    "ttft_s",
    "tokens_per_s",
    "load_time_s",
    "started_at",
    "finished_at",
    "transcript_file",
    # The model fingerprint includes the server URL, and every round starts its own server.
    "fingerprint",
    # The endpoint that served the run is that server's host:port, a new port each round.
    "endpoint",
}
MODELS = ("alpha", "beta", "gamma")
TASK_IDS = ("one", "two", "three")


def make_tasks(root: Path) -> list[Path]:
    """Three tiny tasks whose check is instant: a file must say 'done'."""
    paths = []
    for task_id in TASK_IDS:
        (root / task_id).mkdir(parents=True)
        (root / task_id / "state.txt").write_text(f"{task_id}: todo\n")
        path = root / f"{task_id}.md"
        path.write_text(
            f"---\nid: {task_id}\ndifficulty: smoke\nworkspace: {task_id}/\n"
            f"check: \"grep -q '{task_id}: done' state.txt\"\nmax_turns: 3\ntimeout: 60\n"
            "hints: ['Write done instead of todo.']\n---\n"
            f"Mark task {task_id} as done in state.txt.\n"
        )
        paths.append(path)
    return paths


def _reply(messages: list[dict[str, Any]]) -> str:
    """gamma never solves anything; the others solve the task named in the prompt."""
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    task_id = next(t for t in TASK_IDS if f"Mark task {t} " in prompt)
    return f"state.txt\n```\n<<<<<<< SEARCH\n{task_id}: todo\n=======\n{task_id}: done\n>>>>>>> REPLACE\n```\n"


def make_server() -> ScriptedOllama:
    scripts = {name: Script(_reply, chunk_delay_s=0.02, chunk_size=8) for name in MODELS[:2]}
    scripts["gamma"] = Script(lambda m: "No idea, sorry.", chunk_delay_s=0.02, chunk_size=4)
    return ScriptedOllama(scripts)


class RequestLog:
    """Requests per (model, task) as the server saw them."""

    def __init__(self, server: ScriptedOllama) -> None:
        self.server = server

    def counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for model, bodies in self.server.bodies_snapshot().items():
            for body in bodies:
                first = next(m["content"] for m in body["messages"] if m["role"] == "user")
                task_id = next(t for t in TASK_IDS if f"Mark task {t} " in first)
                counts[(model, task_id)] = counts.get((model, task_id), 0) + 1
        return counts


def cli(args: list[str], env: dict[str, str], stderr: Path) -> subprocess.Popen[bytes]:
    """The CLI in the background; its stderr goes to ``stderr`` so a failing round can say why."""
    with stderr.open("wb") as errors:
        return subprocess.Popen(
            [sys.executable, "-m", "benchtui", *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )


def comparable(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in run.items() if k not in TIMING_KEYS} for run in report["runs"]]


def finished_runs(batch: Path) -> set[tuple[str, str]]:
    done = set()
    for path in batch.glob("runs/*/*.json"):
        try:
            result = json.loads(path.read_text())["result"]
        except (ValueError, KeyError, OSError):
            continue
        done.add((result["model"].removeprefix("ollama/"), result["task_id"]))
    return done


def one_round(
    rng: random.Random, work: Path, env: dict[str, str], tasks: list[Path], reference: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    server = make_server().start()
    log = RequestLog(server)
    env = {**env, "OLLAMA_HOST": server.url}
    output = work / "out"
    errors = work / "stderr.txt"
    task_args = [a for t in tasks for a in ("--task", str(t))]
    try:
        proc = cli([*task_args, "--models", ",".join(MODELS), "--no-ui", "--output", str(output)], env, errors)
        time.sleep(rng.uniform(0.3, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for attempt in range(10):
            batches = sorted(output.glob("batch_*")) if output.exists() else []
            if not batches:  # killed before the batch folder existed: start again
                proc = cli([*task_args, "--models", ",".join(MODELS), "--no-ui", "--output", str(output)], env, errors)
            else:
                before = finished_runs(batches[0])
                counts_before = log.counts()
                proc = cli(["--resume", batches[0].name, "--no-ui", "--output", str(output)], env, errors)
            last = attempt == 9 or rng.random() < 0.6
            if last:
                code = proc.wait(timeout=120)
                if code != 0:
                    said = errors.read_text(errors="replace").strip()[-2000:]
                    raise AssertionError(f"resume exited {code}: {said}")
            else:
                time.sleep(rng.uniform(0.2, 2.0))
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
            if batches:
                counts_after = log.counts()
                for run in before:
                    if counts_after.get(run, 0) != counts_before.get(run, 0):
                        raise AssertionError(f"finished run {run} was sent to the model again")
            if last and proc.returncode == 0:
                break
        (batch,) = sorted(output.glob("batch_*"))
        report = json.loads((batch / "comparison_report.json").read_text())
        runs = comparable(report)
        if reference is not None and runs != reference:
            raise AssertionError("the resumed batch's report differs from an uninterrupted batch's")
        if json.loads((batch / "batch.json").read_text())["status"] != "finished":
            raise AssertionError("the batch did not end finished")
        return runs
    finally:
        server.close()


def reference_runs(work: Path, env: dict[str, str], tasks: list[Path]) -> list[dict[str, Any]]:
    server = make_server().start()
    try:
        output = work / "reference"
        task_args = [a for t in tasks for a in ("--task", str(t))]
        errors = work / "reference-stderr.txt"
        code = cli(
            [*task_args, "--models", ",".join(MODELS), "--no-ui", "--output", str(output)],
            {**env, "OLLAMA_HOST": server.url},
            errors,
        ).wait(timeout=120)
        if code != 0:
            raise AssertionError(f"the uninterrupted batch exited {code}: {errors.read_text(errors='replace')}")
        (batch,) = sorted(output.glob("batch_*"))
        return comparable(json.loads((batch / "comparison_report.json").read_text()))
    finally:
        server.close()


def fuzz(rounds: int, seed: int = 0, verbose: bool = False) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="benchtui-fuzz-") as temp:
        root = Path(temp)
        tasks = make_tasks(root / "tasks")
        config = root / "models_config.yaml"
        config.write_text("embedded: {enabled: false}\n")
        env = {**os.environ, "BENCHTUI_CONFIG": str(config), "BENCHTUI_DATA_DIR": str(root / "data")}
        reference = reference_runs(root, env, tasks)
        for n in range(rounds):
            work = root / f"round{n}"
            work.mkdir()
            one_round(rng, work, env, tasks, reference)
            if verbose:
                print(f"round {n + 1}/{rounds}: ok", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed {args.seed}")
    started = time.monotonic()
    fuzz(args.rounds, args.seed, verbose=True)
    print(f"{args.rounds} rounds passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
