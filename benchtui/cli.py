"""The command line: ``benchtui`` opens the TUI; ``--no-ui`` runs headless; subcommands for the rest.

Imports are deferred so ``benchtui --help`` stays fast and the headless path never imports Textual.
Exit codes (design §5b): 0 batch finished, 2 bad input, 3 interrupted (resumable), 1 internal error.
"""

from __future__ import annotations

import argparse
import difflib
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
    parser.add_argument("--no-ui", action="store_true",
                        help="run headless: a live progress table in a terminal, one line per started and "
                        "finished run when the output is piped")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


class ReaderGone(Exception):
    """Stdout's reader closed the pipe (``benchtui models | head -1``)."""


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except (BrokenPipeError, ReaderGone):
        # The reader has all it wanted: quiet, and exit 0 like other Unix tools. Stdout goes to /dev/null
        # so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _main(argv: list[str]) -> int:
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


# Options of the subcommands that may stand before them (`benchtui --output DIR history`); each takes a value
# except --open.
SUBCOMMAND_OPTIONS = {"--config": "one", "--output": "one", "--open": "none"}


def known_options() -> dict[str, str]:
    """Every option the command line knows and what follows it: ``none``, ``one`` value or an ``optional`` one."""
    arity = dict(SUBCOMMAND_OPTIONS)
    for action in build_parser()._actions:
        kind = "none" if action.nargs == 0 else "optional" if action.nargs == "?" else "one"
        arity.update(dict.fromkeys(action.option_strings, kind))
    return arity


def _option(word: str, known: dict[str, str]) -> str:
    """The option ``word`` names (argparse's unambiguous abbreviations included); raises InputError naming it."""
    from benchtui.engine.errors import InputError

    name = word.split("=", 1)[0]
    if name in known:
        return name
    prefixed = [option for option in known if name.startswith("--") and option.startswith(name)]
    if len(prefixed) == 1:
        return prefixed[0]
    close = difflib.get_close_matches(name, [o for o in known if o.startswith("--")], n=1, cutoff=0.6)
    guess = f"; did you mean {close[0]}?" if close else ""
    raise InputError(f"unknown option {name!r}{guess} (see benchtui --help)")


def _is_negative_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def find_subcommand(argv: list[str]) -> int | None:
    """Where the subcommand stands in ``argv`` (the first word that is no option's value), or None.

    Raises InputError naming the culprit: an unknown option (a misspelt flag, with the closest real one), a
    value --parallel cannot take, or a word that is neither a subcommand nor an option's value."""
    from benchtui.engine.errors import InputError

    known = known_options()
    expects_value = False
    for index, word in enumerate(argv):
        if expects_value:
            expects_value = False
        elif (index and argv[index - 1] == "--parallel" and word not in SUBCOMMANDS
              and (not word.startswith("-") or _is_negative_number(word))):
            if not word.lstrip("-").isdigit():  # --parallel takes an optional N (a negative one is argparse's)
                raise InputError(f"--parallel takes a whole number N (or nothing), got {word!r}")
        elif _is_negative_number(word):
            continue  # argparse's to refuse
        elif word.startswith("-") and word != "-":
            if word == "--":
                return None
            expects_value = known[_option(word, known)] == "one" and "=" not in word
        elif word in SUBCOMMANDS:
            return index
        else:
            raise InputError(f"unknown command {word!r}; commands: {', '.join(SUBCOMMANDS)} "
                             "(or --task PATH to run a batch; see benchtui --help)")
    return None


def resume_command(batch_id: str, output: Path | str | None, *, no_ui: bool = False) -> str:
    """The shell command that continues ``batch_id`` (``--output`` when the results are not in the default folder;
    ``--no-ui`` to continue headless, as a headless batch was started)."""
    return (f"benchtui --resume {batch_id}" + (f" --output {output}" if output else "")
            + (" --no-ui" if no_ui else ""))


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
    from benchtui.engine.tasks import load_tasks, runnable_tasks

    check_batch_flags(args)
    store = ResultsStore(results_root(args.output))
    config, catalog = load_catalog(args.config)
    notes = list(catalog.notes)
    if args.resume:
        runner, more = resume_batch(store, config, catalog, args.resume, args.parallel)
        return runner, notes + more
    if not args.task:
        raise InputError("--task is required with --no-ui (a task file or a folder of tasks)")
    tasks, skipped = runnable_tasks(load_tasks(args.task))
    notes += skipped
    models, more = select_models(catalog, args.models, args.category)
    options = BatchOptions(parallel=args.parallel, timeout_s=args.timeout, repeats=args.repeats,
                           embedded_threads=config.embedded_threads)
    return new_batch(store, config, catalog, tasks, models, options), notes + more


def execute(runner: Any, notes: list[str]) -> int:
    """Run a prepared batch headless: live table, Ctrl-C handling, summary, exit code."""
    from benchtui.commands import stdout_console
    from benchtui.headless import HeadlessDisplay, summary

    # Piped output (CI logs, files) is not cut at 80 columns: paths and resume commands stay whole.
    console = stdout_console(piped_width=160)
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
    interrupted = outcome.status == "interrupted"
    if interrupted:
        planned = len(display.board.rows)
        # Said first: the rankings that follow cover only part of the batch.
        console.print(f"[yellow]Interrupted[/] after {len(outcome.results)} of {planned} run(s) finished; "
                      "the rankings below cover only those." if outcome.results
                      else "[yellow]Interrupted.[/] No run finished, so there is nothing to rank yet.")
    if outcome.results:
        console.print(summary(outcome.results, names, console.width))
    elif not interrupted:
        console.print("No run finished, so there is nothing to rank yet.")
    console.print(f"Results: {outcome.batch.path}")
    for report in outcome.reports:
        console.print(f"  {report.name}")
    if interrupted:
        again = resume_command(outcome.batch.batch_id, runner.store.root, no_ui=True)
        console.print(f"Resume with: {again}")
        return EXIT_INTERRUPTED
    if outcome.status == "error":
        return EXIT_INTERNAL
    return EXIT_OK
