"""``benchtui tasks import exercism``: the real Exercism sample (../shared/exercism-sample, six tracks) becomes
tasks that load, validate and pass with their reference solutions; re-importing writes the same bytes;
what cannot be converted is named with its reason and file."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchtui.cli.commands import main
from benchtui.engine import jest
from benchtui.engine.importers.exercism import import_exercises
from benchtui.engine.models import ModelSpec
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import Task, load_tasks
from benchtui.engine.validate import validate_task
from tests.conftest import find_tool
from tests.support.scripted import Script, ScriptedOpenAI, solution_reply

SAMPLE = Path(__file__).resolve().parent.parent.parent / "shared" / "exercism-sample"
if not SAMPLE.is_dir():  # a worktree sits one level deeper than the main checkout
    SAMPLE = Path("/work/shared/exercism-sample")
pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason=f"the Exercism sample is not at {SAMPLE}")

SAMPLE_TASKS = {
    "cpp": ["cpp-all-your-base", "cpp-clock"],
    "go": ["go-beer-song", "go-bowling"],
    "java": ["java-all-your-base"],
    "javascript": ["javascript-beer-song", "javascript-binary", "javascript-bowling"],
    "python": ["python-beer-song", "python-bowling", "python-list-ops", "python-two-bucket"],
    "rust": ["rust-acronym", "rust-bowling"],
}


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("imported")
    report = import_exercises(SAMPLE, into)
    assert report.skipped == []
    return into


@pytest.fixture(scope="session")
def jest_home(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """benchtui's jest, installed once per test session from the npm registry (None: it cannot be)."""
    if find_tool("node") is None or find_tool("npm") is None:
        return None
    tools = Path(os.environ.get("BENCHTUI_TEST_TOOLS_DIR") or tmp_path_factory.mktemp("tools"))
    saved = os.environ.get(jest.TOOLS_ENV)
    os.environ[jest.TOOLS_ENV] = str(tools)
    try:
        jest.install()
    except jest.JestInstallError:
        return None
    finally:
        if saved is None:
            os.environ.pop(jest.TOOLS_ENV, None)
        else:
            os.environ[jest.TOOLS_ENV] = saved
    return tools


@pytest.fixture
def with_jest(jest_home: Path | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path | None]:
    if jest_home is not None:
        monkeypatch.setenv(jest.TOOLS_ENV, str(jest_home))
    yield jest_home


def runnable(task: Task, jest_home: Path | None) -> None:
    """Skip, naming the missing tool, when this machine cannot run ``task``'s check."""
    if task.check == jest.PROGRAM and jest_home is None:
        pytest.skip("benchtui's jest could not be installed (node, npm or the npm registry is missing)")
    if not task.available:
        pytest.skip(f"{task.id}: {task.unavailable_reason}")


# Importing


def test_every_sample_exercise_imports_as_a_task_per_track(imported: Path) -> None:
    tasks = load_tasks([imported])
    by_track: dict[str, list[str]] = {}
    for task in tasks:
        by_track.setdefault(task.path.parent.name, []).append(task.id)
    assert {track: sorted(ids) for track, ids in by_track.items()} == SAMPLE_TASKS


def test_an_exercise_becomes_stubs_hidden_tests_and_the_example_as_solution(imported: Path) -> None:
    folder = SAMPLE / "python" / "exercises" / "practice" / "bowling"
    task = load_tasks([imported / "python" / "python-bowling.md"])[0]
    assert tree(task.workspace) == {"bowling.py": (folder / "bowling.py").read_bytes()}
    assert task.check_files is not None and task.solution is not None
    assert tree(task.check_files) == {"bowling_test.py": (folder / "bowling_test.py").read_bytes()}
    assert tree(task.solution) == {"bowling.py": (folder / ".meta" / "example.py").read_bytes()}
    # The prompt is the docs joined: the instructions and the append file's exact error messages.
    assert "Score a bowling game." in task.prompt
    assert 'raise ValueError("invalid fill balls")' in task.prompt
    assert "`bowling.py`" in task.prompt and "bowling_test" not in task.prompt
    assert task.check == "python -m pytest -q -p no:cacheprovider" and task.check_timeout_s == 180
    text = task.path.read_text(encoding="utf-8")
    assert "python/exercises/practice/bowling" in text and "MIT licence" in text and "UncleBob" in text


