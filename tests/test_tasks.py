"""The task format: loading, and errors that name the file, the line and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchtui.engine.errors import TaskError
from benchtui.engine.tasks import find_task_files, load_task, load_tasks
from tests.conftest import TASKS, requires_task_tools


def make_task(tmp_path: Path, front: str, prompt: str = "Do the thing.") -> Path:
    (tmp_path / "ws").mkdir(exist_ok=True)
    (tmp_path / "ws" / "a.py").write_text("x = 1\n")
    path = tmp_path / "t.md"
    path.write_text(f"---\n{front}\n---\n{prompt}\n")
    return path


def test_shipped_fix_typo_loads_with_every_field() -> None:
    task = load_task(TASKS / "easy" / "fix_typo.md")
    assert task.id == "fix_typo"
    assert task.difficulty == "easy"
    assert task.workspace.is_dir() and task.check_files is not None and task.solution is not None
    assert task.max_turns == 5 and task.timeout_s == 300
    assert len(task.hints) >= 2
    assert "greet" in task.prompt


def test_defaults_apply_when_optional_keys_are_missing(tmp_path: Path) -> None:
    task = load_task(make_task(tmp_path, "id: t\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'"))
    assert task.max_turns == 5 and task.timeout_s == 1800 and task.hints == () and task.check_files is None


@pytest.mark.parametrize(
    ("front", "line", "fragment"),
    [
        ("id: t\ndifficulty: extreme\nworkspace: ws/\ncheck: 'true'", 3, "'difficulty': expected one of smoke"),
        ("id: t\ndifficulty: easy\nworkspace: nope/\ncheck: 'true'", 4, "'workspace': folder 'nope/' not found"),
        ("id: t\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\nmax_turns: zero", 6, "'max_turns': expected a whole"),
        ("id: t\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\nhints: 3", 6, "'hints': expected a list"),
        ("id: t\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\ncolour: red", 6, "'colour': unknown key"),
        ("id: t\ndifficulty: [easy\nworkspace: ws/", None, "invalid YAML"),
    ],
)
def test_bad_front_matter_names_file_line_and_expectation(
    tmp_path: Path, front: str, line: int | None, fragment: str
) -> None:
    path = make_task(tmp_path, front)
    with pytest.raises(TaskError) as caught:
        load_task(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert fragment in message
    if line is not None:
        assert caught.value.line == line


def test_missing_required_key_and_unclosed_front_matter(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="missing required key 'check'"):
        load_task(make_task(tmp_path, "id: t\ndifficulty: easy\nworkspace: ws/"))
    bad = tmp_path / "open.md"
    bad.write_text("---\nid: t\n")
    with pytest.raises(TaskError, match="not closed"):
        load_task(bad)
    with pytest.raises(TaskError, match="task file not found"):
        load_task(tmp_path / "missing.md")


@requires_task_tools(TASKS / "easy")
def test_folders_expand_to_every_task_and_skip_workspace_markdown() -> None:
    files = find_task_files(TASKS)
    assert TASKS / "easy" / "fix_typo.md" in files
    assert all(".check" not in str(f) and ".solution" not in str(f) for f in files)
    tasks = load_tasks([TASKS / "easy", TASKS / "smoke" / "add_comment.md"])
    ids = [t.id for t in tasks]
    assert "fix_typo" in ids and ids[-1] == "add_comment"
    assert len(ids) == len(set(ids))


def test_fingerprint_changes_with_the_workspace(tmp_path: Path) -> None:
    path = make_task(tmp_path, "id: t\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'")
    before = load_task(path).fingerprint()
    (tmp_path / "ws" / "a.py").write_text("x = 2\n")
    assert load_task(path).fingerprint() != before


def test_a_check_command_that_does_not_exist_is_refused_at_load(tmp_path: Path) -> None:
    path = make_task(tmp_path, "id: t\ndifficulty: easy\nworkspace: ws/\ncheck: pytestx -q")
    with pytest.raises(TaskError, match="'check': command 'pytestx' not found on PATH") as caught:
        load_task(path)
    assert caught.value.line == 5
    assert load_task(make_task(tmp_path, "id: t\ndifficulty: easy\nworkspace: ws/\ncheck: python -m pytest -q"))


def test_duplicate_keys_are_an_error_and_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = make_task(tmp_path, "id: t\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\nid: t2")
    with pytest.raises(TaskError, match="'id': duplicate key \\(first set on line 2\\)") as caught:
        load_task(path)
    assert caught.value.line == 6
    bom = tmp_path / "bom.md"
    bom.write_bytes(b"\xef\xbb\xbf---\nid: b\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\n---\nGo.\n")
    assert load_task(bom).id == "b"


def test_a_difficulty_that_does_not_match_its_level_folder_is_refused_with_file_and_line(tmp_path: Path) -> None:
    level = tmp_path / "tasks" / "smoke"
    level.mkdir(parents=True)
    path = make_task(level, "id: t\ndifficulty: hard\nworkspace: ws/\ncheck: 'true'")
    with pytest.raises(TaskError) as caught:
        load_task(path)
    assert str(caught.value).startswith(f"{path}:3: 'difficulty': 'hard' does not match the folder")
    assert "set difficulty: smoke" in str(caught.value)
    # Outside a level folder any level goes; inside the matching one it loads.
    assert load_task(make_task(tmp_path, "id: t\ndifficulty: hard\nworkspace: ws/\ncheck: 'true'")).difficulty == "hard"
    assert load_task(make_task(level, "id: t\ndifficulty: smoke\nworkspace: ws/\ncheck: 'true'")).difficulty == "smoke"


def test_a_folder_loads_level_by_level_then_by_path_and_given_files_keep_their_order(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    for name, level in (("a_hard", "hard"), ("b_smoke", "smoke"), ("c_easy", "easy"), ("d_smoke", "smoke")):
        (tmp_path / f"{name}.md").write_text(
            f"---\nid: {name}\ndifficulty: {level}\nworkspace: ws/\ncheck: 'true'\n---\nDo it.\n"
        )
    assert [t.id for t in load_tasks([tmp_path])] == ["b_smoke", "d_smoke", "c_easy", "a_hard"]
    assert [t.id for t in load_tasks([tmp_path / "a_hard.md", tmp_path / "b_smoke.md"])] == ["a_hard", "b_smoke"]
    shipped = [t.difficulty for t in load_tasks([TASKS])]
    assert shipped == sorted(shipped, key=["smoke", "easy", "medium", "hard"].index)


# --- a task whose toolchain this machine lacks ----------------------------------------------------------


def test_a_task_whose_toolchain_is_not_installed_loads_as_unavailable_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine without Node.js: the JavaScript task is well written; the machine lacks its program.
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    task = load_task(make_task(tmp_path, "id: js\ndifficulty: easy\nworkspace: ws/\ncheck: node --test"))
    assert not task.available
    assert task.unavailable_reason == (
        "its check runs 'node', which is not installed here: install Node.js (e.g. apt-get install nodejs)"
    )


def test_a_folder_with_one_task_that_cannot_run_here_still_gives_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchtui.engine.tasks import runnable_tasks

    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "a.py").write_text("x = 1\n")
    (tmp_path / "js.md").write_text("---\nid: js\ndifficulty: easy\nworkspace: ws/\ncheck: node --test\n---\nDo.\n")
    (tmp_path / "py.md").write_text("---\nid: py\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\n---\nDo.\n")
    ready, notes = runnable_tasks(load_tasks([tmp_path]))
    assert [t.id for t in ready] == ["py"]
    assert notes == [
        "skipping task js (js.md): its check runs 'node', which is not installed here: "
        "install Node.js (e.g. apt-get install nodejs)"
    ]
    with pytest.raises(TaskError, match="task 'js' cannot run here: its check runs 'node'") as caught:
        runnable_tasks(load_tasks([tmp_path / "js.md"]))
    assert caught.value.path == tmp_path / "js.md"
