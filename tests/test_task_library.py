"""The shipped task library: every task is valid, and a batch over a folder gives a task × model matrix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchtui.cli import main
from benchtui.engine.tasks import load_tasks
from tests.conftest import TASKS, requires_task_tools
from tests.support.scripted import Script, ScriptedOllama, fixed


@requires_task_tools(TASKS)
def test_the_library_has_every_level_and_the_seed_tasks() -> None:
    tasks = load_tasks([TASKS])
    levels = [t.difficulty for t in tasks]
    assert levels.count("smoke") >= 2 and levels.count("easy") >= 4
    assert levels.count("medium") >= 4 and levels.count("hard") >= 2
    ids = {t.id for t in tasks}
    assert {"add_comment", "fix_typo", "add_validation", "refactor_metrics"} <= ids
    assert sum(t.check.startswith("node") for t in tasks) >= 2
    assert all(t.solution is not None and t.check_files is not None and 2 <= len(t.hints) <= 3 for t in tasks)


@pytest.mark.slow
@requires_task_tools(TASKS)
def test_tasks_validate_passes_for_every_shipped_task(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "validate", str(TASKS)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "NO" not in out


def test_tasks_validate_fails_a_task_whose_start_already_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "a.txt").write_text("x\n")
    (tmp_path / "t.md").write_text("---\nid: broken\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\n---\nDo it.\n")
    assert main(["tasks", "validate", str(tmp_path / "t.md")]) == 1
    assert "passes on the starting workspace" in capsys.readouterr().out


def test_tasks_validate_reports_a_broken_file_and_still_validates_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # the temp path stays on one line
    shutil.copy(TASKS / "smoke" / "add_comment.md", tmp_path / "add_comment.md")
    shutil.copytree(TASKS / "smoke" / "add_comment", tmp_path / "add_comment")
    shutil.copytree(TASKS / "smoke" / "add_comment.check", tmp_path / "add_comment.check")
    shutil.copytree(TASKS / "smoke" / "add_comment.solution", tmp_path / "add_comment.solution")
    (tmp_path / "bad.md").write_text("---\nid: bad\ndifficulty: impossible\nworkspace: add_comment/\n"
                                     "check: 'true'\n---\nDo it.\n")
    assert main(["tasks", "validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "smoke/add_comment" in out and "bad.md:3: 'difficulty': expected one of" in out
    assert "1 problem(s) found" in out


@requires_task_tools(TASKS / "easy", TASKS / "smoke" / "add_comment.md")
def test_a_batch_over_a_folder_gives_one_row_per_task_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ScriptedOllama({"a": Script(fixed("no")), "b": Script(fixed("still no"))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert main(["--task", str(TASKS / "easy"), "--task", str(TASKS / "smoke" / "add_comment.md"),
                     "--no-ui", "--output", str(tmp_path)]) == 0
    (batch,) = tmp_path.iterdir()
    report = json.loads((batch / "comparison_report.json").read_text())
    easy = {t.id for t in load_tasks([TASKS / "easy"])}
    pairs = {(r["task_id"], r["model"]) for r in report["runs"]}
    assert pairs == {(t, m) for t in easy | {"add_comment"} for m in ("ollama/a", "ollama/b")}
    assert set(report["task_matrix"]) == easy | {"add_comment"}
    assert report["aggregates"]["ollama/a"]["runs"] == len(easy) + 1