def test_example_files_are_renamed_by_position_and_support_files_stay_hidden(imported: Path) -> None:
    java = load_tasks([imported / "java" / "java-all-your-base.md"])[0]
    assert java.solution is not None and list(tree(java.solution)) == ["src/main/java/BaseConverter.java"]
    assert "gradlew" not in tree(java.workspace) and "gradle/wrapper/gradle-wrapper.jar" not in tree(java.workspace)
    cpp = load_tasks([imported / "cpp" / "cpp-clock.md"])[0]
    assert cpp.solution is not None and sorted(tree(cpp.solution)) == ["clock.cpp", "clock.h"]
    assert cpp.check_files is not None
    assert sorted(tree(cpp.check_files)) == ["clock_test.cpp", "test/catch.hpp", "test/tests-main.cpp"]
    assert sorted(tree(cpp.workspace)) == ["CMakeLists.txt", "clock.cpp", "clock.h"]
    # go: the editor file (cases_test.go) is shown and restored; go.mod, an invalidator, too.
    go = SAMPLE_TASKS["go"][1]
    bowling = imported / "go" / f"{go}.check"
    assert sorted(tree(bowling)) == ["bowling_test.go", "cases_test.go", "go.mod"]
    assert sorted(tree(imported / "go" / go)) == ["bowling.go", "cases_test.go", "go.mod"]
    # JavaScript: jest's tooling files are benchtui's, not the task's; the licence is kept beside the tasks.
    assert sorted(tree(imported / "javascript" / "javascript-binary")) == ["binary.js"]
    assert (imported / "javascript" / "LICENSE").read_bytes() == (
        SAMPLE / "javascript" / "exercises" / "practice" / "binary" / "LICENSE"
    ).read_bytes()


def test_reimporting_gives_byte_identical_output(tmp_path: Path, imported: Path) -> None:
    import_exercises(SAMPLE, tmp_path / "again")
    assert tree(tmp_path / "again") == tree(imported)
    # Over an edited earlier import: the same bytes again, and no stale file left behind.
    stale = tmp_path / "again" / "python" / "python-bowling" / "scratch.py"
    stale.write_text("x = 1\n")
    (tmp_path / "again" / "python" / "python-bowling.md").write_text("edited")
    import_exercises(SAMPLE, tmp_path / "again")
    assert tree(tmp_path / "again") == tree(imported)


def test_one_track_or_one_exercise_imports_alone(tmp_path: Path) -> None:
    report = import_exercises(SAMPLE, tmp_path / "a", tracks=["rust"])
    assert report.tracks == {"rust": ["rust-acronym", "rust-bowling"]}
    one = import_exercises(SAMPLE / "python" / "exercises" / "practice" / "two-bucket", tmp_path / "b")
    assert [p.name for p in one.written] == ["python-two-bucket.md"]
    named = import_exercises(SAMPLE, tmp_path / "c", names=["bowling"], tracks=["python", "rust"])
    assert named.tracks == {"python": ["python-bowling"], "rust": ["rust-bowling"]}


def _copy_track(tmp_path: Path, track: str) -> Path:
    checkout = tmp_path / "checkout"
    shutil.copytree(SAMPLE / track, checkout / track)
    for path in (checkout / track).rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the sample is read-only
    return checkout


def test_what_cannot_be_converted_is_listed_with_the_file_and_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = _copy_track(tmp_path, "python")
    practice = checkout / "python" / "exercises" / "practice"
    (practice / "bowling" / ".meta" / "config.json").write_text('{"files": {"solution": ["bowling.py"],\n  oops}\n')
    config = practice / "list-ops" / ".meta" / "config.json"
    meta = json.loads(config.read_text())
    meta["files"]["test"].append("test_utils.py")
    config.write_text(json.dumps(meta))
    shutil.copytree(practice / "two-bucket", checkout / "cobol" / "exercises" / "practice" / "two-bucket")
    into = tmp_path / "out"
    status = main(["tasks", "import", "exercism", str(checkout), "--into", str(into), "--no-install"])
    out = " ".join(capsys.readouterr().out.split())
    assert status == 1
    assert f"{practice / 'bowling' / '.meta' / 'config.json'}:2: not valid JSON" in out
    assert "'files.test' names test_utils.py, which the exercise does not have" in out
    assert "benchtui has no check for the 'cobol' track" in out
    assert "python: 2 tasks written" in out and "3 exercises could not be converted" in out
    assert sorted(p.name for p in (into / "python").glob("*.md")) == ["python-beer-song.md", "python-two-bucket.md"]


