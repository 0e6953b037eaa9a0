"""SVG snapshots of every screen (pytest-textual-snapshot), at 120×36 and 80×24, from fixed data and a frozen clock.

No model server and no real time: the catalog is built by hand, the task library and the batches are
written into tmp_path (the tests chdir there so paths show the same everywhere), the Run screen is fed
engine events through the app's own sink, and the board's clock is a fake that only moves when told.
Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` after looking at the report.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import pytest
from textual.worker import WorkerState

from benchtui.app import BenchApp
from benchtui.engine.config import ModelsConfig
from benchtui.engine.discovery import Catalog
from benchtui.engine.events import BatchStarted, LogMessage, PlannedRun, RunFinished, RunStarted, RunUpdate
from benchtui.engine.models import ModelSpec
from benchtui.engine.results import RunResult, RunStatus
from benchtui.engine.runner import BatchOptions
from benchtui.engine.store import Batch, ResultsStore

SIZE = (120, 36)
SMALL = (80, 24)  # a standard terminal: every screen has an 80×24 snapshot too
BATCH_ID = "batch_20260101_120000"

pytestmark = pytest.mark.timeout(300)

LOADERS = ("report", "transcript", "history", "compare")  # the screens' reading workers


async def settle(pilot: Any) -> None:
    """Wait until the screens' reading workers (report, transcripts, history, compare) are done and shown."""
    while True:
        await pilot.pause()
        busy = [
            w for w in pilot.app.workers if w.group in LOADERS and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]
        if not busy:
            return
        await pilot.app.workers.wait_for_complete(busy)


