"""What the model is told after a failed check, per test runner, read from the real runners' output (the
imported Exercism sample with a broken solution, checked in the sandbox); and ``tasks validate``'s proof
that a check which ran no tests is a broken task."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from benchtui.engine import checkoutput, jest
from benchtui.engine.contestants.tally import last_line, tail
from benchtui.engine.importers.exercism import import_exercises
from benchtui.engine.tasks import Task, load_task
from benchtui.engine.validate import validate_task
from benchtui.engine.workspace import Workspace, overlay
from tests.conftest import skip_unless_installed
from tests.test_exercism_import import SAMPLE, jest_home, with_jest  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason=f"the Exercism sample is not at {SAMPLE}")


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("imported")
    import_exercises(SAMPLE, into)
    return into


def broken_run(task: Task, file: str, old: str, new: str) -> str:
    """The check's output for the reference solution with one line broken."""
    if not task.available:
        pytest.skip(f"{task.id}: {task.unavailable_reason}")
    assert task.solution is not None
    with Workspace(task) as workspace:
        overlay(task.solution, workspace.root)
        path = workspace.root / file
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
        outcome = workspace.run_check(300)
    assert not outcome.passed
    return outcome.output


def start_run(task: Task) -> str:
    if not task.available:
        pytest.skip(f"{task.id}: {task.unavailable_reason}")
    with Workspace(task) as workspace:
        return workspace.run_check(300).output


def test_pytest_feedback_names_the_failing_tests_and_their_assertions(imported: Path) -> None:
    task = load_task(imported / "python" / "python-bowling.md")
    output = broken_run(task, "bowling.py", "return self.total_pins == 10 and len(self.throws) == 1", "return False")
    feedback = tail(output)
    lines = feedback.splitlines()
    assert lines[0] == "pytest: 11 of 31 tests failed"
    assert "✗ BowlingTest.test_all_strikes_is_a_perfect_game (bowling_test.py:98)" in lines
    assert "    AssertionError: 100 != 300" in lines
    assert "short test summary" not in feedback and len(lines) <= 40
    assert last_line(output) == "pytest: 11 of 31 tests failed"


def test_a_python_syntax_error_is_named_where_pytest_could_not_import_the_tests(imported: Path) -> None:
    task = load_task(imported / "python" / "python-bowling.md")
    output = broken_run(task, "bowling.py", "def is_strike(self):", "def is_strike(self)")
    assert tail(output).splitlines() == [
        "pytest failed",
        "✗ collecting bowling_test.py",
        '    File "bowling.py", line 14',
        "    def is_strike(self)",
        "    SyntaxError: expected ':'",
    ]


def test_jest_feedback_names_the_failing_spec_and_its_expectation(imported: Path, with_jest: Path | None) -> None:  # noqa: F811
    task = load_task(imported / "javascript" / "javascript-binary.md")
    if with_jest is None:
        pytest.skip("benchtui's jest could not be installed (node, npm or the npm registry is missing)")
    output = broken_run(task, "binary.js", "/^[01]*$/", "/^[012]*$/")
    assert tail(output).splitlines() == [
        "jest: 1 of 10 tests failed",
        "✗ binary › invalid inputs are null (binary.spec.js:34)",
        "    expect(received).toEqual(expected) // deep equality",
        "    Expected: null",
        "    Received: 1",
    ]


def test_a_javascript_syntax_error_is_named_not_jests_advice(imported: Path, with_jest: Path | None) -> None:  # noqa: F811
    if with_jest is None:
        pytest.skip("benchtui's jest could not be installed (node, npm or the npm registry is missing)")
    task = load_task(imported / "javascript" / "javascript-binary.md")
    output = broken_run(task, "binary.js", "constructor(binary) {", "constructor(binary) {{")
    assert tail(output).splitlines() == [
        "jest failed",
        "✗ Test suite failed to run (binary.spec.js:1)",
        "    SyntaxError: binary.js: Missing semicolon. (8:13)",
    ]


