"""The TUI driven end to end with Pilot against loopback model servers and a temporary results folder.

Each test builds the real BenchApp from its collaborators (a scripted Ollama, ``discover``, a
``ResultsStore`` in tmp_path), drives it with keys and clicks, waits for the batch worker, then
asserts on what the screens show (widget contents), not only that nothing crashed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from textual.widgets import DataTable, Input, Label, Markdown, RichLog, Static

from benchtui.app import BenchApp
from benchtui.engine.config import ModelsConfig, load_config
from benchtui.engine.discovery import discover
from benchtui.engine.events import (
    BatchFinished,
    BatchStarted,
    LogMessage,
    PlannedRun,
    RunFinished,
    RunStarted,
    RunUpdate,
)
from benchtui.engine.results import RunResult
from benchtui.engine.runner import BatchOptions, BatchOutcome
from benchtui.engine.store import ResultsStore
from benchtui.messages import EngineBatchStarted, EngineLog, EngineRunFinished, EngineRunStarted, TuiSink
from benchtui.present.board import RunBoard
from benchtui.present.format import one_line, safe_text
from benchtui.widgets.podium import Podium
from benchtui.widgets.progress_grid import ProgressGrid
from benchtui.widgets.run_detail import RunDetail, diff_text
from benchtui.widgets.sortable_table import SortableTable
from benchtui.widgets.task_tree import TaskTree
from tests.conftest import check_programs, skip_unless_installed
from tests.support.scripted import Script, ScriptedOllama, fixed, solution_reply
from tests.test_tui_snapshots import settle

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "tasks"
ADD_COMMENT = TASKS / "smoke" / "add_comment.md"
SIZE = (120, 36)
WAIT_S = 240.0  # two shared cores and other engineers' test runs: be generous

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def server() -> Iterator[ScriptedOllama]:
    scripted = ScriptedOllama(
        {
            "solver": Script(solution_reply(ADD_COMMENT)),
            "garbage": Script(fixed("no idea")),
        }
    ).start()
    yield scripted
    scripted.close()


def make_app(server: ScriptedOllama, root: Path, **kwargs: Any) -> BenchApp:
    config = ModelsConfig(path=None, ollama_host=server.url, embedded_enabled=False)
    catalog = discover(config, embedded=False)
    kwargs.setdefault("options", BatchOptions(timeout_s=120))
    kwargs.setdefault("task_paths", [TASKS])
    skip_unless_installed(*check_programs(*kwargs["task_paths"]))  # the shipped library's JS tasks need node
    return BenchApp(config=config, catalog=catalog, store=ResultsStore(root), **kwargs)


async def wait_for(pilot: Any, predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.1)


async def mark_task(pilot: Any, task_id: str) -> None:
    """On the Tasks screen: move the tree cursor to ``task_id`` with the arrow keys, press space."""
    tree = pilot.app.screen.query_one(TaskTree)
    tree.focus()
    node = tree.node_for(task_id)
    assert node is not None, task_id
    while tree.cursor_line < node.line:
        await pilot.press("down")
    while tree.cursor_line > node.line:
        await pilot.press("up")
    await pilot.press("space")


async def choose_category(pilot: Any, name: str) -> None:
    """On the Models screen: highlight ``name`` in the category list with the keyboard, then press c."""
    categories = pilot.app.screen.query_one("#categories")
    categories.focus()
    wanted = categories.get_option_index(f"cat:{name}")
    while categories.highlighted != wanted:
        await pilot.press("down")
    await pilot.press("c")


def cells(table: DataTable[Any], row: int) -> list[str]:
    return [str(getattr(cell, "plain", cell)) for cell in table.get_row_at(row)]


def column(table: DataTable[Any], name: str) -> list[str]:
    index = [str(getattr(c.label, "plain", c.label)).split(" ")[0] for c in table.ordered_columns].index(name)
    return [cells(table, row)[index] for row in range(table.row_count)]


def partial(fields: dict[str, Any]) -> RunResult:
    """A result with only the keys a test is about: the board and the sink read no others, so the test
    leaves out even the Required ones (task_id, model) that a stored result always has."""
    return cast(RunResult, fields)


def ended_outcome(app: BenchApp) -> BatchOutcome:
    """The outcome of the app's last batch, which must have ended by now."""
    outcome = app.last_outcome
    assert outcome is not None, "the batch has not ended"
    return outcome


def rendered(widget: Static | Label) -> str:
    content = widget.render()
    return str(getattr(content, "plain", content))


async def run_batch_to_results(pilot: Any) -> None:
    await pilot.press("r")
    await wait_for(pilot, lambda: pilot.app.current_mode == "run", "the Run screen")
    await wait_for(pilot, lambda: pilot.app.last_outcome is not None, "the batch to finish")
    await pilot.app.workers.wait_for_complete()
    await wait_for(pilot, lambda: pilot.app.current_mode == "results", "the Results screen")
    await pilot.pause(0.3)
    await settle(pilot)


