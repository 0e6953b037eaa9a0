"""``benchtui`` without ``--no-ui``: load the config, the catalog and the store, then run BenchApp.

Textual is imported here, lazily, so the headless path never loads it. Exit codes follow the CLI's:
0 done, 2 bad input (one line on stderr), 3 a batch was interrupted by quitting (it stays resumable).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from benchtui.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    batch_options_from,
    check_batch_flags,
    executor_from,
    fail,
    load_catalog,
    results_root,
    resume_command,
)

if TYPE_CHECKING:
    from benchtui.app import BenchApp


def run_tui(args: argparse.Namespace) -> int:
    from benchtui.engine.errors import InputError

    try:
        app = tui_app(args)
    except InputError as exc:
        return fail(str(exc))
    if not sys.stdout.isatty():
        print("benchtui: the full-screen app needs a terminal; use --no-ui for a headless run", file=sys.stderr)
        return EXIT_BAD_INPUT
    app.run()
    outcome = app.last_outcome
    if app.return_code == EXIT_INTERRUPTED and outcome is not None:
        # Back in the shell, the batch id is all a user needs to carry on.
        executor = getattr(app.session.runner, "executor", None)
        print(
            f"Batch {outcome.batch.batch_id} interrupted; resume it from History in benchtui, or with: "
            f"{resume_command(outcome.batch.batch_id, args.output, executor=executor)}"
        )
    return app.return_code or 0


def tui_app(args: argparse.Namespace) -> BenchApp:
    """The app the command line asks for (raises InputError): tasks named by --task are loaded here, once, to
    refuse a broken one before the screen opens, and start marked."""
    from benchtui.app import BenchApp
    from benchtui.engine.assistants import pairs
    from benchtui.engine.discovery import select_models
    from benchtui.engine.store import ResultsStore
    from benchtui.engine.tasks import Task, load_tasks

    check_batch_flags(args)
    executor_from(args)  # refuses --executor ray without Ray before the screen opens
    config, catalog = load_catalog(args.config)
    tasks: list[Task] | None = load_tasks(args.task) if args.task else None
    selected: list[str] = []
    if args.category or (args.models and args.models != "all"):
        models, _notes = select_models(catalog, args.models, args.category)
        selected = [m.key for m in models]
    assistants = pairs.parse(getattr(args, "assistants", None))
    pairs.cross([], assistants, config.assistants)  # refuses one that cannot run here, saying why
    return BenchApp(
        config=config,
        catalog=catalog,
        store=ResultsStore(results_root(args.output)),
        task_paths=args.task,
        tasks=tasks,
        options=batch_options_from(args, config),
        marked_tasks=[t.id for t in tasks or ()],
        selected_models=selected,
        resume=args.resume,
        selected_assistants=assistants,
        executor=None if getattr(args, "executor", "local") == "local" else lambda: executor_from(args),
    )