def test_jest_runs_the_xtests_as_exercisms_ci_does(imported: Path, with_jest: Path | None) -> None:  # noqa: F811
    if with_jest is None:
        pytest.skip("benchtui's jest could not be installed (node, npm or the npm registry is missing)")
    task = load_task(imported / "javascript" / "javascript-binary.md")
    output = start_run(task)
    assert "Tests:       10 failed, 10 total" in output  # nine of the ten are xtest in the spec
    assert (task.check_files / "binary.spec.js").read_text().count("xtest(") == 9  # type: ignore[operator]


def test_cargo_feedback_names_the_failing_tests_and_the_assertion(imported: Path) -> None:
    task = load_task(imported / "rust" / "rust-acronym.md")
    output = broken_run(task, "src/lib.rs", "to_uppercase", "to_lowercase")
    lines = tail(output).splitlines()
    assert lines[0] == "cargo test: 10 of 10 tests failed"  # the #[ignore]d tests ran too
    assert lines[1:5] == [
        "✗ all_caps_word (tests/acronym.rs:35)",
        "    assertion `left == right` failed",
        '    left: "gimp"',
        '    right: "GIMP"',
    ]


def test_a_rust_compile_error_is_named_with_its_place(imported: Path) -> None:
    task = load_task(imported / "rust" / "rust-acronym.md")
    output = broken_run(task, "src/lib.rs", "pub fn abbreviate", "pub fn abbreviated")
    lines = tail(output).splitlines()
    assert lines[0] == "the build failed"
    assert any(line.startswith("✗ unresolved import") or "abbreviate" in line for line in lines[1:]), lines


@pytest.mark.timeout(900)
def test_catch_feedback_names_the_test_case_and_the_expansion(imported: Path) -> None:
    task = load_task(imported / "cpp" / "cpp-clock.md")
    output = broken_run(task, "clock.cpp", "const int hours_per_day = 24;", "const int hours_per_day = 12;")
    lines = tail(output).splitlines()
    assert lines[0] == "Catch: 2 of 3 test cases failed"
    assert lines[1:5] == [
        "✗ time_tests (clock_test.cpp:186)",
        "    REQUIRE( t.expected == actual )",
        '    with expansion: "23:15" == "11:15"',
        "    with message: [23:15 != 11:15] test case: negative hour",
    ]
    assert "benchtui-check-" not in output  # the build's paths are the workspace's


@pytest.mark.timeout(900)
def test_a_cpp_compile_error_is_named_with_its_place(imported: Path) -> None:
    task = load_task(imported / "cpp" / "cpp-clock.md")
    lines = tail(start_run(task)).splitlines()
    assert lines[0] == "the build failed"
    assert "✗ ‘clock’ is not a member of ‘date_independent’ (clock_test.cpp:183)" in lines


def test_go_feedback_names_the_failing_subtest_and_its_message(imported: Path) -> None:
    skip_unless_installed("go")
    task = load_task(imported / "go" / "go-beer-song.md")
    output = broken_run(task, "beer_song.go", "Go to the store and buy", "Go to the shop and buy")
    lines = tail(output).splitlines()
    assert lines[:3] == ["go test failed", "✗ TestBottlesVerse/verse_0 (beer_song_test.go:63)", "    Verse(0)"]
    assert lines[3].startswith('    got:"No more bottles') and "Go to the shop" in lines[3]
    assert lines[4].startswith('    want:"No more bottles') and "Go to the store" in lines[4]


def test_a_go_build_error_is_named_with_its_place(imported: Path) -> None:
    skip_unless_installed("go")
    lines = tail(start_run(load_task(imported / "go" / "go-bowling.md"))).splitlines()
    assert lines[:2] == ["the build failed", "✗ undefined: Game (bowling.go:5)"]