@pytest.mark.anyio
async def test_whole_batch_pick_task_category_run_results_sort_export(server: ScriptedOllama, tmp_path: Path) -> None:
    app = make_app(server, tmp_path / "results")
    async with app.run_test(size=SIZE) as pilot:
        # Tasks: the library as a tree by level; the preview follows the cursor.
        assert app.current_mode == "tasks"
        await mark_task(pilot, "add_comment")
        assert app.session.marked_tasks == ["add_comment"]
        await pilot.pause(0.3)
        preview = app.screen.query_one("#task-markdown", Markdown)
        assert "Add a docstring to clamp()" in preview.source
        assert "1 task × 0 models" in rendered(app.screen.query_one("#tasks-summary", Label))

        # Models: select the whole detected category.
        await pilot.press("2")
        await pilot.pause()
        await choose_category(pilot, "ollama")
        assert sorted(app.session.selected_models) == ["ollama/garbage", "ollama/solver"]
        table = app.screen.query_one("#model-table", DataTable)
        assert column(table, "Model") == ["ollama/garbage", "ollama/solver"]
        assert set(column(table, "")) == {"◉"}
        assert "1 task × 2 models × 1 repeat = 2 runs" in rendered(app.screen.query_one("#models-summary", Label))
        # Before the batch: the widest 95 % interval one run gives a success rate: Wilson at 0/1 (one run
        # cannot pass half the time), z·√(z²/4) / (1 + z²) = z²/2 / (1 + z²) = 1.921 / 4.841 = 0.397: 0–79 %.
        assert "2 runs (success ±40 pts)" in rendered(app.screen.query_one("#models-summary", Label))

        # Run: the grid fills in, then Results opens by itself.
        await run_batch_to_results(pilot)
        board = app.board
        assert board is not None and board.status == "finished"
        # The run log opened with what the planned runs can tell.
        assert any(
            "Planned: 1 repeat × 1 task: each contestant's success rate to within ±40 points (1 run," in line.text
            for line in board.logs
        )
        assert {r.model_key: r.status for r in board.rows.values()} == {
            "ollama/solver": "passed",
            "ollama/garbage": "failed",
        }
        screen = app.screen
        assert "finished" in rendered(screen.query_one("#results-title", Label))
        assert "1st solver:latest" in rendered(screen.query_one("#podium-fastest", Podium))
        leaderboard = screen.query_one("#leaderboard", SortableTable)
        assert leaderboard.row_keys_in_order() == ["ollama/solver", "ollama/garbage"]  # the engine's order
        assert column(leaderboard, "Success") == ["100%", "0%"]
        # One run each cannot tell 100 % from 0 % (McNemar: p = 1): both are first, as every view says.
        assert column(leaderboard, "#") == ["=1", "=1"]
        assert "1st is a tie: solver:latest, garbage:latest" in rendered(screen.query_one("#repeats-note", Label))
        # Under it, which of the figures shown are means per run and which totals over the runs.
        legend = screen.query_one("#leaderboard-legend", Label)
        assert legend.display and rendered(legend).startswith("Per run (mean): Mean time, Prompts, Interv.")
        assert "totals over the runs: Malformed" in rendered(legend)

        # Sort: `s` moves the sort to the next column (#, then Model, ...); clicking a header sorts by it.
        leaderboard.focus()
        await pilot.press("s")
        assert leaderboard.sort_column == "rank"
        await pilot.press("s")
        assert leaderboard.sort_column == "name"
        assert leaderboard.row_keys_in_order() == ["ollama/garbage", "ollama/solver"]
        labels = [str(c.label) for c in leaderboard.ordered_columns]
        prompts_at = next(i for i, label in enumerate(labels) if label.startswith("Prompts"))
        x = sum(c.get_render_width(leaderboard) for c in leaderboard.ordered_columns[:prompts_at]) + 2
        await pilot.click("#leaderboard", offset=(x, 0))  # the "Prompts" header
        await pilot.pause()
        assert leaderboard.sort_column == "mean_prompts" and not leaderboard.sort_reverse
        assert leaderboard.row_keys_in_order() == ["ollama/solver", "ollama/garbage"]
        assert "Prompts ▲" in [str(c.label) for c in leaderboard.ordered_columns]
        await pilot.click("#leaderboard", offset=(x, 0))
        await pilot.pause()
        assert leaderboard.sort_reverse and leaderboard.row_keys_in_order() == ["ollama/garbage", "ollama/solver"]

        # Selecting a run shows its coloured diff and its transcript.
        runs = screen.query_one("#runs", SortableTable)
        runs.focus()
        solver_row = runs.row_keys_in_order().index("add_comment::ollama/solver::1")
        runs.move_cursor(row=solver_row)
        await pilot.press("enter")
        await pilot.pause()
        await settle(pilot)
        detail = screen.query_one(RunDetail)
        diff = detail.diff
        assert "passed" in diff.plain and '+    """' in diff.plain
        assert any(span.style == "green" for span in diff.spans)  # added lines are coloured
        assert '+    """' in screen.query_one("#detail-diff", Static).render().plain
        transcript = detail.transcript.plain
        assert "turn 1 · reply (assistant)" in transcript and "I will apply the fix." in transcript
        await pilot.press("z")  # the diff gets the whole screen, and gives it back
        await pilot.pause()
        assert screen.maximized is detail and detail.size.width >= SIZE[0] - 2
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is None and detail.size.width < SIZE[0] // 2

        # Export writes the reports and lists their paths.
        await pilot.press("e")
        await wait_for(pilot, lambda: bool(screen.exported), "the export")
        assert screen.exported
        for path in screen.exported:
            assert Path(path).is_file()
        assert any(p.endswith("comparison_report.json") for p in screen.exported)
        assert "Exported comparison_report.json" in rendered(screen.query_one("#export-status", Label))

        # History lists the batch as finished.
        await pilot.press("5")
        await pilot.pause()
        await settle(pilot)
        history = app.screen.query_one("#history-table", DataTable)
        assert history.row_count == 1
        assert cells(history, 0)[-2:] == ["1/2", "finished"]


@pytest.mark.anyio
async def test_message_a_running_model_and_cancel_a_run(tmp_path: Path) -> None:
    slow = ScriptedOllama({"slow": Script(fixed("I am still thinking about it. " * 4), chunk_delay_s=0.15)}).start()
    try:
        app = make_app(
            slow, tmp_path / "results", marked_tasks=["add_comment", "set_retries"], selected_models=["ollama/slow"]
        )
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: app.board is not None and any(r.running for r in app.board.rows.values()),
                "the first run to start",
            )
            board = app.board  # one board per batch: this one lives until the batch ends
            assert board is not None
            screen = app.screen
            grid = screen.query_one(ProgressGrid)
            grid.focus()
            first = next(r for r in board.rows.values() if r.running)
            grid.move_cursor(row=grid.get_row_index(first.run_id))
            await pilot.press("m")
            box = screen.query_one("#message", Input)
            assert app.focused is box and "ollama/slow · add_comment" in box.placeholder
            await pilot.press(*"Look at mathutils.py")
            await pilot.press("enter")
            await pilot.pause()
            assert first.typed_sent == 1
            assert "✉ 1" in cells(grid, grid.get_row_index(first.run_id))
            log_text = "\n".join(line.text for line in screen.query_one("#run-log", RichLog).lines)
            assert "to ollama/slow · add_comment: Look at mathutils.py" in log_text
            # The engine gives the message with the next prompt and counts it as an intervention.
            await wait_for(pilot, lambda: first.interventions >= 1, "the message to be counted")

            second_id = next(r.run_id for r in board.rows.values() if r.task_id == "set_retries")
            await wait_for(pilot, lambda: board.rows[second_id].running, "the second run to start")
            await pilot.press("escape")
            # m on a row that is not running goes to the running model, never leaves keys to the grid.
            grid.move_cursor(row=grid.get_row_index(first.run_id))
            await pilot.press("m")
            assert app.focused is box and "ollama/slow · set_retries" in box.placeholder
            await pilot.press("escape")
            grid.move_cursor(row=grid.get_row_index(second_id))
            await pilot.press("x")
            await wait_for(pilot, lambda: app.last_outcome is not None, "the batch to end")
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            assert board.rows[second_id].status == "cancelled"
            outcome = app.last_outcome
            assert outcome is not None and outcome.status == "finished"
            (result,) = outcome.results  # the cancelled run is not a result: a resume redoes it
            assert result["typed_interventions"] == 1 and result["human_interventions"] >= 1
    finally:
        slow.close()


