"""The command line: ``benchtui`` opens the TUI; ``--no-ui`` runs headless; subcommands for the rest.

This module parses and dispatches: ``cli.tui`` opens the app, ``cli.headless`` runs a batch without it,
``cli.commands`` holds the subcommands, ``cli.common`` what they share (exit codes: see present/exits.py).
The faces are imported when chosen, so ``benchtui --help`` stays fast and the headless path never imports
Textual; none of them imports this module back.
"""

from __future__ import annotations

import argparse
import os
import sys

from benchtui.cli.common import EXIT_OK, ReaderGone, fail

SUBCOMMANDS = ("models", "tasks", "report", "history", "compare", "assistants")
# --parallel's per-endpoint defaults, as engine/endpoints.py and engine/embedded.py set them. Copied, not
# imported: --help must not load the engine (tests/test_boundaries.py); tests/test_headless.py checks that
# these are the engine's own numbers.
PARALLEL_DEFAULTS = {"Ollama": 1, "cloud": 4, "embedded": 2}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchtui",
        description="Run the same coding task on many AI models and compare them. "
        "Without --no-ui it opens the full-screen app.",
        epilog="Subcommands: benchtui models | tasks list|validate [PATH...] | report BATCH_ID [--open] | history"
        " | compare BATCH_A BATCH_B [--open] | assistants [install NAME|all]",
    )
    parser.add_argument(
        "--task", action="append", metavar="PATH", help="task file or folder of tasks (repeat for several)"
    )
    parser.add_argument(
        "--models",
        default="all",
        metavar="NAMES",
        help="'all' (default) or comma-separated model names (e.g. llama3,gpt-4o)",
    )
    parser.add_argument("--category", metavar="NAME", help="only models of this category (fast, balanced, ...)")
    parser.add_argument(
        "--assistants",
        metavar="NAMES",
        help="comma-separated coding assistants, each run on every model: benchtui (its own loop, the "
        "default), aider, mini-swe-agent, ... or all (see benchtui assistants)",
    )
    parser.add_argument("--output", metavar="DIR", help="results folder (default: the user data folder)")
    parser.add_argument(
        "--parallel",
        nargs="?",
        type=int,
        const=0,
        default=None,
        metavar="N",
        help="run models in parallel; N caps concurrent runs per endpoint (without N, or 0: each endpoint's "
        "default: " + ", ".join(f"{kind} {n}" for kind, n in PARALLEL_DEFAULTS.items()) + " server slots, fewer "
        "if memory is short)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="max time per model run (default 1800; a task's own timeout wins when smaller)",
    )
    parser.add_argument("--repeats", type=int, default=1, metavar="N", help="runs per task and model (default 1)")
    parser.add_argument("--resume", metavar="BATCH_ID", help="resume an interrupted batch")
    parser.add_argument("--config", metavar="FILE", help="models config (default: ./models_config.yaml)")
    parser.add_argument(
        "--no-ui",
        action="store_true",
        help="run headless: a live progress table in a terminal, one line per started and "
        "finished run when the output is piped",
    )
    parser.add_argument(
        "--preset",
        choices=["polyglot"],
        default=None,
        help="run the tasks as a published benchmark does: polyglot = Aider's polyglot benchmark "
        "(2 turns with the test output between them, no hints, each check limited to the exercise's "
        "own test timeout); recorded in the batch and its reports",
    )
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="where runs are played: local = threads in this process (default); ray = one Ray task per run "
        "on the cluster at --ray-address or RAY_ADDRESS, else on a local Ray started for the batch "
        "(pip install 'benchtui[ray]'; docs/SCALE.md)",
    )
    parser.add_argument(
        "--ray-address", metavar="ADDR", help="the Ray cluster for --executor ray (default: RAY_ADDRESS)"
    )
    parser.add_argument(
        "--ray-cpus-per-run",
        type=float,
        default=None,
        metavar="N",
        help="CPUs Ray reserves for each run (default 1): a node plays at most its CPUs ÷ N runs at once",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


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
        from benchtui.cli import commands

        # `benchtui --config FILE models` means `benchtui models --config FILE`.
        return commands.main(argv[subcommand_at:] + argv[:subcommand_at])
    args = build_parser().parse_args(argv)
    if args.version:
        from benchtui import __version__

        print(f"benchtui {__version__}")
        return EXIT_OK
    if not args.no_ui:
        from benchtui.cli.tui import run_tui

        return run_tui(args)
    from benchtui.cli.headless import run_headless

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
    import difflib  # only a misspelt option needs it: `benchtui --help` does not

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
        elif (
            index
            and argv[index - 1] == "--parallel"
            and word not in SUBCOMMANDS
            and (not word.startswith("-") or _is_negative_number(word))
        ):
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
            raise InputError(
                f"unknown command {word!r}; commands: {', '.join(SUBCOMMANDS)} "
                "(or --task PATH to run a batch; see benchtui --help)"
            )
    return None