def test_a_path_without_exercises_is_refused_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "import", "exercism", str(tmp_path), "--into", str(tmp_path / "out")]) == 2
    assert f"{tmp_path}: no Exercism exercises here" in capsys.readouterr().err
    assert main(["tasks", "import", "exercism", str(SAMPLE), "--track", "kotlin", "--into", str(tmp_path)]) == 2
    assert "no exercises of track(s) kotlin" in capsys.readouterr().err


# Validating and solving, per track (a track whose toolchain is missing skips naming it)

ALL_SAMPLE = [task_id for ids in SAMPLE_TASKS.values() for task_id in ids]


@pytest.mark.timeout(900)  # the C++ checks compile Catch: about a minute each on a loaded machine
@pytest.mark.parametrize("task_id", ALL_SAMPLE)
def test_every_sample_task_validates(imported: Path, with_jest: Path | None, task_id: str) -> None:
    track = task_id.split("-", 1)[0]
    task = load_tasks([imported / track / f"{task_id}.md"])[0]
    runnable(task, with_jest)
    report = validate_task(task)
    assert report.problems == []
    assert report.start_fails and report.solution_passes and report.check_edit_fails


def test_a_task_whose_toolchain_is_missing_says_which(imported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv(jest.TOOLS_ENV, str(imported / "no-tools"))
    tasks = {t.id: t for t in load_tasks([imported])}
    assert "'go', which is not installed here: install Go" in str(tasks["go-bowling"].unavailable_reason)
    java = str(tasks["java-all-your-base"].unavailable_reason)
    assert "needs javac, java, which are not installed here" in java and "junit5 libassertj-core-java" in java
    assert "'cmake', which is not installed" in str(tasks["cpp-clock"].unavailable_reason)
    assert "install Node.js" in str(tasks["javascript-binary"].unavailable_reason)


def test_a_missing_jest_names_the_install_command(imported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if find_tool("node") is None:
        pytest.skip("node is not installed")
    monkeypatch.setenv(jest.TOOLS_ENV, str(imported / "no-tools"))
    task = load_tasks([imported / "javascript" / "javascript-binary.md"])[0]
    assert f"run `{jest.INSTALL_COMMAND}`" in str(task.unavailable_reason)


@pytest.mark.timeout(900)
def test_every_runnable_sample_task_passes_with_its_solution_in_one_prompt(
    imported: Path, with_jest: Path | None, tmp_path: Path
) -> None:
    tasks = [t for t in load_tasks([imported]) if t.available and not (t.check == jest.PROGRAM and with_jest is None)]
    assert {t.path.parent.name for t in tasks} >= {"python"}
    scripts = {t.id: Script(solution_reply(t.path)) for t in tasks}
    with ScriptedOpenAI(scripts) as server:
        models = [
            ModelSpec(key=t.id, name=t.id, provider="openai", display_name=t.id, base_url=f"{server.url}/v1")
            for t in tasks
        ]
        results = []
        for task, model in zip(tasks, models, strict=True):  # each task solved by the model scripted for it
            outcome = BatchRunner(
                store=ResultsStore(tmp_path / "out"), tasks=[task], models=[model], options=BatchOptions()
            ).run()
            results.extend(outcome.results)
    assert [(r["task_id"], r["status"], r["turns"]) for r in results] == [(t.id, "passed", 1) for t in tasks]


def test_hints_and_the_tracks_difficulty_are_taken_where_given(tmp_path: Path) -> None:
    checkout = _copy_track(tmp_path, "python")
    track = checkout / "python"
    (track / "config.json").write_text(
        json.dumps(
            {"exercises": {"practice": [{"slug": "bowling", "difficulty": 9}, {"slug": "beer-song", "difficulty": 2}]}}
        )
    )
    (track / "exercises" / "practice" / "bowling" / ".docs" / "hints.md").write_text(
        "# Hints\n\n## General\n\n- Keep a list of [rolls][rolls].\n\n"
        "## Bonus\n\nA strike counts the next two rolls.\n\n[rolls]: https://example.org/rolls\n"
    )
    import_exercises(checkout, tmp_path / "out")
    bowling = load_tasks([tmp_path / "out" / "python" / "python-bowling.md"])[0]
    assert bowling.difficulty == "hard" and bowling.max_turns == 10
    assert bowling.hints == (
        "General\n\n- Keep a list of rolls (https://example.org/rolls).",
        "Bonus\n\nA strike counts the next two rolls.",
    )
    assert load_tasks([tmp_path / "out" / "python" / "python-beer-song.md"])[0].difficulty == "easy"
    assert load_tasks([tmp_path / "out" / "python" / "python-list-ops.md"])[0].difficulty == "medium"


def test_importing_javascript_installs_benchtuis_jest_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if find_tool("node") is None or find_tool("npm") is None:
        pytest.skip("node and npm are not installed (Debian: apt-get install nodejs npm)")
    monkeypatch.setenv(jest.TOOLS_ENV, str(tmp_path / "tools"))
    into = tmp_path / "out"
    task_md = into / "javascript" / "javascript-binary.md"
    assert (
        main(["tasks", "import", "exercism", str(SAMPLE), "--track", "javascript", "--into", str(into), "--no-install"])
        == 0
    )
    assert not jest.installed() and "tasks install-jest" in str(load_tasks([task_md])[0].unavailable_reason)
    status = main(["tasks", "import", "exercism", str(SAMPLE), "--track", "javascript", "--into", str(into)])
    captured = capsys.readouterr()
    out = captured.out
    if status != 0 and "cannot install jest" in captured.err:
        pytest.skip("the npm registry cannot be reached")
    assert status == 0 and f"jest {jest.VERSION} installed" in out
    assert jest.installed() and load_tasks([task_md])[0].available
    assert main(["tasks", "install-jest"]) == 0 and "is installed in" in capsys.readouterr().out  # once


def test_a_reference_solution_with_more_files_than_stubs_is_matched_by_name(tmp_path: Path) -> None:
    checkout = _copy_track(tmp_path, "java")
    exercise = checkout / "java" / "exercises" / "practice" / "all-your-base"
    reference = exercise / ".meta" / "src" / "reference" / "java"
    (reference / "Digits.java").write_text("class Digits {}\n")
    (reference / "Shown.java").write_text("enum Shown { A }\n")
    (exercise / "src" / "main" / "java" / "Shown.java").write_text("public enum Shown { A }\n")
    config = exercise / ".meta" / "config.json"
    meta = json.loads(config.read_text())
    meta["files"]["example"] = [
        ".meta/src/reference/java/Digits.java",
        ".meta/src/reference/java/BaseConverter.java",
        ".meta/src/reference/java/Shown.java",
    ]
    meta["files"]["editor"] = ["src/main/java/Shown.java"]
    config.write_text(json.dumps(meta))
    report = import_exercises(checkout, tmp_path / "out")
    assert report.skipped == []
    task = load_tasks(report.written)[0]
    assert task.solution is not None and task.check_files is not None
    assert tree(task.solution) == {
        "src/main/java/BaseConverter.java": (reference / "BaseConverter.java").read_bytes(),
        "src/main/java/Digits.java": b"class Digits {}\n",  # beside the stub, under its own name
    }  # Shown.java is the student's to read, not to change: the shipped one is laid over the workspace
    assert tree(task.check_files)["src/main/java/Shown.java"] == b"public enum Shown { A }\n"


def test_an_exercise_that_needs_crates_is_listed_since_checks_run_offline(tmp_path: Path) -> None:
    checkout = _copy_track(tmp_path, "rust")
    practice = checkout / "rust" / "exercises" / "practice"
    (practice / "bowling" / ".meta" / "Cargo-example.toml").write_text(
        '[package]\nname = "bowling"\nversion = "1.2.0"\nedition = "2021"\n\n[dependencies]\nrand = "0.8"\n'
    )
    report = import_exercises(checkout, tmp_path / "out")
    assert report.tracks == {"rust": ["rust-acronym"]}
    (skipped,) = report.skipped
    assert skipped.where == "rust/exercises/practice/bowling"
    assert skipped.reason == (
        f"{practice / 'bowling' / 'Cargo.toml'}: needs crates from crates.io (rand), which a check cannot fetch: "
        "checks run offline"
    )