@pytest.mark.anyio
async def test_quit_mid_batch_leaves_it_resumable_and_history_resumes_it(tmp_path: Path) -> None:
    results = tmp_path / "results"
    scripts = {"solver": Script(solution_reply(ADD_COMMENT), chunk_delay_s=0.2)}
    server = ScriptedOllama(scripts).start()
    try:
        app = make_app(server, results, marked_tasks=["add_comment", "set_retries"], selected_models=["ollama/solver"])
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: app.board is not None and any(r.running for r in app.board.rows.values()),
                "a run to start",
            )
            await pilot.press("q")
            await pilot.pause()
            assert type(app.screen).__name__ == "ConfirmScreen"
            await pilot.press("y")
            await wait_for(pilot, lambda: app.return_code is not None, "the app to exit", timeout=WAIT_S)
        assert app.return_code == 3
        (info,) = ResultsStore(results).list_batches()
        assert info.status == "interrupted" and info.finished < info.planned == 2

        # A new session: History shows the batch as interrupted, r resumes it on the Run screen.
        scripts["solver"].chunk_delay_s = 0.0
        app2 = make_app(server, results)
        async with app2.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            await pilot.pause()
            await settle(pilot)
            history = app2.screen.query_one("#history-table", DataTable)
            assert cells(history, 0)[0] == info.batch_id and cells(history, 0)[-1] == "interrupted"
            assert "r resumes it" in rendered(app2.screen.query_one("#history-detail", Static))
            await pilot.press("r")
            await wait_for(pilot, lambda: app2.current_mode == "run", "the Run screen")
            assert app2.board is not None
            await wait_for(pilot, lambda: app2.last_outcome is not None, "the resumed batch to finish")
            await app2.workers.wait_for_complete()
            await pilot.pause(0.3)
            await settle(pilot)
            assert app2.board.resumed and app2.board.status == "finished"
            assert ended_outcome(app2).batch.batch_id == info.batch_id
            assert app2.current_mode == "results"
            assert info.batch_id in rendered(app2.screen.query_one("#results-title", Label))
            await pilot.press("5")
            await pilot.pause()
            await settle(pilot)
            history = app2.screen.query_one("#history-table", DataTable)
            assert cells(history, 0)[-2:] == ["1/2", "finished"]
        (after,) = ResultsStore(results).list_batches()
        assert (after.status, after.finished, after.planned) == ("finished", 2, 2)
    finally:
        server.close()


@pytest.mark.anyio
async def test_cancel_batch_key_interrupts_it_and_resume_option_continues_it(tmp_path: Path) -> None:
    scripts = {"solver": Script(solution_reply(ADD_COMMENT), chunk_delay_s=0.2)}
    server = ScriptedOllama(scripts).start()
    try:
        app = make_app(server, tmp_path / "results", marked_tasks=["add_comment"], selected_models=["ollama/solver"])
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: app.board is not None and any(r.running for r in app.board.rows.values()),
                "a run to start",
            )
            assert app.board is not None
            await pilot.press("C")
            await pilot.pause()
            assert type(app.screen).__name__ == "ConfirmScreen"  # one key never drops the runs in flight unasked
            await pilot.press("n")
            await pilot.pause(0.3)
            assert app.last_outcome is None and app.board.active
            await pilot.press("C", "y")
            await wait_for(pilot, lambda: app.last_outcome is not None, "the batch to stop")
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            assert ended_outcome(app).status == "interrupted"
            assert app.current_mode == "run" and app.board.status == "interrupted"
            assert [r.status for r in app.board.rows.values()] == ["cancelled"]
            assert "interrupted" in rendered(app.screen.query_one("#run-title", Label))
        batch_id = ended_outcome(app).batch.batch_id

        # `benchtui --resume ID` opens straight on the Run screen and finishes the batch.
        scripts["solver"].chunk_delay_s = 0.0
        app2 = make_app(server, tmp_path / "results", resume=batch_id)
        async with app2.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app2.last_outcome is not None, "the resumed batch to finish")
            await app2.workers.wait_for_complete()
            await pilot.pause(0.3)
            outcome = ended_outcome(app2)
            assert outcome.status == "finished" and outcome.batch.batch_id == batch_id
            assert app2.board is not None
            assert [r.status for r in app2.board.rows.values()] == ["passed"]
    finally:
        server.close()


@pytest.mark.anyio
async def test_empty_library_and_nothing_selected(server: ScriptedOllama, tmp_path: Path) -> None:
    app = make_app(server, tmp_path / "results", task_paths=[tmp_path / "no-tasks-here"])
    async with app.run_test(size=SIZE) as pilot:
        empty = rendered(app.screen.query_one("#tasks-empty", Static))
        assert "No tasks found" in empty and "no-tasks-here" in empty
        await pilot.press("r")
        await pilot.pause()
        assert app.current_mode == "tasks" and app.board is None
        await pilot.press("3")
        await pilot.pause()
        assert "No batch yet" in rendered(app.screen.query_one("#run-empty", Static))
        await pilot.press("4")
        await pilot.pause()
        assert app.screen.has_class("-empty")