def test_junit_feedback_names_the_failing_tests_and_assertj_s_message(imported: Path) -> None:
    task = load_task(imported / "java" / "java-all-your-base.md")
    output = broken_run(task, "src/main/java/BaseConverter.java", "at least 2.", "at least two.")
    lines = tail(output).splitlines()
    assert lines[0] == "JUnit: 6 of 20 tests failed"  # the @Disabled tests ran too
    assert lines[1:7] == [
        "✗ BaseConverterTest.testFirstBaseIsOne() (BaseConverterTest.java:120)",
        "    org.opentest4j.AssertionFailedError:",
        "    Expecting message to be:",
        '    <"Bases must be at least 2.">',
        "    but was:",
        '    <"Bases must be at least two.">',
    ]


# A check that ran no tests


def load_task_available_junit() -> bool:
    from benchtui.engine import junit

    return junit.unavailable_reason() is None


def _task(tmp_path: Path, check: str, files: dict[str, str], solution: dict[str, str]) -> Task:
    for folder, content in (("ws", files), ("sol", solution)):
        (tmp_path / folder).mkdir()
        for name, text in content.items():
            (tmp_path / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / folder / name).write_text(textwrap.dedent(text))
    md = tmp_path / "empty.md"
    md.write_text(f"---\nid: empty\ndifficulty: easy\nworkspace: ws/\nsolution: sol/\ncheck: {check}\n---\nDo it.\n")
    return load_task(md)


CASES: dict[str, tuple[list[str], str, dict[str, str], str]] = {
    "node --test": (["node"], "node --test", {"app.js": "module.exports = 1;\n"}, "# tests 0"),
    "pytest": ([], "python -m pytest -q -p no:cacheprovider", {"app.py": "x = 1\n"}, "no tests ran"),
    "cargo": (
        ["cargo"],
        "cargo test --offline -q",
        {"Cargo.toml": '[package]\nname = "empty"\nversion = "0.1.0"\nedition = "2021"\n', "src/lib.rs": "\n"},
        "test result: ok. 0 passed; 0 failed",
    ),
    "jest": (["node"], jest.PROGRAM, {"app.js": "module.exports = 1;\n"}, "No tests found, exiting with code"),
    "junit": (
        ["javac", "java"],
        "benchtui-junit",
        {"src/main/java/A.java": "class A {}\n", "src/test/java/ATest.java": "class ATest {}\n"},
        "0 tests found",
    ),
    "go": (
        ["go"],
        "go test ./...",
        {"go.mod": "module empty\n\ngo 1.18\n", "app.go": "package empty\n"},
        "no test files",
    ),
}


@pytest.mark.parametrize("runner", sorted(CASES))
def test_a_check_that_ran_no_tests_is_a_broken_task(
    tmp_path: Path,
    runner: str,
    request: pytest.FixtureRequest,
) -> None:
    tools, check, files, evidence = CASES[runner]
    skip_unless_installed(*tools)
    if runner == "jest" and request.getfixturevalue("with_jest") is None:
        pytest.skip("benchtui's jest could not be installed (node, npm or the npm registry is missing)")
    if runner == "junit" and not load_task_available_junit():
        pytest.skip("JUnit 5 and AssertJ are not installed (Debian: apt-get install junit5 libassertj-core-java)")
    solution = {
        name: text + "\n// solved\n" if name.endswith((".js", ".rs", ".java")) else text for name, text in files.items()
    }
    task = _task(tmp_path, check, files, solution)
    report = validate_task(task)
    assert report.tests_ran is False
    assert any(p.startswith("the check ran no tests (") and evidence in p for p in report.problems), report.problems


def test_a_check_that_ran_tests_is_not_flagged() -> None:
    check: Callable[[str, int | None], str | None] = checkoutput.no_tests_ran
    assert check("1 passed in 0.01s\n", 0) is None
    assert check("test result: ok. 0 passed; 0 failed; 0 ignored\ntest result: ok. 3 passed; 0 failed;\n", 0) is None
    assert check("ok  \tbowling\t0.01s\n", 0) is None
    assert check("pytest: something\n", 5) == "pytest exited with 5 (no tests collected)"