class FakeClock:
    """A monotonic clock that stands still unless a test moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def spec(
    key: str,
    name: str,
    provider: str,
    categories: tuple[str, ...],
    size: str | None = None,
    quant: str | None = None,
    family: str | None = None,
    reason: str | None = None,
) -> ModelSpec:
    return ModelSpec(
        key=key,
        name=name,
        provider=provider,
        display_name=name,
        categories=categories,
        available=reason is None,
        unavailable_reason=reason,
        source="config" if provider != "ollama" else "ollama",
        details=MappingProxyType({"parameter_size": size, "quantization": quant, "family": family}),
    )


MODELS = (
    spec(
        "ollama/qwen2.5-coder:7b",
        "qwen2.5-coder:7b",
        "ollama",
        ("coding_specialized", "ollama"),
        "7.6B",
        "Q4_K_M",
        "qwen2",
    ),
    spec("ollama/llama3.2:1b", "llama3.2:1b", "ollama", ("fast", "ollama"), "1.2B", "Q8_0", "llama"),
    spec("ollama/mistral", "mistral:latest", "ollama", ("balanced", "ollama"), "7.2B", "Q4_0", "llama"),
    spec("gpt-4o", "gpt-4o", "openai", ("powerful",), reason="${OPENAI_API_KEY} unset"),
    spec(
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-0.5b",
        "embedded",
        ("embedded",),
        "0.5B",
        "Q4_K_M",
        "qwen2",
        reason="model file not found (see README: embedded models)",
    ),
)


def catalog() -> Catalog:
    categories: dict[str, tuple[str, ...]] = {}
    for model in MODELS:
        for name in model.categories:
            categories[name] = (*categories.get(name, ()), model.key)
    return Catalog(
        models=MODELS,
        categories=MappingProxyType(categories),
        notes=("Ollama at http://127.0.0.1:11434: 3 models",),
        ollama_version="0.5.0",
    )


def write_task(root: Path, level: str, task_id: str, title: str, prompt: str, hints: int = 0) -> None:
    folder = root / "tasks" / level
    (folder / task_id).mkdir(parents=True)
    (folder / task_id / "main.py").write_text("print('hi')\n")
    hint_lines = "".join(f'  - "Hint {i + 1}."\n' for i in range(hints))
    (folder / f"{task_id}.md").write_text(
        f"---\nid: {task_id}\ntitle: {title}\ndifficulty: {level}\nworkspace: {task_id}/\n"
        f"check: python -m pytest -q\nmax_turns: 3\ntimeout: 120\n"
        + (f"hints:\n{hint_lines}" if hints else "")
        + f"---\n{prompt}\n"
    )


def library(root: Path) -> None:
    write_task(
        root,
        "smoke",
        "add_comment",
        "Add a docstring to clamp()",
        "The `clamp()` function in `mathutils.py` has no documentation. Add a docstring that explains\n"
        "what it returns and that it raises `ValueError` when `low` is greater than `high`.",
        hints=2,
    )
    write_task(root, "smoke", "set_retries", "Allow three retries", "Retry a failing call up to 3 times.", hints=1)
    write_task(root, "easy", "fix_typo", "Fix the typo in the greeting", "`greet()` prints `Helo`.")
    write_task(root, "medium", "add_validation", "Validate new users", "Reject empty names and bad emails.")
    write_task(root, "hard", "js_calc", "Add powers and function calls", "Extend the calculator.")


def make_app(root: Path, **kwargs: Any) -> BenchApp:
    config = ModelsConfig(path=None, embedded_enabled=False)
    return BenchApp(
        config=config,
        catalog=catalog(),
        store=ResultsStore(root / "results"),
        task_paths=[Path("tasks")],
        options=BatchOptions(timeout_s=600),
        **kwargs,
    )


def result(
    task: str,
    model: str,
    status: RunStatus,
    time_s: float,
    prompts: int,
    interventions: int,
    tokens: int,
    tps: float | None,
    diff: str = "",
    error: str | None = None,
) -> RunResult:
    # Only the keys the screens show: a stored result may lack the others (one from an older benchtui does).
    return {
        "task_id": task,
        "model": model,
        "repeat": 1,
        "status": status,
        "error": error,
        "error_message": "connection refused" if error else None,
        "completion_time_s": time_s,
        "model_time_s": time_s * 0.8,
        "check_time_s": time_s * 0.1,
        "ttft_s": 0.4,
        "load_time_s": None,
        "tokens_per_s": tps,
        "prompt_tokens": tokens * 4,
        "completion_tokens": tokens,
        "cost_usd": 0.0,
        "prompts_sent": prompts,
        "human_interventions": interventions,
        "hints_given": interventions,
        "typed_interventions": 0,
        "malformed_replies": 1 if status == "failed" else 0,
        "files_modified": 1 if diff else 0,
        "lines_added": diff.count("\n+") if diff else 0,
        "lines_removed": diff.count("\n-") if diff else 0,
        "turns": prompts,
        "check_output": "1 failed, 8 passed in 0.05s" if status == "failed" else "9 passed in 0.03s",
        "diff": diff,
        "started_at": "2026-01-01T12:00:00+00:00",
    }


DIFF = (
    "--- a/mathutils.py\n+++ b/mathutils.py\n@@ -1,4 +1,5 @@\n def clamp(value, low, high):\n"
    '+    """Limit value to low..high; raise ValueError if low > high."""\n     if low > high:\n'
    '-        raise ValueError("bad")\n+        raise ValueError("low must not be greater than high")\n'
)


def crafted_batch(
    results_root: Path,
    batch_id: str = BATCH_ID,
    status: str = "finished",
    created: str = "2026-01-01T12:00:00+00:00",
    runs: list[RunResult] | None = None,
    planned: int | None = None,
) -> Batch:
    batch = Batch(results_root / batch_id)
    batch.path.mkdir(parents=True)
    models = {m.key: m for m in MODELS}
    runs = runs if runs is not None else []
    keys = sorted({r["model"] for r in runs}) or ["ollama/llama3.2:1b"]
    tasks = sorted({r["task_id"] for r in runs}) or ["add_comment"]
    batch.write_manifest(
        {
            "schema": 1,
            "batch_id": batch_id,
            "created_at": created,
            "status": status,
            "tasks": [{"id": t, "title": t, "difficulty": "smoke", "path": f"tasks/smoke/{t}.md"} for t in tasks],
            "models": [models[k].snapshot() for k in keys],
            "options": {"parallel": None, "timeout_s": 600.0, "repeats": 1, "embedded_threads": None},
            "runs_planned": planned if planned is not None else len(runs),
            "progress": {
                "planned": planned if planned is not None else len(runs),
                "finished": len(runs),
                "passed": sum(1 for r in runs if r["status"] == "passed"),
            },
        }
    )
    for run in runs:
        model = models[run["model"]]
        transcript = [
            {"turn": 1, "kind": "prompt", "role": "user", "at_s": 0.0, "content": f"Task: {run['task_id']}"},
            {"turn": 1, "kind": "reply", "role": "assistant", "at_s": 2.5, "content": "mathutils.py\n```\n...\n```"},
            {"turn": 1, "kind": "check", "at_s": 3.1, "content": run["check_output"]},
        ]
        batch.record_run(model.snapshot(), model.file_stem, run, transcript)
    batch.flush()
    return batch


RUNS = [
    result("add_comment", "ollama/qwen2.5-coder:7b", "passed", 8.4, 1, 0, 180, 41.2, DIFF),
    result("set_retries", "ollama/qwen2.5-coder:7b", "passed", 6.1, 1, 0, 95, 43.0, DIFF),
    result("add_comment", "ollama/llama3.2:1b", "passed", 4.2, 2, 1, 240, 88.5, DIFF),
    result("set_retries", "ollama/llama3.2:1b", "failed", 9.9, 3, 1, 310, 90.1),
    result("add_comment", "ollama/mistral", "passed", 12.7, 1, 0, 150, 22.4, DIFF),
    result("set_retries", "ollama/mistral", "error", 0.3, 1, 0, 0, None, error="unreachable"),
]


def test_tasks_screen(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """The library by level; add_comment marked and previewed."""
    monkeypatch.chdir(tmp_path)
    library(tmp_path)
    app = make_app(tmp_path, selected_models=["ollama/llama3.2:1b"])

    async def run_before(pilot: Any) -> None:
        await pilot.press("space", "down", "up")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_tasks_screen_empty(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """No ./tasks folder: a clear empty state."""
    monkeypatch.chdir(tmp_path)
    assert snap_compare(make_app(tmp_path), terminal_size=size)


def test_models_screen(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """All models, the ollama category selected, unavailable models greyed with their reason."""
    monkeypatch.chdir(tmp_path)
    library(tmp_path)
    app = make_app(tmp_path, marked_tasks=["add_comment", "set_retries"])

    async def run_before(pilot: Any) -> None:
        await pilot.press("2")
        await pilot.pause()
        pilot.app.screen.select_category("ollama")
        await pilot.pause()
        await pilot.press("c")
        pilot.app.screen.select_category("__all__")
        await pilot.pause()
        pilot.app.screen.query_one("#model-table").focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_run_screen(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """A batch in flight: passed, running (prompting and checking), failed, queued; a typed message."""
    monkeypatch.chdir(tmp_path)
    library(tmp_path)
    clock = FakeClock()
    app = make_app(tmp_path, clock=clock)
    q7, l1, mi = "ollama/qwen2.5-coder:7b", "ollama/llama3.2:1b", "ollama/mistral"

    async def run_before(pilot: Any) -> None:
        bench = pilot.app
        sink = bench.begin_board({q7: "qwen2.5-coder:7b", l1: "llama3.2:1b", mi: "mistral:latest"})
        clock.now += 80.0  # the batch started 80 s ago; the snapshots below arrive now
        runs = tuple(PlannedRun(f"{t}::{m}::1", t, m, 1) for m in (q7, l1, mi) for t in ("add_comment", "set_retries"))
        sink.emit(BatchStarted(BATCH_ID, tmp_path / BATCH_ID, runs))
        for run_id, result_ in ((runs[0].run_id, RUNS[0]), (runs[2].run_id, RUNS[2]), (runs[3].run_id, RUNS[3])):
            sink.emit(RunStarted(run_id))
            sink.emit(RunFinished(run_id, result_))
        sink.emit(RunStarted(runs[1].run_id))
        sink.emit(
            RunUpdate(runs[1].run_id, "prompting", 2, 3, 2, 1, 212, 42.7, 14.2, "E   AssertionError: assert 0 == 3")
        )
        sink.emit(RunStarted(runs[4].run_id))
        sink.emit(RunUpdate(runs[4].run_id, "checking", 1, 3, 1, 0, 96, 21.9, 5.0, None))
        sink.emit(LogMessage("Ollama answered slowly; retrying once", "warning"))
        bench.switch_mode("run")
        await pilot.pause()
        clock.now += 3.0  # 3 s later: the running rows' elapsed time has moved on by as much
        bench.refresh_progress()
        bench.board.note_message(runs[1].run_id, "MAX_RETRIES lives in config.py")
        bench.refresh_progress()
        await pilot.pause()
        bench.screen.query_one("#grid").move_cursor(row=1)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_results_screen(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """Podiums, the engine's leaderboard, runs, and the first run's coloured diff."""
    monkeypatch.chdir(tmp_path)
    crafted_batch(tmp_path / "results", runs=RUNS)
    app = make_app(tmp_path)

    async def run_before(pilot: Any) -> None:
        pilot.app.open_results(BATCH_ID)
        await pilot.pause(0.3)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_results_sorted_by_tokens_per_second(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """The leaderboard sorted by a column (the header shows the direction), the transcript tab open."""
    monkeypatch.chdir(tmp_path)
    crafted_batch(tmp_path / "results", runs=RUNS)
    app = make_app(tmp_path)

    async def run_before(pilot: Any) -> None:
        pilot.app.open_results(BATCH_ID)
        await pilot.pause(0.3)
        await settle(pilot)
        pilot.app.screen.query_one("#leaderboard").sort_by("mean_tokens_per_s", reverse=True)
        pilot.app.screen.query_one("#run-detail").show_tab("transcript")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_history_screen(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """Finished, interrupted and abandoned (running) batches; the interrupted one highlighted."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "results"
    crafted_batch(root, runs=RUNS)
    crafted_batch(root, "batch_20260102_093000", "interrupted", "2026-01-02T09:30:00+00:00", RUNS[:2], planned=6)
    crafted_batch(root, "batch_20260103_180500", "running", "2026-01-03T18:05:00+00:00", [], planned=4)
    app = make_app(tmp_path)

    async def run_before(pilot: Any) -> None:
        await pilot.press("5")
        await pilot.pause()
        await settle(pilot)
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_help_dialog(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """`?` on the Run screen: its keys, then the global ones."""
    monkeypatch.chdir(tmp_path)
    assert snap_compare(make_app(tmp_path), terminal_size=size, press=["3", "question_mark"])


# The same screens at 80×24: panes stacked, optional columns dropped, nothing cut or off screen.


def test_tasks_screen_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test_tasks_screen(snap_compare, tmp_path, monkeypatch, SMALL)


def test_models_screen_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unavailable model highlighted: its whole reason and the command that fixes it, under the table."""
    monkeypatch.chdir(tmp_path)
    library(tmp_path)
    app = make_app(tmp_path, marked_tasks=["add_comment", "set_retries"], selected_models=["ollama/llama3.2:1b"])

    async def run_before(pilot: Any) -> None:
        await pilot.press("2")
        await pilot.pause()
        table = pilot.app.screen.query_one("#model-table")
        table.focus()
        table.move_cursor(row=table.get_row_index("gpt-4o"))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_run_screen_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test_run_screen(snap_compare, tmp_path, monkeypatch, SMALL)


def test_results_screen_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test_results_screen(snap_compare, tmp_path, monkeypatch, SMALL)


def test_results_transcript_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One Tab from the runs: the transcript's text has the keys (the screen scrolled to it)."""
    monkeypatch.chdir(tmp_path)
    crafted_batch(tmp_path / "results", runs=RUNS)
    app = make_app(tmp_path)

    async def run_before(pilot: Any) -> None:
        pilot.app.open_results(BATCH_ID)
        await pilot.pause(0.3)
        await settle(pilot)
        pilot.app.screen.query_one("#runs").focus()
        await pilot.press("tab", "right")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_results_with_repaired_tool_calls_80x24(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A contestant whose tool calls the gateway repaired: the mark before its name, the count first under
    the leaderboard (its Repaired column needs more than 80 columns)."""
    repaired = {"ollama/qwen2.5-coder:7b": 2, "ollama/llama3.2:1b": 0}
    runs = [cast(RunResult, {**run, "repaired_tool_calls": repaired.get(run["model"])}) for run in RUNS]
    monkeypatch.chdir(tmp_path)
    crafted_batch(tmp_path / "results", runs=runs)
    app = make_app(tmp_path)

    async def run_before(pilot: Any) -> None:
        pilot.app.open_results(BATCH_ID)
        await pilot.pause(0.3)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_history_screen_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test_history_screen(snap_compare, tmp_path, monkeypatch, SMALL)


def test_help_dialog_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test_help_dialog(snap_compare, tmp_path, monkeypatch, SMALL)


def repeated(run: RunResult, times: int) -> list[RunResult]:
    return [{**run, "repeat": n} for n in range(1, times + 1)]


def test_compare_screen(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] = SIZE
) -> None:
    """History: two batches marked, c: qwen's success regressed (6/6 → 0/6), llama's did not change."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "results"
    qwen, llama = "ollama/qwen2.5-coder:7b", "ollama/llama3.2:1b"
    before = repeated(result("add_comment", qwen, "passed", 8.4, 1, 0, 180, 41.2, DIFF), 6)
    before += repeated(result("add_comment", llama, "passed", 4.2, 2, 1, 240, 88.5, DIFF), 6)
    after = repeated(result("add_comment", qwen, "failed", 9.9, 3, 1, 310, 40.1), 6)
    after += repeated(result("add_comment", llama, "passed", 4.2, 2, 1, 240, 88.5, DIFF), 6)
    crafted_batch(root, runs=before)
    crafted_batch(root, "batch_20260102_093000", "finished", "2026-01-02T09:30:00+00:00", after)
    app = make_app(tmp_path)

    async def run_before(pilot: Any) -> None:
        await pilot.press("5")
        await pilot.pause()
        await settle(pilot)
        await pilot.press("m", "down", "m", "c")
        await pilot.pause()
        await settle(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_compare_screen_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test_compare_screen(snap_compare, tmp_path, monkeypatch, SMALL)