@pytest.mark.anyio
async def test_options_validate_and_reach_the_batch(server: ScriptedOllama, tmp_path: Path) -> None:
    app = make_app(server, tmp_path / "results")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        repeats = app.screen.query_one("#opt-repeats", Input)
        repeats.value = "0"
        app.screen.query_one("#opt-timeout", Input).value = ""
        await pilot.pause()
        errors = rendered(app.screen.query_one("#options-error", Label))
        assert "repeats must be at least 1" in errors and "timeout: expected a number" in errors
        summary = rendered(app.screen.query_one("#models-summary", Label))
        assert summary.startswith("Fix the options before running") and "runs" not in summary
        app.screen.query_one("#opt-timeout", Input).value = "120"
        repeats.value = "2"
        app.screen.query_one("#opt-parallel", Input).value = "0"
        await pilot.pause()
        assert app.session.batch_options.repeats == 2 and app.session.batch_options.parallel == 0
        assert rendered(app.screen.query_one("#options-error", Label)) == ""
        # space selects the highlighted model, a selects every available one, n none.
        table = app.screen.query_one("#model-table", DataTable)
        table.focus()
        table.move_cursor(row=column(table, "Model").index("ollama/solver"))
        await pilot.press("space")
        assert app.session.selected_models == ["ollama/solver"]
        assert "1 task(s)" not in rendered(app.screen.query_one("#models-summary", Label))
        assert "0 tasks × 1 model × 2 repeats" in rendered(app.screen.query_one("#models-summary", Label))
        await pilot.press("n")
        assert app.session.selected_models == []
        await pilot.press("a")
        assert sorted(app.session.selected_models) == ["ollama/garbage", "ollama/solver"]


@pytest.mark.anyio
async def test_command_palette_and_help(server: ScriptedOllama, tmp_path: Path) -> None:
    app = make_app(server, tmp_path / "results")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Go to History")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "history", "the palette to switch screen", timeout=30)
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        assert "resume it" in app.screen.query_one("#help-text", Markdown).source
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "history" and type(app.screen).__name__ == "HistoryScreen"


@pytest.mark.anyio
async def test_every_palette_command_is_an_app_action_and_runs(server: ScriptedOllama, tmp_path: Path) -> None:
    from benchtui.screens.palette import COMMANDS

    app = make_app(server, tmp_path / "results", marked_tasks=["add_comment"], selected_models=["ollama/solver"])
    async with app.run_test(size=SIZE) as pilot:
        for _title, _help, action in COMMANDS:
            assert callable(getattr(app, "action_" + action.split("(")[0], None)), action
        await app.run_action("clear_task_marks")
        await app.run_action("select_no_models")
        await pilot.pause()
        assert app.session.marked_tasks == [] and app.session.selected_models == [] and app.current_mode == "models"


def test_sink_coalesces_updates_and_keeps_discrete_events() -> None:
    class Target:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        def post_message(self, message: Any) -> bool:
            self.messages.append(message)
            return True

    target = Target()
    sink = TuiSink(target)
    runs = (PlannedRun("a", "t", "m1", 1), PlannedRun("b", "t", "m2", 1))
    sink.emit(BatchStarted("batch", Path("/x"), runs))
    sink.emit(RunStarted("a"))
    for i in range(500):
        for run_id in ("a", "b"):
            sink.emit(RunUpdate(run_id, "prompting", 1, 3, 1, 0, i, None, i / 10))
    sink.emit(LogMessage("hello"))
    updates = sink.drain()
    assert sorted((u.run_id, u.completion_tokens) for u in updates) == [("a", 499), ("b", 499)]
    assert sink.drain() == []
    sink.emit(RunUpdate("a", "checking", 1, 3, 1, 0, 9, None, 1.0))
    sink.emit(RunFinished("a", partial({"status": "passed"})))
    assert [u.run_id for u in sink.drain()] == []  # a finished run's stale snapshot is dropped
    assert [type(m) for m in target.messages] == [EngineBatchStarted, EngineRunStarted, EngineLog, EngineRunFinished]


def test_untrusted_text_is_stripped_and_never_markup() -> None:
    evil = "\x1b]0;pwned\x07\x1b[31m[bold red]boom[/bold red]\x1b[0m"
    assert safe_text(evil).plain == "[bold red]boom[/bold red]"
    assert not safe_text(evil).spans
    assert one_line("ok\n" + evil + "\n\n").plain == "[bold red]boom[/bold red]"
    diff = diff_text("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+[link=http://x]new\x1b[2J\n")
    assert "+[link=http://x]new" in diff.plain and "\x1b" not in diff.plain


