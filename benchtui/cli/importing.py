"""``benchtui tasks import exercism`` and ``benchtui tasks install-jest``: suites written for Exercism's
layout as benchtui tasks, and the jest their JavaScript checks run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from benchtui.cli.common import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, fail
from benchtui.present.format import plural


def add_import_parser(tasks_sub: Any) -> None:
    about = (
        "convert Exercism-style exercises (one exercise, a track, or a checkout of several tracks such as "
        "Aider's polyglot benchmark) into benchtui tasks"
    )
    p = tasks_sub.add_parser("import", help=about, description=about[0].upper() + about[1:] + ".")
    kinds = p.add_subparsers(dest="kind", required=True)
    exercism = kinds.add_parser(
        "exercism",
        help="Exercism's layout: <track>/exercises/practice/<name>/ with .meta/config.json",
        description="Write one task per exercise under DIR/<track>/: the stubs as the workspace, the tests as "
        "the hidden check, the example as the solution, the docs as the prompt. Re-running it writes the same "
        "bytes. JavaScript tasks need benchtui's jest, which this installs from npm unless --no-install.",
    )
    exercism.add_argument("path", metavar="PATH", help="an exercise, a track folder or a checkout")
    exercism.add_argument("--into", required=True, metavar="DIR", help="where to write the tasks")
    exercism.add_argument(
        "--track", action="append", metavar="NAMES", help="only these tracks (comma-separated or repeated)"
    )
    exercism.add_argument("--exercise", nargs="+", action="extend", metavar="NAME", help="only these exercises")
    exercism.add_argument(
        "--no-install", action="store_true", help="do not install jest for JavaScript tasks (tasks stay unavailable)"
    )
    tasks_sub.add_parser(
        "install-jest",
        help="install the jest that JavaScript (Exercism) checks run, from npm, into benchtui's data folder",
        description="Install the pinned jest and babel that checks named benchtui-jest run (npm ci; once).",
    )


def import_tasks(console: Console, args: argparse.Namespace) -> int:
    if args.action == "install-jest":
        return install_jest(console)
    from benchtui.engine.importers.exercism import ExerciseError, import_exercises

    tracks = [t for value in args.track or () for t in value.split(",") if t.strip()]
    try:
        report = import_exercises(Path(args.path), Path(args.into), tracks or None, args.exercise)
    except ExerciseError as exc:
        return fail(str(exc))
    into = Path(args.into)
    for track, ids in sorted(report.tracks.items()):
        console.print(f"{track}: {plural(len(ids), 'task')} written to {into / track}")
    for skipped in report.skipped:
        console.print(Text(f"✗ {skipped.where} not imported: {skipped.reason}", style="red"), highlight=False)
    total = len(report.written)
    console.print(
        f"Imported {plural(total, 'exercise')}"
        + (f"; {plural(len(report.skipped), 'exercise')} could not be converted" if report.skipped else "")
    )
    if "javascript" in report.tracks and not args.no_install:
        status = install_jest(console)
        if status != EXIT_OK:
            return status
    if not total:
        return EXIT_BAD_INPUT
    return EXIT_INTERNAL if report.skipped else EXIT_OK


def install_jest(console: Console) -> int:
    from benchtui.engine import jest

    if jest.installed():
        console.print(f"jest {jest.VERSION} is installed in {jest.home()}")
        return EXIT_OK
    console.print(f"Installing jest {jest.VERSION} for the JavaScript checks (npm ci, once) into {jest.home()} …")
    try:
        jest.install()
    except jest.JestInstallError as exc:
        return fail(f"cannot install jest: {exc}")
    console.print(f"jest {jest.VERSION} installed in {jest.home()}")
    return EXIT_OK
