"""What a failed check tells its reader: the model (which tests failed and why) and a task author running
``tasks validate`` (the lines that say why, with paths that still exist)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchtui.cli import main
from benchtui.engine.checkoutput import failure_excerpt, summarise_tap
from benchtui.engine.contestants.tally import last_line, tail
from tests.conftest import TASKS
from tests.support.scripted import Script, ScriptedOllama, fixed

JS_SLUGIFY = TASKS / "easy" / "js_slugify.md"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node")

# Node 20's TAP for a suite with one failing test, one passing, and a failing top-level test (trimmed frames).
NESTED_TAP = """TAP version 13
# Subtest: slugs
    # Subtest: lower case
    not ok 1 - lower case
      ---
      duration_ms: 1.755613
      location: 'a.test.js:4:3'
      failureType: 'testCodeFailure'
      error: |-
        slug must be lower case

        'A' !== 'a'

      code: 'ERR_ASSERTION'
      stack: |-
        TestContext.<anonymous> (a.test.js:4:37)
        Test.runInAsyncScope (node:async_hooks:206:9)
      ...
    # Subtest: fine
    ok 2 - fine
      ---
      duration_ms: 0.137924
      ...
    1..2
not ok 1 - slugs
  ---
  duration_ms: 2.966307
  type: 'suite'
  location: 'a.test.js:3:6'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  code: 'ERR_TEST_FAILURE'
  ...
# Subtest: top
not ok 2 - top
  ---
  duration_ms: 7.282365
  location: 'a.test.js:7:1'
  failureType: 'testCodeFailure'
  error: |-
    The expression evaluated to a falsy value:

      assert.ok(false)

  code: 'ERR_ASSERTION'
  stack: |-
    TestContext.<anonymous> (a.test.js:7:28)
    Test.run (node:internal/test_runner/test:796:25)
  ...
1..2
# tests 3
# suites 1
# pass 1
# fail 2
# cancelled 0
# skipped 0
# todo 0
# duration_ms 80.400158
"""


def test_tap_is_summarised_as_the_failing_tests_with_their_assertion_messages() -> None:
    assert summarise_tap(NESTED_TAP) == (
        "node --test: 2 of 3 tests failed\n"
        "✗ slugs > lower case (a.test.js:4)\n"
        "    slug must be lower case\n"
        "    'A' !== 'a'\n"
        "✗ top (a.test.js:7)\n"
        "    The expression evaluated to a falsy value:\n"
        "      assert.ok(false)"
    )
    assert tail(NESTED_TAP) == summarise_tap(NESTED_TAP)
    assert last_line(NESTED_TAP) == "node --test: 2 of 3 tests failed"
    assert summarise_tap("3 failed, 1 passed in 0.1s") is None  # not TAP: the tail as before
    assert tail("a\nb\n3 failed in 0.1s") == "a\nb\n3 failed in 0.1s"


def test_a_long_tap_summary_keeps_the_first_failures_and_counts_the_rest() -> None:
    many = "TAP version 13\n" + "".join(
        f"# Subtest: t{i}\nnot ok {i} - t{i}\n  ---\n  error: |-\n    wrong {i}\n  ...\n" for i in range(1, 31)
    )
    lines = tail(many, lines=10).splitlines()
    assert len(lines) <= 10 and lines[1:3] == ["✗ t1", "    wrong 1"]
    assert lines[-1].startswith("… and ") and lines[-1].endswith("more failing test(s)")


@needs_node
@pytest.mark.timeout(120)
def test_a_failing_javascript_check_feeds_back_which_tests_failed_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ScriptedOllama({"idle": Script(fixed("I have no edits."))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert main(["--task", str(JS_SLUGIFY), "--models", "idle", "--no-ui", "--output", str(tmp_path)]) == 0
        feedback = server.bodies["idle"][1]["messages"][-1]["content"]
    assert "node --test: 8 of 10 tests failed" in feedback  # the check has 10 tests; the start passes 2
    assert "✗ every space is replaced (slugify_check.test.js:" in feedback
    assert "Expected values to be strictly equal:" in feedback and "- 'a-b-c-d'" in feedback
    assert "# fail" not in feedback and "Test.runInAsyncScope" not in feedback and "benchtui-run-" not in feedback


def _task(root: Path, solution: str, check: str = "python -m pytest -q -p no:cacheprovider") -> Path:
    for folder, files in (
        ("ws", {"calc.py": "def add(a, b):\n    return a - b\n"}),
        (
            "ws.check",
            {
                "test_calc.py": "from calc import add\n\n\ndef test_add():\n"
                "    assert add(2, 3) == 5, 'add must add: ' + 'x' * 150\n"
            },
        ),
        ("ws.solution", {"calc.py": solution}),
    ):
        (root / folder).mkdir(parents=True)
        for name, text in files.items():
            (root / folder / name).write_text(text)
    task = root / "t.md"
    task.write_text(
        "---\nid: calc\ndifficulty: easy\nworkspace: ws/\ncheck_files: ws.check/\n"
        f"solution: ws.solution/\ncheck: {json.dumps(check)}\ntimeout: 60\n---\nMake add add.\n"
    )
    return task


@pytest.mark.timeout(120)
def test_validate_shows_why_a_solution_fails_whole_and_names_no_deleted_temp_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = _task(tmp_path, "def add(a, b):\n    return a * b\n")
    assert main(["tasks", "validate", str(task)]) == 1
    out = capsys.readouterr().out
    assert "the reference solution fails the check" in out
    assert "AssertionError: add must add: " + "x" * 150 in out  # the assertion, not cut at 120 characters
    assert "FAILED test_calc.py::test_add" in out and "1 failed" in out
    assert "benchtui-run-" not in out and "/tmp/" not in out


def test_failure_excerpt_keeps_assertions_failed_tests_and_the_last_line() -> None:
    pytest_output = "\n".join(
        [
            "F.",
            "    def test_x():",
            ">       assert f() == 2",
            "E       assert 1 == 2",
            "E        +  where 1 = f()",
            "test_a.py:3: AssertionError",
            "=== short test summary info ===",
            *(f"FAILED test_a.py::test_{i} - assert 1 == 2" for i in range(6)),
            "6 failed, 1 passed in 0.1s",
        ]
    )
    assert failure_excerpt(pytest_output) == [
        "E       assert 1 == 2",
        "E        +  where 1 = f()",
        *(f"FAILED test_a.py::test_{i} - assert 1 == 2" for i in range(4)),
        "… and 2 more failed",
        "6 failed, 1 passed in 0.1s",
    ]
    assert failure_excerpt("make: *** [check] Error 2\ndone") == ["make: *** [check] Error 2", "done"]
    assert failure_excerpt("") == ["(the check printed nothing)"]


@pytest.mark.timeout(60)
def test_check_output_names_workspace_paths_not_the_deleted_temp_copy(tmp_path: Path) -> None:
    from benchtui.engine.tasks import load_task
    from benchtui.engine.workspace import Workspace

    task = load_task(
        _task(
            tmp_path,
            "def add(a, b):\n    return a + b\n",
            check="python -c \"import os, sys; sys.exit(os.getcwd() + '/calc.py: broken')\"",
        )
    )
    with Workspace(task) as workspace:
        outcome = workspace.run_check(30)
    assert not outcome.passed and outcome.output.strip() == "calc.py: broken"