def test_run_tui_bad_config_prints_one_line_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchtui.cli.tui import run_tui

    args = argparse.Namespace(
        task=None,
        models="all",
        category=None,
        output=str(tmp_path),
        parallel=None,
        timeout=1800.0,
        repeats=1,
        resume=None,
        config=str(tmp_path / "missing.yaml"),
    )
    assert run_tui(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.yaml" in err[0]


def test_run_tui_bad_task_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchtui.cli.tui import run_tui

    bad = tmp_path / "bad.md"
    bad.write_text("no front matter\n")
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # nothing listens: discovery fails fast
    monkeypatch.setenv("BENCHTUI_CONFIG", str(tmp_path / "config.yaml"))
    (tmp_path / "config.yaml").write_text("embedded:\n  enabled: false\n")
    args = argparse.Namespace(
        task=[str(bad)],
        models="all",
        category=None,
        output=str(tmp_path),
        parallel=None,
        timeout=1800.0,
        repeats=1,
        resume=None,
        config=None,
    )
    assert run_tui(args) == 2
    assert "bad.md:1" in capsys.readouterr().err


def test_board_keeps_snapshots_that_overtake_their_discrete_events() -> None:
    """The 10 Hz timer may drain a RunUpdate before the BatchStarted/RunStarted messages are handled."""
    now = [100.0]
    board = RunBoard(lambda: now[0])
    update = RunUpdate("a", "checking", 2, 3, 2, 1, 50, 12.5, 7.0, "1 failed")
    board.apply_updates([update])  # no rows yet
    board.apply(BatchStarted("batch", Path("/x"), (PlannedRun("a", "t", "m", 1), PlannedRun("b", "t", "m", 2))))
    board.apply(RunStarted("a"))
    row = board.rows["a"]
    assert (row.status, row.phase, row.turn, row.prompts, row.elapsed_s) == ("running", "checking", 2, 2, 7.0)
    now[0] += 2.0
    assert board.live_elapsed(row) == 9.0  # still ticking while the check runs
    board.apply(
        RunFinished("a", partial({"status": "passed", "turns": 2, "prompts_sent": 2, "completion_time_s": 9.5}))
    )
    board.apply_updates([update])  # a stale snapshot after the end changes nothing
    assert (row.status, row.elapsed_s) == ("passed", 9.5)
    assert (board.done, board.total, board.passed) == (1, 2, 1)


def test_board_shows_kept_runs_figures_cancels_queued_runs_at_once_and_marks_the_never_run() -> None:
    board = RunBoard(lambda: 0.0, {"m": "Model M"})
    kept = partial(
        {"status": "failed", "turns": 3, "prompts_sent": 3, "completion_tokens": 1536, "completion_time_s": 54.0}
    )
    board.apply(
        BatchStarted(
            "batch",
            Path("/x"),
            (
                PlannedRun("a", "t", "m", 1, done=True, result=kept),
                PlannedRun("b", "t", "m", 2),
                PlannedRun("c", "t", "m", 3),
                PlannedRun("d", "t", "m", 4),
            ),
        )
    )
    a = board.rows["a"]
    assert (a.status, a.prompts, a.tokens, a.elapsed_s) == ("kept", 3, 1536, 54.0)
    assert a.check_line == "kept from before the resume: failed"
    board.cancel_queued("c")
    assert board.rows["c"].status == "cancelled"
    board.apply(RunStarted("b"))
    board.apply(
        RunFinished("b", partial({"status": "passed", "turns": 1, "prompts_sent": 1, "completion_time_s": 2.0}))
    )
    board.apply(BatchFinished("batch", Path("/x"), "interrupted"))
    assert board.rows["d"].status == "not run"
    assert board.logs[-1].text == "Batch batch interrupted: 2 of 4 run(s) finished, 1 passed, 1 cancelled, 1 not run"


@pytest.mark.anyio
async def test_the_run_detail_says_how_many_replies_were_cut_off() -> None:
    from textual.app import App, ComposeResult

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield RunDetail()

    app = One()
    async with app.run_test(size=SIZE) as pilot:
        detail = app.query_one(RunDetail)
        base = {"task_id": "fix_typo", "status": "failed", "repeat": 1, "diff": "", "check_output": ""}
        detail.show({**base, "truncated_replies": 3}, [], "qwen")
        await pilot.pause()
        assert "qwen · fix_typo · failed · 3 replies cut off by the token limit" in detail.diff.plain
        assert "3 replies cut off by the token limit" in detail.transcript.plain
        detail.show({**base, "truncated_replies": 0}, [], "qwen")
        assert "cut off" not in detail.diff.plain


# The app at 80×24 (a standard terminal) and at 200×50: nothing cut, nothing off screen.

SMALL = (80, 24)
LONG_REPLY = (
    "".join(f"I read mathutils.py ({i}) and I am thinking about the docstring. " for i in range(60))
    + "END-OF-THE-LONG-REPLY"
)


def screen_text(app: BenchApp) -> list[str]:
    """What the terminal shows, line by line (what tmux capture-pane would print)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def flat(lines: list[str]) -> str:
    """The screen's lines as one run of words, so text wrapped over several lines reads whole."""
    return " ".join(" ".join(lines).split())


def squeezed(lines: list[str]) -> str:
    """The screen's text without any whitespace: a path wrapped mid-word still reads whole."""
    return "".join("".join(lines).split())


def labels(table: DataTable[Any]) -> list[str]:
    return [str(getattr(c.label, "plain", c.label)).split(" ")[0] for c in table.ordered_columns]


def fits_sideways(table: DataTable[Any]) -> bool:
    """No column is behind a horizontal scrollbar."""
    return table.max_scroll_x == 0 and not table.show_horizontal_scrollbar


@pytest.mark.anyio
@pytest.mark.parametrize("size", [SMALL, (200, 50)], ids=["80x24", "200x50"])
async def test_every_screen_is_usable_at_80x24_and_200x50(tmp_path: Path, size: tuple[int, int]) -> None:
    server = ScriptedOllama(
        {
            "solver": Script(solution_reply(ADD_COMMENT), chunk_delay_s=0.05),
            "talker": Script(fixed(LONG_REPLY), chunk_delay_s=0.002, chunk_size=200),
        }
    ).start()
    try:
        app = make_app(server, tmp_path / "results")
        async with app.run_test(size=size) as pilot:
            await mark_task(pilot, "add_comment")
            await pilot.pause(0.3)
            # The summary wraps rather than cutting its hint.
            assert "select models on 2 (space, c, a)" in flat(screen_text(app))

            await pilot.press("2")
            await pilot.pause()
            await choose_category(pilot, "ollama")
            await pilot.pause()
            table = app.screen.query_one("#model-table", DataTable)
            assert labels(table)[-1] == "Status" and fits_sideways(table)
            assert flat(screen_text(app)).count("available") >= 2

            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: app.board is not None and any(r.running for r in app.board.rows.values()),
                "a run to start",
            )
            await pilot.pause(0.3)
            grid = app.screen.query_one(ProgressGrid)
            shown = labels(grid)
            assert {"Status", "Turn", "Elapsed", "Last"} <= set(shown) and fits_sideways(grid)
            if size == SMALL:  # the optional columns went; the highlighted run's line still has their figures
                assert "You" not in shown
            assert "prompt(s)" in rendered(app.screen.query_one("#run-selected", Static))

            await wait_for(pilot, lambda: app.last_outcome is not None, "the batch to finish")
            await app.workers.wait_for_complete()
            await wait_for(pilot, lambda: app.current_mode == "results", "the Results screen")
            await pilot.pause(0.5)
            await settle(pilot)
            screen = app.screen
            for table_id in ("#leaderboard", "#runs"):
                assert fits_sideways(screen.query_one(table_id, SortableTable)), table_id
            assert {"Passed", "Success", "Mean"} <= set(labels(screen.query_one("#leaderboard", SortableTable)))
            assert "Status" in labels(screen.query_one("#runs", SortableTable))
            detail = screen.query_one(RunDetail)
            # Stacked under the runs when narrow (the whole width), beside them when wide (most of it).
            assert detail.size.width >= (size[0] - 4 if size == SMALL else size[0] // 2)
            assert "▎" not in "".join(screen_text(app))  # no sideways scrollbar's thumb mid-screen

            # One Tab from the runs reaches the detail's text, which scrolls at once; the transcript is whole.
            runs = screen.query_one("#runs", SortableTable)
            runs.focus()
            runs.move_cursor(row=runs.row_keys_in_order().index("add_comment::ollama/talker::1"))
            await pilot.pause()
            await settle(pilot)
            await pilot.press("tab")
            await pilot.press("right")
            await pilot.pause()
            pane = app.focused
            assert pane is not None and pane.id == "pane-transcript" and detail.active_tab == "transcript"
            assert "END-OF-THE-LONG-REPLY" in detail.transcript.plain
            assert "more characters in the stored transcript" not in detail.transcript.plain
            await pilot.press("pagedown")
            await pilot.pause()
            assert pane.scroll_y > 0

            await pilot.press("5")
            await pilot.pause()
            await settle(pilot)
            history = app.screen.query_one("#history-table", DataTable)
            assert labels(history)[-2:] == ["Passed/total", "State"] and fits_sideways(history)
            assert cells(history, 0)[-2:] == ["1/2", "finished"]
            assert "▎" not in "".join(screen_text(app))
    finally:
        server.close()


UNSET_KEY = "BENCHTUI_TEST_KEY_NOBODY_SET"


@pytest.mark.anyio
async def test_models_show_the_whole_reason_and_its_fix_at_80x24(
    server: ScriptedOllama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UNSET_KEY, raising=False)
    path = tmp_path / "models_config.yaml"
    path.write_text(
        f"ollama: {{host: '{server.url}'}}\nembedded: {{enabled: false}}\nmodels:\n"
        f"  - {{name: gpt-4o, provider: openai, api_key: '${{{UNSET_KEY}}}'}}\n"
        "  - {name: local-coder, provider: openai, enabled: false, base_url: 'http://127.0.0.1:9/v1'}\n"
    )
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    config = load_config(path)
    app = BenchApp(
        config=config, catalog=discover(config, embedded=False), store=ResultsStore(tmp_path / "r"), task_paths=[TASKS]
    )
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#model-table", DataTable)
        assert labels(table)[-1] == "Status" and fits_sideways(table)
        for key, reason, fix in (
            ("gpt-4o", f"unavailable: ${{{UNSET_KEY}}} unset", f"fix: export {UNSET_KEY}=<your key>"),
            ("local-coder", "unavailable: disabled in the config", f"fix: set enabled: true for local-coder in {path}"),
        ):
            table.move_cursor(row=column(table, "Model").index(key))
            await pilot.pause()
            shown = squeezed(screen_text(app))
            assert "".join(reason.split()) in shown and "".join(fix.split()) in shown, shown


@pytest.mark.anyio
async def test_the_discovery_notes_wrap_whole_at_80x24(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port that was just free: nothing listens on it now
        probe.bind(("127.0.0.1", 0))
        host = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = ModelsConfig(path=None, ollama_host=host, embedded_enabled=False)
    catalog = discover(config, embedded=False)
    (note,) = [n for n in catalog.notes if host in n]
    app = BenchApp(config=config, catalog=catalog, store=ResultsStore(tmp_path / "r"), task_paths=[TASKS])
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert "".join(note.split()) in squeezed(screen_text(app))  # what to start or fix: never cut


@pytest.mark.parametrize(
    ("provider", "reason", "fix"),
    [
        ("openai", "${OPENAI_API_KEY} unset", "export OPENAI_API_KEY=<your key>"),
        ("anthropic", "no api_key (set api_key: ${ANTHROPIC_API_KEY})", "api_key: ${ANTHROPIC_API_KEY}"),
        ("ollama", "Ollama server unreachable at http://127.0.0.1:11434", "ollama serve"),
        ("openai", "server unreachable at http://127.0.0.1:1234/v1 (ConnectError)", "start the server at"),
        ("openai", "listing models at http://x/v1 answered HTTP 401 (check the api_key)", "check the api_key"),
        (
            "embedded",
            "the llama.cpp server package xllamacpp is not installed; install with: pip install -r x.txt",
            None,
        ),
    ],
)
def test_how_to_fix_an_unavailable_model(provider: str, reason: str, fix: str | None) -> None:
    from benchtui.engine.models import ModelSpec
    from benchtui.screens.models import how_to_fix

    spec = ModelSpec(
        key="m",
        name="m",
        display_name="m",
        provider=provider,
        available=False,
        unavailable_reason=reason,
        base_url="http://127.0.0.1:1234/v1",
    )
    found = how_to_fix(spec)
    assert (found is None) if fix is None else (found is not None and fix in found)  # a reason's own command stands


@pytest.mark.anyio
async def test_option_fields_give_the_keys_back(server: ScriptedOllama, tmp_path: Path) -> None:
    app = make_app(server, tmp_path / "results")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2")
        await pilot.pause()
        parallel = app.screen.query_one("#opt-parallel", Input)
        parallel.focus()
        await pilot.pause()
        footer = screen_text(app)[-1]
        assert "Run batch" in footer and "Quit" in footer  # the footer never goes blank in a field
        await pilot.press("2")
        assert parallel.value == "2" and app.session.batch_options.parallel == 2
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#model-table")
        app.screen.query_one("#opt-timeout", Input).focus()
        await pilot.press("r")  # not a number: the app's key, nothing typed
        await pilot.pause()
        assert app.current_mode == "tasks"  # r asked for tasks to be marked first
        assert app.session.batch_options.timeout_s == 120


def test_fit_columns_drops_optional_columns_first_then_shortens_names() -> None:
    from benchtui.widgets.columns import Fit, fit_columns

    columns = [
        Fit("name", 30, minimum=10),
        Fit("status", 9),
        Fit("tokens", 6, drop=2),
        Fit("cost", 8, drop=3),
        Fit("check", 24, grow=True),
    ]
    wide = fit_columns(columns, 200)
    assert list(wide) == ["name", "status", "tokens", "cost", "check"] and wide["name"] == 30
    assert sum(w + 2 for w in wide.values()) == 200 - 2  # the growing column takes the rest
    narrow = fit_columns(columns, 76)
    assert list(narrow) == ["name", "status", "check"] and narrow["name"] == 30  # columns went, not letters
    tight = fit_columns(columns, 60)
    assert list(tight) == ["name", "status", "check"] and tight["name"] < 30
    assert sum(w + 2 for w in tight.values()) <= 60 - 2  # never wider than the table


@pytest.mark.anyio
async def test_the_transcript_is_whole_and_scrolls_after_one_tab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_tui_snapshots import BATCH_ID, MODELS, crafted_batch, result
    from tests.test_tui_snapshots import make_app as fixed_app

    monkeypatch.chdir(tmp_path)
    batch = crafted_batch(tmp_path / "results", runs=[])
    model = next(m for m in MODELS if m.key == "ollama/mistral")
    run = result("add_comment", model.key, "failed", 9.0, 1, 0, 900, 20.0)
    batch.record_run(
        model.snapshot(),
        model.file_stem,
        run,
        [
            {"turn": 1, "kind": "system", "role": "system", "at_s": 0.0, "content": "RULES " * 200 + "END-OF-RULES"},
            {"turn": 1, "kind": "reply", "role": "assistant", "at_s": 2.0, "content": LONG_REPLY},
        ],
    )
    batch.flush()
    app = fixed_app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        app.open_results(BATCH_ID)
        await pilot.pause(0.3)
        await settle(pilot)
        app.screen.query_one("#runs").focus()
        await pilot.press("tab", "right")
        await pilot.pause()
        detail = app.screen.query_one(RunDetail)
        pane = app.focused
        assert pane is not None and pane.id == "pane-transcript" and detail.active_tab == "transcript"
        assert "END-OF-RULES" in detail.transcript.plain and "END-OF-THE-LONG-REPLY" in detail.transcript.plain
        await pilot.press("end")
        await pilot.pause()
        assert pane.scroll_y > 0 and "END-OF-THE-LONG-REPLY" in flat(screen_text(app))
        await pilot.press("z")  # zoomed, the detail takes the whole screen even where the layout scrolls
        await pilot.pause()
        assert app.screen.maximized is detail and detail.size.height >= SMALL[1] - 2


@pytest.mark.anyio
async def test_a_task_that_cannot_run_here_is_shown_as_such_and_skipped_by_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "tasks"
    (library / "ws").mkdir(parents=True)
    (library / "ws" / "a.py").write_text("x = 1\n")
    (library / "js.md").write_text("---\nid: js\ndifficulty: easy\nworkspace: ws/\ncheck: node --test\n---\nDo.\n")
    (library / "py.md").write_text("---\nid: py\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\n---\nDo.\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-node-here"))  # a machine without Node.js
    server = ScriptedOllama({"idle": Script(fixed("No edits."))}).start()
    try:
        config = ModelsConfig(path=None, ollama_host=server.url, embedded_enabled=False)
        app = BenchApp(
            config=config,
            catalog=discover(config, embedded=False),
            store=ResultsStore(tmp_path / "r"),
            options=BatchOptions(timeout_s=120),
            task_paths=[library],
            marked_tasks=["js"],
            selected_models=["ollama/idle"],
        )
        async with app.run_test(size=SIZE) as pilot:
            tree = app.screen.query_one(TaskTree)
            node = tree.node_for("js")
            assert node is not None and "cannot run here" in str(node.label)
            await pilot.press("r")
            await pilot.pause()
            assert app.runner is None  # nothing it could run: no batch, and the reason is said
            assert any("task 'js' cannot run here: its check runs 'node'" in n.message for n in app._notifications)
            app.session.marked_tasks = ["js", "py"]
            await pilot.press("r")
            await wait_for(pilot, lambda: app.board is not None, "the batch to start")
            assert app.board is not None and {r.task_id for r in app.board.rows.values()} == {"py"}
            assert any("skipping task js (js.md)" in n.message for n in app._notifications)
    finally:
        server.close()


# The session and the screens: no cycle through the app, and nothing read on the UI thread.


def test_screens_and_widgets_never_import_the_app_and_the_session_needs_no_textual() -> None:
    import subprocess
    import sys

    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (pip install -e '.[test]')")
    graph = grimp.build_graph("benchtui")
    for package in ("benchtui.screens", "benchtui.widgets", "benchtui.messages", "benchtui.present"):
        chain = graph.find_shortest_chains(importer=package, imported="benchtui.app", as_packages=True)
        assert not chain, f"{package} imports the app: {chain}"  # the screens.base <-> app cycle is gone
    code = (
        "import sys\nimport benchtui.present.session\n"
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_session_reads_the_library_and_every_results_batch_asks_for_a_new_read(tmp_path: Path) -> None:
    from types import MappingProxyType

    from benchtui.engine.discovery import Catalog
    from benchtui.engine.store import Batch
    from benchtui.present.session import Session, load_library

    missing = load_library([tmp_path / "nowhere"])
    assert missing.tasks == () and missing.error is not None and "No task folder" in missing.error
    library = load_library([TASKS])
    config = ModelsConfig(path=None, embedded_enabled=False)
    session = Session(
        config=config,
        catalog=Catalog(models=(), categories=MappingProxyType({}), notes=()),
        store=ResultsStore(tmp_path),
        library=library,
        marked_tasks=["add_comment", "not-a-task"],
        selected_models=["ollama/absent"],
    )
    assert session.marked_tasks == ["add_comment"] and session.selected_models == []  # unknown ones dropped
    assert [t.id for t in session.marked()] == ["add_comment"]
    assert session.set_option("repeats", "0") == "repeats must be at least 1"
    assert session.batch_summary().startswith("Fix the options before running")
    assert session.set_option("repeats", "3") is None and session.batch_options.repeats == 3
    assert session.results_batch is None and session.nav_status() == "" and not session.batch_running
    batch = Batch(tmp_path / "b")
    before = session.results_version
    session.results_batch = batch
    session.results_batch = batch  # the same batch again (a resumed one that finished): read it again
    assert session.results_version == before + 2 and session.results_batch is batch


class Withheld:
    """A file of a batch turned into a FIFO: reading it waits until ``release`` (or ``patience_s``, which
    marks ``timed_out``). On release the real file is back in place and waiting readers see an empty one."""

    def __init__(self, path: Path, older_than: Path | None = None, patience_s: float = 10.0) -> None:
        import os
        import threading

        self.path, self.content, self.timed_out = path, path.read_bytes(), False
        path.unlink()
        os.mkfifo(path)
        if older_than is not None:  # so the report does not read it (a model file holds its result)
            mtime = older_than.stat().st_mtime_ns - 10**9
            os.utime(path, ns=(mtime, mtime))
        self._writer = os.open(path, os.O_RDWR)  # readers' open() returns at once; read() waits for data
        self._lock = threading.Lock()
        self._timer = threading.Timer(patience_s, self._give_up)
        self._timer.daemon = True
        self._timer.start()

    def _give_up(self) -> None:
        self.timed_out = True
        self.release()

    def release(self) -> None:
        import os

        with self._lock:
            if self._writer < 0:
                return
            self._timer.cancel()
            spare = self.path.with_suffix(".real")
            spare.write_bytes(self.content)
            os.replace(spare, self.path)
            os.close(self._writer)  # the readers still on the FIFO get end-of-file
            self._writer = -1


@pytest.mark.anyio
@pytest.mark.parametrize("withheld", ["report", "transcript"])
async def test_results_read_in_a_worker_so_keys_work_while_a_file_is_slow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, withheld: str
) -> None:
    from tests.test_tui_snapshots import BATCH_ID, RUNS, crafted_batch
    from tests.test_tui_snapshots import make_app as fixed_app

    monkeypatch.chdir(tmp_path)
    batch = crafted_batch(tmp_path / "results", runs=RUNS)
    _models, runs = batch.load_results()
    first = runs[0]  # the run Results highlights first, whose transcript it reads
    model_file = next(batch.path.glob("*_result.json"))
    slow = (
        Withheld(model_file)
        if withheld == "report"
        else Withheld(batch.path / str(first["transcript_file"]), older_than=model_file)
    )
    app = fixed_app(tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.open_results(BATCH_ID)
            await pilot.pause(0.3)
            if withheld == "report":  # nothing read yet: no empty podiums meanwhile
                assert app.screen.has_class("-loading") and not app.screen.query_one("#results-main").visible
            await pilot.press("3")  # read on the UI thread, this key would wait for the file
            assert app.current_mode == "run" and not slow.timed_out
            slow.release()
            await pilot.press("4")
            if withheld == "transcript":  # its reader saw the FIFO emptied: highlight the run again
                await settle(pilot)
                runs_table = app.screen.query_one("#runs", SortableTable)
                order = runs_table.row_keys_in_order()
                key = f"{first['task_id']}::{first['model']}::1"
                runs_table.move_cursor(row=(order.index(key) + 1) % len(order))
                await settle(pilot)
                runs_table.move_cursor(row=order.index(key))
            await settle(pilot)
            title = rendered(app.screen.query_one("#results-title", Label))
            assert BATCH_ID in title and "4/6 run(s) passed" in title  # every run, the withheld file's too
            assert f"Task: {first['task_id']}" in app.screen.query_one(RunDetail).transcript.plain
    finally:
        slow.release()


@pytest.mark.anyio
@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x36", "80x24"])
async def test_results_mark_the_contestant_whose_tool_calls_were_repaired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    from tests.test_tui_snapshots import BATCH_ID, RUNS, crafted_batch
    from tests.test_tui_snapshots import make_app as fixed_app

    repaired = {"ollama/qwen2.5-coder:7b": (2, 1), "ollama/llama3.2:1b": (0, 0)}  # mistral: the repair off
    seen: dict[str, int] = {}
    runs = []
    for run in RUNS:
        counts = repaired.get(run["model"])
        index = seen[run["model"]] = seen.get(run["model"], -1) + 1
        runs.append(cast(RunResult, {**run, "repaired_tool_calls": counts[index] if counts else None}))
    monkeypatch.chdir(tmp_path)
    crafted_batch(tmp_path / "results", runs=runs)
    app = fixed_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        app.open_results(BATCH_ID)
        await pilot.pause(0.3)
        await settle(pilot)
        board = app.screen.query_one("#leaderboard", SortableTable)
        names = dict(zip(board.row_keys_in_order(), column(board, "Model"), strict=True))
        # The mark before the name (a name cut to fit loses its end, not the mark), on that contestant only.
        assert names["ollama/qwen2.5-coder:7b"].startswith("⚒ ")
        assert not any("⚒" in names[k] for k in ("ollama/llama3.2:1b", "ollama/mistral"))
        assert fits_sideways(board)
        if size == SIZE:  # room for the count: 0 for a repair never needed, a dash for one that was off
            shown = dict(zip(board.row_keys_in_order(), column(board, "Repaired"), strict=True))
            assert shown == {"ollama/qwen2.5-coder:7b": "⚒ 3", "ollama/llama3.2:1b": "0", "ollama/mistral": "—"}
        # The count at any width, first under the leaderboard.
        assert rendered(app.screen.query_one("#repeats-note", Label)).startswith("⚒ qwen2.5-coder:7b 3 repaired")
        runs_table = app.screen.query_one("#runs", SortableTable)
        marked = [
            key
            for key, name in zip(runs_table.row_keys_in_order(), column(runs_table, "Model"), strict=True)
            if "⚒" in name
        ]
        assert sorted(marked) == ["add_comment::ollama/qwen2.5-coder:7b::1", "set_retries::ollama/qwen2.5-coder:7b::1"]
