"""The benchmark's one command: measure, print the table, exit 1 when a target is missed.

    .venv/bin/python -m bench [--quick] [--only overhead,parallel,tui,startup,scale,sandbox,local,ray,pools]

Each section runs in a fresh Python process (``python -m bench.run --section NAME``), so the memory one
leaves behind and the threads it started never colour the next one's figures. Every figure is printed
next to a baseline measured in the same run on the same machine, and their ratio, because the machine
is shared: absolute times move with the load, ratios much less.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Figure, load, table

SECTIONS = ("overhead", "parallel", "tui", "startup", "scale", "sandbox", "local", "ray", "pools")
REPO = Path(__file__).resolve().parent.parent
SECTION_TIMEOUT_S = 300
MARK = "BENCH-FIGURES "


def run_section(name: str, quick: bool) -> list[Figure]:
    """Measure one section in a child process; its figures come back as one JSON line."""
    argv = [sys.executable, "-m", "bench.run", "--section", name] + (["--quick"] if quick else [])
    done = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=SECTION_TIMEOUT_S)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"section {name} failed (exit {done.returncode})")
    return [Figure(**f) for f in json.loads(lines[-1][len(MARK) :])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and repetitions (about a minute)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these sections (repeat or comma-separate): {', '.join(SECTIONS)}",
    )
    parser.add_argument("--section", help=argparse.SUPPRESS)  # internal: measure one section, print JSON
    args = parser.parse_args(argv)
    if args.section:
        measured = importlib.import_module(f"bench.{args.section}").measure(args.quick)
        print(MARK + json.dumps([dataclasses.asdict(f) for f in measured]), flush=True)
        return 0
    chosen = [s for part in (args.only or []) for s in part.split(",") if s] or list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)} (choose from {', '.join(SECTIONS)})")
    print(
        f"benchtui benchmark{' (quick)' if args.quick else ''}: Python {platform.python_version()}, "
        f"{platform.machine()}, {load()}",
        flush=True,
    )
    figures: list[Figure] = []
    failed_sections = []
    started = time.perf_counter()
    for name in chosen:
        section_started = time.perf_counter()
        print(f"… {name}", flush=True)
        try:
            figures += run_section(name, args.quick)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"  {exc}", file=sys.stderr)
            failed_sections.append(name)
        print(f"  {name} took {time.perf_counter() - section_started:.1f} s ({load()})", flush=True)
    print()
    print(table(figures))
    print(f"\n{len(figures)} figures in {time.perf_counter() - started:.0f} s; {load()}")
    if failed_sections:
        print(f"sections that failed to measure: {', '.join(failed_sections)}", file=sys.stderr)
    missed = [f.name for f in figures if f.ok is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed or failed_sections else 0


if __name__ == "__main__":
    sys.exit(main())
