"""What every face of the command line shares: exit codes, the error line, the catalog, the results root.

Cheap to import (``benchtui --help`` loads it): the engine is imported inside the functions that need it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from benchtui.present.exits import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK

if TYPE_CHECKING:
    from benchtui.engine.config import ModelsConfig
    from benchtui.engine.discovery import Catalog
    from benchtui.engine.executors import Executor
    from benchtui.engine.runner import BatchOptions

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "ReaderGone",
    "batch_options_from",
    "check_batch_flags",
    "executor_from",
    "fail",
    "load_catalog",
    "results_root",
    "resume_command",
]


class ReaderGone(Exception):
    """Stdout's reader closed the pipe (``benchtui models | head -1``)."""


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


def resume_command(batch_id: str, output: Path | str | None, *, no_ui: bool = False, executor: object = None) -> str:
    """The shell command that continues ``batch_id`` (``--output`` when the results are not in the default folder;
    ``--no-ui`` to continue headless, as a headless batch was started; the executor's flags, so a batch started
    on a Ray cluster goes on there)."""
    return (
        f"benchtui --resume {batch_id}"
        + (f" --output {output}" if output else "")
        + (" --no-ui" if no_ui else "")
        + executor_flags(executor)
    )


def executor_flags(executor: object) -> str:
    """The command-line flags that ask for ``executor`` again: none for the thread pool (the default)."""
    import shlex

    if getattr(executor, "name", "local") != "ray":
        return ""
    flags = " --executor ray"
    address = getattr(executor, "address", None)
    if address:  # given as --ray-address; one from RAY_ADDRESS is found there again
        flags += f" --ray-address {shlex.quote(str(address))}"
    cpus = getattr(executor, "cpus_per_run", 1.0)
    if cpus != 1.0:
        flags += f" --ray-cpus-per-run {cpus:g}"
    return flags


def check_batch_flags(args: argparse.Namespace) -> None:
    """The numbers both faces take from the command line, by the rules the Models screen applies (raises
    InputError)."""
    from benchtui.engine.errors import InputError
    from benchtui.present.options import option_problem

    for name, value in (("timeout", args.timeout), ("repeats", args.repeats), ("parallel", args.parallel)):
        problem = option_problem(name, value)
        if problem is not None:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            raise InputError(f"--{name} {problem}, got {shown}")


def executor_from(args: argparse.Namespace) -> Executor:
    """The executor ``--executor`` asks for (raises InputError: Ray not installed, --ray-address without it).
    Ray itself is imported only here, and only for ``--executor ray``."""
    from benchtui.engine.errors import InputError
    from benchtui.engine.executors import make_executor

    name = getattr(args, "executor", None) or "local"
    address = getattr(args, "ray_address", None)
    cpus = getattr(args, "ray_cpus_per_run", None)
    if (address or cpus is not None) and name != "ray":
        raise InputError(f"{'--ray-address' if address else '--ray-cpus-per-run'} needs --executor ray")
    if cpus is not None and not cpus > 0:
        raise InputError(f"--ray-cpus-per-run must be more than 0, got {cpus:g}")
    return make_executor(name, address=address, cpus_per_run=1.0 if cpus is None else cpus)


def batch_options_from(args: argparse.Namespace, config: ModelsConfig) -> BatchOptions:
    """The BatchOptions the command line asks for (checked first with check_batch_flags)."""
    from dataclasses import replace

    from benchtui.present.options import batch_options

    options = batch_options(config, parallel=args.parallel, timeout_s=args.timeout, repeats=args.repeats)
    return replace(options, preset=getattr(args, "preset", None))
