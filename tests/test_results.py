"""The run result's one list of keys: the TypedDict, RESULT_KEYS, empty_result and the run id agree."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import fields

import pytest

from benchtui.engine import checkoutput, prompts
from benchtui.engine.events import RunProgress, RunUpdate
from benchtui.engine.models import ModelSpec
from benchtui.engine.results import RESULT_KEYS, RunResult, empty_result, result_run_id, run_id
from benchtui.engine.runner import run_fingerprint
from benchtui.engine.tasks import load_tasks
from tests.conftest import REPO


def test_empty_result_has_exactly_the_declared_keys() -> None:
    task = load_tasks([REPO / "tasks" / "easy" / "fix_typo.md"])[0]
    result = empty_result(task, ModelSpec(key="ollama:m", name="m", provider="ollama", display_name="m"), 2)
    assert set(result) == set(RESULT_KEYS)
    assert len(RESULT_KEYS) == len(set(RESULT_KEYS)) == len(RunResult.__annotations__)
    assert result_run_id(result) == run_id(task.id, "ollama:m", 2) == f"{task.id}::ollama:m::2"


def test_the_csv_columns_keep_their_order() -> None:
    # Append-only: a script reading the CSV by position must keep working.
    assert RESULT_KEYS[:6] == ("task_id", "model", "repeat", "status", "error", "error_message")
    at = RESULT_KEYS.index("tokens_per_s_source")
    assert RESULT_KEYS[at : at + 4] == ("tokens_per_s_source", "truncated_replies", "history_dropped", "queue_time_s")
    # Issue 14's keys, after those (later issues append after them).
    at = RESULT_KEYS.index("assistant")
    assert RESULT_KEYS[at - 1 : at + 5] == (
        "queue_time_s",
        "assistant",
        "assistant_version",
        "assistant_sandbox",
        "repaired_tool_calls",
        "model_requests",
    )


def test_a_result_from_an_older_file_without_repeat_has_a_run_id() -> None:
    assert result_run_id({"task_id": "t", "model": "m", "status": "passed"}) == "t::m::1"


def test_rewording_any_text_the_model_reads_changes_the_run_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    task = load_tasks([REPO / "tasks" / "easy" / "fix_typo.md"])[0]
    model = ModelSpec(key="ollama:m", name="m", provider="ollama", display_name="m")
    monkeypatch.setattr(prompts, "digest", functools.cache(prompts.digest.__wrapped__))  # a fresh cache
    before = run_fingerprint(task, model)
    assert run_fingerprint(task, model) == before  # stable while nothing changes
    seen = {before}
    rewordings: list[Callable[[], None]] = [
        lambda: monkeypatch.setattr(prompts, "_DIFF_RULES", prompts._DIFF_RULES.replace("expert", "seasoned")),
        lambda: monkeypatch.setitem(prompts.PATH_REASONS, "parent", "'..' may not appear in a path"),
        lambda: monkeypatch.setattr(prompts, "edit_missing_file", lambda path: f"{path} is not there."),
        lambda: monkeypatch.setattr(prompts, "feedback_prompt", lambda **_: "Try again."),
        # the summary of a failed node check that the feedback quotes
        lambda: monkeypatch.setattr(checkoutput, "summarise_tap", lambda output, lines=40: "node: it failed"),
    ]
    for reword in rewordings:
        reword()
        prompts.digest.cache_clear()  # computed once per process: the texts are the source's
        after = run_fingerprint(task, model)
        assert after not in seen
        seen.add(after)


def test_progress_has_one_shape_from_the_contestant_to_the_views() -> None:
    # RunUpdate is RunProgress with the run's id first: one name per figure all the way (no renaming).
    assert [f.name for f in fields(RunUpdate)] == ["run_id", *(f.name for f in fields(RunProgress))]
    progress = RunProgress("checking", 2, 5, 2, 1, 120, 33.3, 4.0, "1 failed", hints_given=1)
    update = RunUpdate.of("r1", progress)
    assert update == RunUpdate("r1", "checking", 2, 5, 2, 1, 120, 33.3, 4.0, "1 failed", 1, 0)
