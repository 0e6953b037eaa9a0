"""What the subcommands print when piped, for a broken input, and with Ollama off: nothing cut, nothing empty,
nothing that is not in use."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchtui.cli import main
from tests.conftest import TASKS, write_config


@pytest.fixture(autouse=True)
def piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # capsys is a pipe; rich's default for one is 80 columns


def quick_tasks(root: Path) -> Path:
    """Tasks whose check is ``true``: validate finds problems fast, and shows every row."""
    (root / "ws").mkdir(parents=True)
    (root / "ws" / "a.txt").write_text("x\n")
    for name, level in (("a_hard", "hard"), ("b_smoke", "smoke"), ("c_easy", "easy")):
        (root / f"{name}.md").write_text(
            f"---\nid: {name}\ndifficulty: {level}\nworkspace: ws/\ncheck: 'true'\n---\nDo it.\n"
        )
    return root


def test_piped_task_tables_keep_every_header_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "list", str(TASKS)]) == 0
    listed = capsys.readouterr().out
    assert "…" not in listed
    assert all(header in listed.splitlines()[1] for header in ("Level", "Title", "Timeout", "Hints", "Check", "File"))
    assert main(["tasks", "validate", str(quick_tasks(tmp_path))]) == 1
    validated = capsys.readouterr().out
    header = next(line for line in validated.splitlines() if "Task" in line)
    for name in ("Start fails", "Solution passes", "Check-edit fails", "In time", "Slowest check", "Verdict"):
        assert name in header
    assert "…" not in validated


def test_tasks_list_and_validate_go_in_the_same_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = quick_tasks(tmp_path)
    assert main(["tasks", "list", str(folder)]) == 0
    listed = capsys.readouterr().out
    main(["tasks", "validate", str(folder)])
    validated = capsys.readouterr().out
    ids = ["b_smoke", "c_easy", "a_hard"]  # level by level (not path order), as the batch runs them
    assert sorted(ids, key=listed.index) == ids and sorted(ids, key=validated.index) == ids


def test_validating_only_a_broken_file_prints_the_problem_not_an_empty_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: bad\ndifficulty: impossible\n---\nDo it.\n")
    assert main(["tasks", "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "Validating 0" not in out and "Verdict" not in out
    assert "No task to validate: 1 file could not be loaded." in out
    assert f"{bad}:3: 'difficulty'" in out and "1 problem(s) found" in out


def test_models_says_ollama_is_off_instead_of_printing_its_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "m.yaml", "ollama: {enabled: false}\nembedded: {enabled: false}\n")
    assert main(["models", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"Ollama: off (ollama.enabled is false in {config})" in out and "127.0.0.1:9" not in out
    on = write_config(tmp_path / "on.yaml", "embedded: {enabled: false}\n")
    assert main(["models", "--config", str(on)]) == 0
    assert "Ollama: http://127.0.0.1:9" in capsys.readouterr().out


def test_tasks_that_cannot_run_here_are_listed_and_not_validated_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = quick_tasks(tmp_path / "tasks")
    (folder / "d_js.md").write_text("---\nid: d_js\ndifficulty: easy\nworkspace: ws/\ncheck: node --test\n---\nDo.\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-node-here"))  # a machine without Node.js
    assert main(["tasks", "list", str(folder)]) == 0
    listed = capsys.readouterr()
    assert "d_js" in listed.out  # the table on stdout, the warning on stderr
    assert "d_js cannot run here: its check runs 'node', which is not installed" in listed.err
    for name in ("a_hard", "b_smoke", "c_easy"):
        (folder / f"{name}.md").unlink()
    assert main(["tasks", "validate", str(folder)]) == 0
    validated = capsys.readouterr().out
    assert "skipped" in validated and "d_js not validated: its check runs 'node'" in validated
    assert "No task validated: 1 task cannot run here" in validated


def test_a_batch_of_only_tasks_that_cannot_run_here_is_refused_naming_the_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = quick_tasks(tmp_path / "tasks")
    js = folder / "d_js.md"
    js.write_text("---\nid: d_js\ndifficulty: easy\nworkspace: ws/\ncheck: node --test\n---\nDo.\n")
    config = write_config(tmp_path / "models_config.yaml", "ollama: {enabled: false}\nembedded: {enabled: false}\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-node-here"))
    code = main(["--task", str(js), "--no-ui", "--config", str(config), "--output", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "d_js.md" in err and "task 'd_js' cannot run here: its check runs 'node'" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_piped_commands_print_no_trailing_spaces_and_notes_go_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rich pads every table line to the console's width (1000 when piped): a reader (`| head -1`, diff, grep)
    gets the table's lines as written, and the notes (Ollama not reachable) apart from them on stderr."""
    config = write_config(tmp_path / "m.yaml", "embedded: {enabled: false}\n")  # Ollama at 127.0.0.1:9: no one
    assert main(["models", "--config", str(config)]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines()[0].strip() == "Models"
    assert "Ollama not reachable" not in printed.out and printed.err.startswith("• Ollama not reachable at")
    assert "Model" in printed.out.splitlines()[1] and "Status" in printed.out.splitlines()[1]
    outputs = [printed.out, printed.err]
    for args in (["tasks", "list", str(TASKS)], ["history", "--output", str(tmp_path)], ["assistants"]):
        assert main(args) == 0
        outputs.append(capsys.readouterr().out)
    for output in outputs:
        assert output and not [line for line in output.splitlines() if line != line.rstrip()]
