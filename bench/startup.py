"""Figure 4: how long ``benchtui --help`` and ``benchtui --no-ui`` take to start, and what they import.

Each command runs as a fresh process, several times; the figure is the median wall time, against the
median of ``python -c pass`` (the interpreter's own start) measured in between. ``--no-ui`` runs
without ``--task``: it parses the command line, loads a models config, asks a loopback Ollama (in its
own process) for its models, then stops with exit code 2 ("--task is required"): everything a headless
batch does before its first run. ``python -X importtime`` shows whether Textual was imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, median
from bench.servers import ServerProcess

HELP_TARGET_MS = 150.0
PYTHON = sys.executable
BENCHTUI = str(Path(sys.executable).with_name("benchtui"))


def run_s(argv: list[str], env: dict[str, str], expect: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != expect:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def imports_textual(argv: list[str], env: dict[str, str]) -> bool:
    done = subprocess.run(
        [PYTHON, "-X", "importtime", *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    return any(line.rsplit("|", 1)[-1].strip().split(".")[0] == "textual" for line in done.stderr.splitlines())


def measure(quick: bool) -> list[Figure]:
    reps = 7 if quick else 15
    with (
        tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp,
        ServerProcess([{"dialect": "ollama", "models": {"instant": {"reply": "ok"}}}]) as servers,
    ):
        config = Path(tmp) / "models_config.yaml"
        config.write_text("models: []\nembedded:\n  enabled: false\n")
        env = {
            **os.environ,
            "BENCHTUI_CONFIG": str(config),
            "BENCHTUI_DATA_DIR": str(Path(tmp) / "data"),
            "OLLAMA_HOST": servers.urls[0],
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        commands = {
            "pass": ([PYTHON, "-c", "pass"], 0),
            "help": ([BENCHTUI, "--help"], 0),
            "no-ui": ([BENCHTUI, "--no-ui"], 2),
        }
        for argv, code in commands.values():  # warm the page cache and the bytecode
            run_s(argv, env, code)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(reps):  # interleaved, so load changes hit every command alike
            for name, (argv, code) in commands.items():
                times[name].append(run_s(argv, env, code))
        textual_help = imports_textual(["-m", "benchtui", "--help"], env)
        textual_no_ui = imports_textual(["-m", "benchtui", "--no-ui"], env)
    base = median(times["pass"]) * 1000
    help_ms, no_ui_ms = median(times["help"]) * 1000, median(times["no-ui"]) * 1000
    return [
        Figure(
            "4a `benchtui --help` start-up",
            help_ms,
            "ms",
            base,
            "python -c pass",
            f"≤ {HELP_TARGET_MS:g} ms",
            help_ms <= HELP_TARGET_MS and not textual_help,
            note=f"median of {reps}; Textual imported: {'YES' if textual_help else 'no'}",
        ),
        Figure(
            "4b `benchtui --no-ui` start-up",
            no_ui_ms,
            "ms",
            base,
            "python -c pass",
            "Textual not imported",
            not textual_no_ui,
            note=f"median of {reps}; to the point a batch would start (config, Ollama discovery); "
            f"Textual imported: {'YES' if textual_no_ui else 'no'}",
        ),
    ]
