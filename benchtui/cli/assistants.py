"""``benchtui assistants``: the coding assistants benchtui can run, their versions and why one cannot run;
``benchtui assistants install NAME|all``: installs them (pip or npm) into benchtui's data folder."""

from __future__ import annotations

import argparse
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from benchtui.cli.common import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK
from benchtui.engine.assistants import install
from benchtui.engine.assistants.base import BUILTIN
from benchtui.engine.textsafety import strip_control


def add_parser(sub: Any) -> None:
    about = "list the coding assistants (their versions, why one is unavailable) or install them"
    parser = sub.add_parser(
        "assistants",
        help=about,
        description="The coding assistants benchtui runs as contestants (--assistants), each installed into "
        "its own folder under benchtui's data folder at a pinned version.",
    )
    actions = parser.add_subparsers(dest="action")
    installing = actions.add_parser("install", help="install assistants (pip or npm) at their pinned versions")
    installing.add_argument("names", nargs="+", metavar="NAME", help="assistant names, or all")
    installing.add_argument("--force", action="store_true", help="reinstall even when installed")


def main(console: Console, args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "install":
        return install_named(console, args.names, args.force)
    return list_assistants(console)


def list_assistants(console: Console) -> int:
    root = install.default_dir()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("Assistant", "Package", "Pinned", "Installed", "Status"):
        table.add_column(column, overflow="fold")
    table.add_row(BUILTIN, "(built in)", "—", "—", Text("available (the default)", style="green"))
    for state in install.statuses(root):
        status = Text("available", style="green") if state.usable else Text(state.reason or "", style="yellow")
        if state.usable and state.installed != state.pinned:
            status = Text(f"installed {state.installed}; benchtui pins {state.pinned}: reinstall", style="yellow")
        table.add_row(state.name, f"{state.package} ({state.registry})", state.pinned, state.installed or "—", status)
    console.print(table)
    console.print(f"Installed under {root}", style="dim", markup=False)
    return EXIT_OK


def install_named(console: Console, names: list[str], force: bool) -> int:
    root = install.default_dir()
    try:
        chosen = install.resolve(names)
    except install.InstallError as exc:
        console.print(f"benchtui: error: {strip_control(str(exc))}", markup=False, style="red")
        return EXIT_BAD_INPUT
    failed = 0
    for name, adapter in chosen.items():
        try:
            install.install(name, adapter, root, say=lambda line: console.print(line, markup=False), force=force)
        except install.InstallError as exc:
            console.print(f"benchtui: error: {strip_control(str(exc))}", markup=False, style="red")
            failed += 1
    return EXIT_INTERNAL if failed else EXIT_OK
