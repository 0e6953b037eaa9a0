"""The shipped task library: every task is valid, and a batch over a folder gives a task × model matrix."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from benchtui.cli import main
from benchtui.engine import prompts
from benchtui.engine.tasks import load_task, load_tasks
from benchtui.engine.validate import example_leaks
from benchtui.engine.workspace import Workspace, overlay
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
    (tmp_path / "bad.md").write_text(
        "---\nid: bad\ndifficulty: impossible\nworkspace: add_comment/\ncheck: 'true'\n---\nDo it.\n"
    )
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
        assert (
            main(
                [
                    "--task",
                    str(TASKS / "easy"),
                    "--task",
                    str(TASKS / "smoke" / "add_comment.md"),
                    "--no-ui",
                    "--output",
                    str(tmp_path),
                ]
            )
            == 0
        )
    (batch,) = tmp_path.iterdir()
    report = json.loads((batch / "comparison_report.json").read_text())
    easy = {t.id for t in load_tasks([TASKS / "easy"])}
    pairs = {(r["task_id"], r["model"]) for r in report["runs"]}
    assert pairs == {(t, m) for t in easy | {"add_comment"} for m in ("ollama/a", "ollama/b")}
    assert set(report["task_matrix"]) == easy | {"add_comment"}
    assert report["aggregates"]["ollama/a"]["runs"] == len(easy) + 1


# The prompts' worked examples share nothing with a shipped task (a model copies the example).

# The examples the system prompts had until 2026-12: the fix_typo task's own file and bug.
OLD_EXAMPLES = (
    'Example. To fix a misspelled word in greet.py:\n\ngreet.py\n```\n<<<<<<< SEARCH\n    return "Helo, " + name\n'
    '=======\n    return "Hello, " + name\n>>>>>>> REPLACE\n```\n',
    "Example. To fix a misspelled word in greet.py:\n\ngreet.py\n```\ndef greet(name):\n"
    '    return "Hello, " + name\n```\n',
)


def test_no_shipped_task_shares_a_file_a_name_or_a_line_with_the_prompts_examples() -> None:
    assert all(
        example in prompts.system_prompt(f) for example, f in zip(prompts.EXAMPLES, ("diff", "whole"), strict=True)
    )
    leaks = {t.id: example_leaks(t) for t in load_tasks([TASKS])}
    assert not any(leaks.values()), leaks


def test_the_old_greet_example_is_caught_as_a_leak_of_fix_typo() -> None:
    leaks = example_leaks(load_task(TASKS / "easy" / "fix_typo.md"), OLD_EXAMPLES)
    assert "the prompts' example names the task's file greet.py" in leaks
    assert "the prompts' example uses the task's name greet" in leaks


def test_tasks_validate_fails_a_task_that_is_the_prompts_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # each problem stays on one line
    for folder, offset in (("ws", 23), ("sol", 32)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "temps.py").write_text(
            f"def to_fahrenheit(celsius):\n    return celsius * 9 / 5 + {offset}\n"
        )
    (tmp_path / "t.md").write_text(
        "---\nid: leaky\ndifficulty: easy\nworkspace: ws/\nsolution: sol/\n"
        "check: grep -q 32 temps.py\n---\nFix the offset.\n"
    )
    assert main(["tasks", "validate", str(tmp_path / "t.md")]) == 1
    out = capsys.readouterr().out
    assert "names the task's file temps.py" in out and "to_fahrenheit" in out
    assert "'return celsius * 9 / 5 + 32'" in out


# Each check tests what its prompt asks: answers that once passed, or would, and must not.

GOOD_CLAMP_DOC = '    """Return value limited to low..high; raise ValueError if low > high."""\n'


def _check_passes(task_md: Path, edit: Callable[[Path], None]) -> bool:
    with Workspace(load_task(task_md)) as workspace:
        edit(workspace.root)
        return workspace.run_check(60.0).passed


def _docstring(doc: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / "mathutils.py"
        path.write_text(
            path.read_text().replace("def clamp(value, low, high):\n", "def clamp(value, low, high):\n" + doc, 1)
        )

    return edit


def _also(first: Callable[[Path], None], name: str, text: str = "x = 1\n") -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        first(root)
        (root / name).write_text(text)

    return edit


def _solution(task_md: Path) -> Callable[[Path], None]:
    solution = load_task(task_md).solution
    assert solution is not None
    return lambda root: overlay(solution, root)


ADD_COMMENT = TASKS / "smoke" / "add_comment.md"
SET_RETRIES = TASKS / "smoke" / "set_retries.md"
FIX_TYPO = TASKS / "easy" / "fix_typo.md"


@pytest.mark.parametrize(
    ("task_md", "edit"),
    [
        # Seen from a model: a docstring of 10+ characters that says neither what clamp returns nor when it raises.
        (ADD_COMMENT, _docstring('    """Clamp helper function."""\n')),
        (ADD_COMMENT, _docstring('    """Return value limited to low..high."""\n')),  # no ValueError
        (ADD_COMMENT, _docstring('    """Raise ValueError if low > high."""\n')),  # nothing about the result
        # Seen from the same model: the right docstring, and a stray file beside it.
        (ADD_COMMENT, _also(_docstring(GOOD_CLAMP_DOC), "Mathutils.py")),
        # The prompt says: change the setting, not retry.py.
        (
            SET_RETRIES,
            lambda root: (root / "retry.py").write_text(
                (root / "retry.py").read_text().replace("config.MAX_RETRIES", "3")
            ),
        ),
        (SET_RETRIES, _also(_solution(SET_RETRIES), "config_backup.py")),
        (FIX_TYPO, _also(_solution(FIX_TYPO), "greet_fixed.py")),
        (
            FIX_TYPO,
            _also(
                _solution(FIX_TYPO),
                "main.py",
                'import sys\n\nif __name__ == "__main__":\n    print(f"Hello, {sys.argv[1]}!")\n',
            ),
        ),
    ],
    ids=[
        "vague-docstring",
        "no-ValueError",
        "no-result",
        "stray-file",
        "retry-py-edited",
        "retry-stray-file",
        "typo-stray-file",
        "main-py-rewritten",
    ],
)
def test_a_check_fails_an_answer_that_skips_what_its_prompt_asks(task_md: Path, edit: Callable[[Path], None]) -> None:
    assert not _check_passes(task_md, edit)


def test_the_add_comment_check_passes_a_docstring_that_says_what_was_asked() -> None:
    assert _check_passes(ADD_COMMENT, _docstring(GOOD_CLAMP_DOC))
