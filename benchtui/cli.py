"""The command line: ``benchtui`` opens the TUI; ``--no-ui`` runs headless; subcommands for the rest.

Imports are deferred so ``benchtui --help`` stays fast and the headless path never imports Textual.
Exit codes (design §5b): 0 batch finished, 2 bad input, 3 interrupted (resumable), 1 internal error.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchtui.engine.config import ModelsConfig
    from benchtui.engine.discovery import Catalog

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 3
SUBCOMMANDS = ("models", "tasks", "report", "history")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchtui",
        description="Run the same coding task on many AI models and compare them. "
        "Without --no-ui it opens the full-screen app.",
        epilog="Subcommands: benchtui models | tasks list|validate [PATH...] | report BATCH_ID [--open] | history",
    )
    parser.add_argument("--task", action="append", metavar="PATH",
                        help="task file or folder of tasks (repeat for several)")
    parser.add_argument("--models", default="all", metavar="NAMES",
                        help="'all' (default) or comma-separated model names (e.g. llama3,gpt-4o)")
    parser.add_argument("--category", metavar="NAME", help="only models of this category (fast, balanced, ...)")
    parser.add_argument("--output", metavar="DIR", help="results folder (default: the user data folder)")
    parser.add_argument("--parallel", nargs="?", type=int, const=0, default=None, metavar="N",
                        help="run models in parallel; N caps concurrent runs per endpoint "
                        "(without N, or 0: each endpoint's default, Ollama 1, cloud 4)")
    parser.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                        help="max time per model run (default 1800; a task's own timeout wins when smaller)")
    parser.add_argument("--repeats", type=int, default=1, metavar="N", help="runs per task and model (default 1)")
    parser.add_argument("--resume", metavar="BATCH_ID", help="resume an interrupted batch")
    parser.add_argument("--config", metavar="FILE", help="models config (default: ./models_config.yaml)")
    parser.add_argument("--no-ui", action="store_true", help="run headless with a progress table")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from benchtui.engine.errors import InputError

    try:
        subcommand_at = find_subcommand(argv)
    except InputError as exc:
        return fail(str(exc))
    if subcommand_at is not None:
        from benchtui import commands

        # `benchtui --config FILE models` means `benchtui models --config FILE`.
        return commands.main(argv[subcommand_at:] + argv[:subcommand_at])
    args = build_parser().parse_args(argv)
    if args.version:
        from benchtui import __version__

        print(f"benchtui {__version__}")
        return EXIT_OK
    if not args.no_ui:
        from benchtui.tui_entry import run_tui

        return run_tui(args)
    return run_headless(args)


OPTIONS_WITH_VALUE = ("--task", "--models", "--category", "--output", "--timeout", "--repeats", "--resume", "--config")


def find_subcommand(argv: list[str]) -> int | None:
    """Where the subcommand stands in ``argv`` (the first word that is no option's value), or None.

    Raises InputError for a word that is neither a subcommand nor an option's value (a typo)."""
    from benchtui.engine.errors import InputError

    expects_value = False
    for index, word in enumerate(argv):
        if expects_value:
            expects_value = False
        elif word.startswith("-"):
            expects_value = word in OPTIONS_WITH_VALUE and "=" not in word
        elif index and argv[index - 1] == "--parallel" and word.isdigit():
            continue  # --parallel takes an optional N
        elif word in SUBCOMMANDS:
            return index
        else:
            raise InputError(f"unknown command {word!r}; commands: {', '.join(SUBCOMMANDS)} "
                             "(or --task PATH to run a batch; see benchtui --help)")
    return None


def resume_command(batch_id: str, output: Path | str | None) -> str:
    """The shell command that continues ``batch_id`` (``--output`` when the results are not in the default folder)."""
    return f"benchtui --resume {batch_id}" + (f" --output {output}" if output else "")


def fail(message: str) -> int:
    from benchtui.engine.textsafety import strip_control

    print(f"benchtui: error: {strip_control(message)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def load_catalog(config_arg: str | None) -> tuple[ModelsConfig, Catalog]:
    from benchtui import paths
    from benchtui.engine.config import load_config
    from benchtui.engine.discovery import discover

    config = load_config(paths.find_config_file(config_arg))
    return config, discover(config)


def results_root(output: str | None) -> Path:
    from benchtui import paths

    return Path(output) if output else paths.default_results_dir()


def run_headless(args: argparse.Namespace) -> int:
    from benchtui.engine.errors import InputError

    try:
        runner, notes = prepare_batch(args)
    except InputError as exc:
        return fail(str(exc))
    return execute(runner, notes)


def check_batch_flags(args: argparse.Namespace) -> None:
    """The numbers both faces take from the command line (raises InputError)."""
    from benchtui.engine.errors import InputError

    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise InputError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    if args.repeats < 1:
        raise InputError(f"--repeats must be at least 1, got {args.repeats}")
    if args.parallel is not None and args.parallel < 0:
        raise InputError(f"--parallel must be 0 (each endpoint's default) or more, got {args.parallel}")


def prepare_batch(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """Build the BatchRunner for a new or resumed batch from the command line (raises InputError)."""
    from benchtui.engine.batches import new_batch, resume_batch
    from benchtui.engine.discovery import select_models
    from benchtui.engine.errors import InputError
    from benchtui.engine.runner import BatchOptions
    from benchtui.engine.store import ResultsStore
    from benchtui.engine.tasks import load_tasks

    check_batch_flags(args)
    store = ResultsStore(results_root(args.output))
    config, catalog = load_catalog(args.config)
    notes = list(catalog.notes)
    if args.resume:
        runner, more = resume_batch(store, config, catalog, args.resume, args.parallel)
        return runner, notes + more
    if not args.task:
        raise InputError("--task is required with --no-ui (a task file or a folder of tasks)")
    tasks = load_tasks(args.task)
    models, more = select_models(catalog, args.models, args.category)
    options = BatchOptions(parallel=args.parallel, timeout_s=args.timeout, repeats=args.repeats,
                           embedded_threads=config.embedded_threads)
    return new_batch(store, config, catalog, tasks, models, options), notes + more


def execute(runner: Any, notes: list[str]) -> int:
    """Run a prepared batch headless: live table, Ctrl-C handling, summary, exit code."""
    from rich.console import Console

    from benchtui.headless import HeadlessDisplay, summary

    # Piped output (CI logs, files) is not cut at 80 columns: paths and resume commands stay whole.
    console = Console() if sys.stdout.isatty() else Console(width=160, soft_wrap=True)
    for note in notes:
        console.print(f"[yellow]•[/] {note}")
    display = HeadlessDisplay(console)
    runner.sink = display
    cancel: threading.Event = runner.cancel
    interrupts = {"count": 0}

    def on_signal(signum: int, frame: object) -> None:
        interrupts["count"] += 1
        if interrupts["count"] > 1:
            os._exit(EXIT_INTERRUPTED)
        cancel.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = runner.run()
    finally:
        display.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    names = {m.key: m.display_name for m in runner.models}
    if outcome.results:
        console.print(summary(outcome.results, names, console.width))
    else:
        console.print("No run finished, so there is nothing to rank yet.")
    console.print(f"Results: {outcome.batch.path}")
    for report in outcome.reports:
        console.print(f"  {report.name}")
    if outcome.status == "interrupted":
        again = resume_command(outcome.batch.batch_id, runner.store.root)
        console.print(f"[yellow]Interrupted.[/] Resume with: {again}")
        return EXIT_INTERRUPTED
    if outcome.status == "error":
        return EXIT_INTERNAL
    return EXIT_OK
