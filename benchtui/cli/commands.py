"""Subcommands: ``models``, ``tasks list|validate``, ``report``, ``history``, ``compare``. Headless; never Textual."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, cast

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from benchtui.cli.common import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, ReaderGone, fail, load_catalog, results_root
from benchtui.cli.importing import add_import_parser, import_tasks
from benchtui.engine.errors import InputError
from benchtui.present.format import created, plural

WIDE = 120  # columns from which the long cells (commands, paths, endpoints) get their own column
PIPED_WIDTH = 1000  # piped output is read by programs and people with wide windows: never cut


class _StdoutConsole(Console):
    def on_broken_pipe(self) -> None:
        # rich would exit 1; a reader that stopped reading (`| head -1`) is not an error.
        raise ReaderGone


class _TrimmedLines:
    """A pipe that drops the spaces rich pads each table line with to the console's width: piped output is
    read by programs and diffed, where hundreds of trailing spaces are noise."""

    def __init__(self, stream: Callable[[], IO[str]]) -> None:
        self._stream = stream  # looked up on each write: tests (and callers) swap sys.stdout
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        if lines:
            self._stream().write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        # rich ends every print with a newline: a partial line is rare, and is written as it is.
        if self._partial:
            self._stream().write(self._partial)
            self._partial = ""
        self._stream().flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return getattr(self._stream(), "encoding", None) or "utf-8"


def stdout_console(piped_width: int = PIPED_WIDTH) -> Console:
    """The console for stdout: the terminal's width there; wide and unwrapped when piped, so that tables keep
    their headers (``Solution passes``, not ``Solut…``) and lines their paths, with no trailing spaces."""
    if sys.stdout.isatty():
        return _StdoutConsole()
    return _StdoutConsole(file=cast(IO[str], _TrimmedLines(lambda: sys.stdout)), width=piped_width, soft_wrap=True)


def stderr_console() -> Console:
    """The console for notes and warnings (Ollama not reachable, a task that cannot run here): stderr, so that
    stdout holds only what was asked for (``benchtui models | head -1`` is the table's first line)."""
    if sys.stderr.isatty():
        return Console(stderr=True)
    return Console(file=cast(IO[str], _TrimmedLines(lambda: sys.stderr)), width=PIPED_WIDTH, soft_wrap=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchtui")
    sub = parser.add_subparsers(dest="command", required=True)
    models = sub.add_parser(
        "models",
        help="list every model benchtui can see, and why some are unavailable",
        description="Every model benchtui can see (configured, on Ollama, embedded), "
        "with size, categories, and why an unavailable one cannot run.",
    )
    models.add_argument("--config", metavar="FILE", help="models config (default: ./models_config.yaml)")
    tasks = sub.add_parser(
        "tasks", help="list, validate or import tasks", description="List, validate or import tasks."
    )
    tasks_sub = tasks.add_subparsers(dest="action", required=True)
    for action, about in (
        ("list", "the tasks under PATH (default: tasks)"),
        (
            "validate",
            "prove each task: the start fails its check, the solution passes it, "
            "editing only the check files fails, the check runs in time",
        ),
    ):
        p = tasks_sub.add_parser(action, help=about, description=about[0].upper() + about[1:] + ".")
        p.add_argument("paths", nargs="*", default=["tasks"], metavar="PATH", help="task files or folders")
    add_import_parser(tasks_sub)
    report = sub.add_parser(
        "report",
        help="rebuild a batch's reports from its results",
        description="Rebuild comparison_report.json, .csv and .html of a batch from its results.",
    )
    report.add_argument("batch_id", metavar="BATCH", help="a batch id (see benchtui history) or a batch folder")
    report.add_argument("--output", metavar="DIR", help="results folder (default: the user data folder)")
    report.add_argument("--open", action="store_true", help="open the HTML report in a browser")
    history = sub.add_parser("history", help="list past batches", description="Past batches, newest first.")
    history.add_argument("--output", metavar="DIR", help="results folder (default: the user data folder)")
    compare = sub.add_parser(
        "compare",
        help="what improved and what regressed from one batch to another",
        description="Compare batch A (before) with batch B (after) on the contestants and tasks both ran: "
        "per contestant and per task, the changes that are significant. Writes compare_A_vs_B.json and .html "
        "into B's folder. Exits 1 when a success rate regressed significantly.",
    )
    compare.add_argument(
        "batch_a", metavar="BATCH_A", help="the earlier batch: an id (see benchtui history) or a folder"
    )
    compare.add_argument("batch_b", metavar="BATCH_B", help="the later batch: an id or a folder")
    compare.add_argument("--output", metavar="DIR", help="results folder (default: the user data folder)")
    compare.add_argument("--open", action="store_true", help="open the HTML comparison in a browser")
    from benchtui.cli import assistants

    assistants.add_parser(sub)
    args = parser.parse_args(argv)
    console = stdout_console()
    try:
        if args.command == "models":
            return list_models(console, args.config)
        if args.command == "tasks" and args.action in ("import", "install-jest"):
            return import_tasks(console, args)
        if args.command == "tasks":
            return list_tasks(console, args.paths) if args.action == "list" else validate_tasks(console, args.paths)
        if args.command == "report":
            return rebuild_report(console, args.batch_id, args.output, args.open)
        if args.command == "compare":
            return compare_two(console, args.batch_a, args.batch_b, args.output, args.open)
        if args.command == "assistants":
            return assistants.main(console, args)
        return show_history(console, args.output)
    except InputError as exc:
        return fail(str(exc))


def list_models(console: Console, config_arg: str | None) -> int:
    config, catalog = load_catalog(config_arg)
    wide = console.width >= WIDE
    table = Table(title="Models", box=box.SIMPLE_HEAD, show_edge=False)
    # The model name is what --models takes: it is never cut; everything else folds.
    table.add_column("Model", no_wrap=True)
    table.add_column("Provider", no_wrap=True)
    table.add_column("Size", no_wrap=True)
    if wide:
        table.add_column("Categories", ratio=1)
        table.add_column("Endpoint", overflow="fold")
    table.add_column("Status", overflow="fold", ratio=2)
    for spec in sorted(catalog.models, key=lambda m: (not m.available, m.provider, m.key)):
        size = (
            " · ".join(
                str(v)
                for v in (
                    spec.details.get("parameter_size"),
                    spec.details.get("quantization"),
                    _disk_size(spec.details.get("size_bytes")) if spec.details.get("size_bytes") else None,
                )
                if v
            )
            or "—"
        )
        where = spec.base_url or ("in-process" if spec.provider == "embedded" else "")
        if spec.pool:  # a pool of endpoints (docs/SCALE.md): every one of them
            where = ", ".join(endpoint.base_url for endpoint in spec.pool)
        if spec.gguf is not None:
            where = f"in-process, {spec.gguf}"
        status = (
            Text("available", style="green")
            if spec.available
            else Text(f"unavailable: {spec.unavailable_reason}", style="dim")
        )
        if spec.provider == "embedded" and spec.details.get("family"):
            status.append(f"\n{embedded_facts(spec.details)}", style="dim")
        categories = ", ".join(spec.categories)
        if wide:
            table.add_row(spec.key, spec.provider, size, categories, where, status)
        else:  # the categories go under the status, dim
            status.append(f"\ncategories: {categories}" if categories else "", style="dim")
            table.add_row(spec.key, spec.provider, size, status)
    warnings = stderr_console()
    for note in catalog.notes:
        warnings.print(Text.assemble(("• ", "yellow"), note))
    console.print(table)
    hosts = ", ".join(config.ollama_hosts or (config.ollama_host,))
    ollama = hosts if config.ollama_enabled else f"off (ollama.enabled is false in {config.path})"
    console.print(Text(f"Config: {config.path or 'none (built-in defaults)'}\nOllama: {ollama}"))
    return EXIT_OK


def embedded_facts(details: Mapping[str, Any]) -> str:
    """What an embedded model's GGUF says: architecture, trained context, whether its template has tools."""
    supports = details.get("supports_tools")
    if supports is None:
        tools = "tool calls: unknown (no chat template)"
    else:
        tools = "tool calls: yes" if supports else "tool calls: no (the chat template names no tools)"
    context = details.get("context_length")
    trained = f"trained context {context}" if context else "trained context unknown"
    return f"{details.get('family')} · {trained} · {tools}"


def _disk_size(size: object) -> str:
    """Bytes as Ollama shows them (``4.7 GB``); ``—`` when unknown."""
    if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def list_tasks(console: Console, paths: list[str]) -> int:
    from benchtui.engine.tasks import load_tasks

    tasks = load_tasks(paths)  # in the order batches and validate use: see load_tasks
    # The id is what --task users look for: never cut. The check and the file only where there is room.
    wide = console.width >= WIDE
    table = Table(title=f"{len(tasks)} task(s)", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("Level", no_wrap=True)
    table.add_column("Id", no_wrap=True)
    table.add_column("Title", ratio=1)
    for column in ("Turns", "Timeout", "Hints"):
        table.add_column(column, no_wrap=True, justify="right")
    if wide:
        table.add_column("Check", ratio=1)
        table.add_column("File", overflow="fold")
    for task in tasks:
        row = [task.difficulty, task.id, task.title, str(task.max_turns), f"{task.timeout_s:g} s", str(len(task.hints))]
        table.add_row(
            *row, *([task.check, _relative(task.path)] if wide else []), style=None if task.available else "dim"
        )
    console.print(table)
    warnings = stderr_console()
    for task in tasks:
        if not task.available:
            warnings.print(Text(f"• {task.id} cannot run here: {task.unavailable_reason}", style="yellow"))
    return EXIT_OK


def validate_tasks(console: Console, paths: list[str]) -> int:
    from benchtui.engine.errors import TaskError
    from benchtui.engine.tasks import load_tasks
    from benchtui.engine.validate import validate_task

    broken: list[TaskError] = []
    tasks = load_tasks(paths, errors=broken)  # a broken file is a finding, not a reason to stop
    unloaded = f", {plural(len(broken), 'file')} could not be loaded" if broken else ""
    table = Table(title=f"Validating {plural(len(tasks), 'task')}{unloaded}", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("Task", no_wrap=True)
    for column in ("Start fails", "Solution passes", "Check-edit fails", "In time", "Slowest check", "Verdict"):
        table.add_column(column, justify="center")
    problems: list[str] = [str(error) for error in broken]

    def mark(value: bool | None) -> Text:
        return (
            Text("—", style="dim")
            if value is None
            else Text("yes", style="green")
            if value
            else Text("NO", style="bold red")
        )

    skipped = [task for task in tasks if not task.available]
    for task in tasks:
        if not task.available:  # not a fault of the task: this machine lacks the check's program
            table.add_row(
                f"{task.difficulty}/{task.id}", *([Text("—", style="dim")] * 5), Text("skipped", style="yellow")
            )
            continue
        report = validate_task(task)
        problems.extend(f"{task.difficulty}/{task.id}: {problem}" for problem in report.problems)
        verdict = Text("ok", style="green") if report.ok else Text("FAILED", style="bold red")
        table.add_row(
            f"{task.difficulty}/{task.id}",
            mark(report.start_fails),
            mark(report.solution_passes),
            mark(report.check_edit_fails),
            mark(report.within_timeout),
            f"{report.slowest_check_s:.2f} s",
            verdict,
        )
    if tasks:
        console.print(table)
    else:  # a title over an empty table says nothing the problems below do not
        console.print(f"No task to validate: {plural(len(broken), 'file')} could not be loaded.")
    for problem in problems:
        first, *excerpt = problem.splitlines()  # the check's own lines, under the finding
        console.print(Text(f"✗ {first}", style="red"))
        for line in excerpt:
            console.print(Text(line), highlight=False)
    for task in skipped:
        console.print(Text(f"• {task.difficulty}/{task.id} not validated: {task.unavailable_reason}", style="yellow"))
    if problems:
        console.print(Text(f"{len(problems)} problem(s) found", style="red"))
        return EXIT_INTERNAL
    validated = len(tasks) - len(skipped)
    if skipped and not validated:
        console.print(Text(f"No task validated: {plural(len(skipped), 'task')} cannot run here", style="yellow"))
        return EXIT_OK
    left = f"; {plural(len(skipped), 'task')} not validated (cannot run here)" if skipped else ""
    console.print(f"[green]All {plural(validated, 'task')} valid[/]{left}")
    return EXIT_OK


def rebuild_report(console: Console, batch_id: str, output: str | None, open_it: bool) -> int:
    from benchtui.engine.reports import write_reports
    from benchtui.engine.store import ResultsStore

    batch = ResultsStore(results_root(output)).open_batch(batch_id)
    written = write_reports(batch)
    for path in written:
        console.print(str(path))
    html = next((p for p in written if p.suffix == ".html"), None)
    if open_it and html is not None and not webbrowser.open(html.resolve().as_uri()):
        console.print(Text(f"No browser could be started here; open {html} yourself.", style="yellow"))
    return EXIT_OK if written else EXIT_BAD_INPUT


def compare_two(console: Console, a_ref: str, b_ref: str, output: str | None, open_it: bool) -> int:
    from benchtui.engine.reports.comparison import compare_and_write
    from benchtui.engine.store import ResultsStore
    from benchtui.present import comparison as shown

    store = ResultsStore(results_root(output))
    result = compare_and_write(store, a_ref, b_ref)  # InputError: nothing in common, among others
    data = result.data
    title = f"{data['a']['batch_id']} → {data['b']['batch_id']}"
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False)
    for key, label in shown.COLUMNS.items():
        # The contestant is what --models takes: never cut.
        table.add_column(label, no_wrap=key in ("model", "p", "verdict"), justify="right" if key == "p" else "left")
    for row in shown.contestant_rows(data):
        table.add_row(*(row[key] for key in shown.COLUMNS))
    if data["contestants"]:
        console.print(table)
    for line in shown.change_lines(data):
        console.print(line)
    for note in shown.notes(data):
        console.print(Text(note, style="dim" if note.startswith("Compared") else "yellow"))
    for path in result.paths:
        console.print(str(path))
    if open_it and not webbrowser.open(result.html.resolve().as_uri()):
        console.print(Text(f"No browser could be started here; open {result.html} yourself.", style="yellow"))
    return EXIT_INTERNAL if shown.regressed(data) else EXIT_OK


def show_history(console: Console, output: str | None) -> int:
    from benchtui.engine.store import ResultsStore

    store = ResultsStore(results_root(output))
    batches = store.list_batches()
    if not batches:
        console.print(f"No batches in {store.root} yet. Start one with: benchtui --task PATH --no-ui")
        return EXIT_OK
    wide = console.width >= WIDE
    table = Table(title=f"Batches in {store.root}", box=box.SIMPLE_HEAD, show_edge=False)
    # The batch id is what --resume and report need: it is never cut. What ran goes under it when narrow.
    table.add_column("Batch", min_width=max(len(info.batch_id) for info in batches), overflow="fold")
    table.add_column("Created", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Passed", no_wrap=True, justify="right")
    if wide:
        table.add_column("Tasks × models", ratio=1)
    for info in batches:
        status = "running" if info.alive else info.status
        passed = f"{info.passed}/{info.finished}" + (f" of {info.planned}" if info.planned != info.finished else "")
        what = f"{' '.join(info.tasks)} × {' '.join(info.models)}"
        if wide:
            table.add_row(info.batch_id, created(info.created_at), status, passed, what)
        else:
            table.add_row(Text.assemble(info.batch_id, ("\n" + what, "dim")), created(info.created_at), status, passed)
    console.print(table)
    where = f" --output {output}" if output else ""
    console.print(
        Text(
            f"Resume one: benchtui --resume BATCH --no-ui{where} · rebuild its reports: benchtui report BATCH{where}",
            style="dim",
        )
    )
    return EXIT_OK


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
