"""``--preset polyglot``: a batch run as Aider's polyglot benchmark runs it (2 turns, no hints, the task's own
check timeout), recorded in batch.json and said in the report; a resumed batch keeps it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchtui.cli import main
from benchtui.engine import presets
from benchtui.engine.errors import InputError
from benchtui.engine.tasks import load_task
from tests.support.scripted import Script, ScriptedOllama, fixed
from tests.test_headless import FIX_TYPO, STUBBORN, batch_dir, model_runs


def test_the_polyglot_preset_gives_two_turns_no_hints_and_the_tasks_check_timeout() -> None:
    task = load_task(FIX_TYPO)
    assert task.max_turns == 5 and task.hints and task.check_timeout_s is None
    (run_as,) = presets.apply([task], "polyglot")
    assert (run_as.max_turns, run_as.hints, run_as.check_timeout_s) == (2, (), presets.AIDER_TEST_TIMEOUT_S)
    assert run_as.fingerprint() != task.fingerprint()  # a preset's runs are not the plain runs
    assert presets.apply([task], None) == [task]
    with pytest.raises(InputError, match="unknown preset 'aider'"):
        presets.apply([task], "aider")


def test_a_polyglot_batch_stops_after_two_turns_without_hints_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ScriptedOllama({"stubborn": Script(fixed(STUBBORN))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        code = main(
            [
                "--task",
                str(FIX_TYPO),
                "--models",
                "stubborn",
                "--no-ui",
                "--output",
                str(tmp_path),
                "--preset",
                "polyglot",
            ]
        )
        prompts = [body["messages"][-1]["content"] for body in server.bodies["stubborn"]]
    assert code == 0
    folder = batch_dir(tmp_path)
    (run,) = model_runs(folder, "ollama_stubborn")
    assert run["status"] == "failed" and run["turns"] == 2 and run["hints_given"] == 0
    assert len(prompts) == 2 and not any("Hint from the user" in p for p in prompts)
    manifest = json.loads((folder / "batch.json").read_text())
    assert manifest["options"]["preset"] == "polyglot" and manifest["tasks"][0]["max_turns"] == 2
    assert "preset polyglot" in (folder / "comparison_report.html").read_text()


def test_a_batch_without_a_preset_says_nothing_of_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedOllama({"stubborn": Script(fixed(STUBBORN))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert main(["--task", str(FIX_TYPO), "--models", "stubborn", "--no-ui", "--output", str(tmp_path)]) == 0
    folder = batch_dir(tmp_path)
    (run,) = model_runs(folder, "ollama_stubborn")
    assert run["turns"] > 2 and run["hints_given"] > 0
    assert json.loads((folder / "batch.json").read_text())["options"]["preset"] is None
    assert "preset" not in (folder / "comparison_report.html").read_text()


def test_a_tasks_check_timeout_is_read_and_checked(tmp_path: Path) -> None:
    text = FIX_TYPO.read_text().replace("timeout: 300\n", "timeout: 300\ncheck_timeout: 42\n")
    copy = tmp_path / "fix_typo.md"
    for folder in ("fix_typo", "fix_typo.check", "fix_typo.solution"):
        shutil.copytree(FIX_TYPO.parent / folder, tmp_path / folder)
    copy.write_text(text)
    task = load_task(copy)
    assert task.check_timeout_s == 42.0 and task.fingerprint() != load_task(FIX_TYPO).fingerprint()
    assert presets.apply([task], "polyglot")[0].check_timeout_s == 42.0  # the task's own wins
    copy.write_text(text.replace("check_timeout: 42", "check_timeout: 0"))
    with pytest.raises(InputError, match="'check_timeout': expected a number of seconds >= 1, got 0"):
        load_task(copy)
