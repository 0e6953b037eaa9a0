"""Task files: a markdown prompt with YAML front matter, a starting workspace and a hidden check.

The loader validates everything up front and raises TaskError naming the file, the line or key, and
what was expected, so a batch never starts on a task it cannot run.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchtui.engine import jest, junit
from benchtui.engine.errors import TaskError
from benchtui.engine.yamlfile import LocatedMapping, load_yaml

DIFFICULTIES = ("smoke", "easy", "medium", "hard")
_SHELL_BUILTINS = {"true", "false", "test", "[", "exit", "echo", "cd", "set", "exec", "command", "."}
DEFAULT_MAX_TURNS = 5
DEFAULT_TIMEOUT_S = 1800.0
_KNOWN_KEYS = {
    "id",
    "title",
    "difficulty",
    "workspace",
    "check_files",
    "solution",
    "check",
    "max_turns",
    "timeout",
    "hints",
    "language",
    "tags",
    "check_timeout",
}


@dataclass(frozen=True)
class Task:
    """One benchmark task, loaded and validated."""

    id: str
    title: str
    difficulty: str
    path: Path
    workspace: Path
    check: str
    prompt: str
    check_files: Path | None = None
    solution: Path | None = None
    max_turns: int = DEFAULT_MAX_TURNS
    timeout_s: float = DEFAULT_TIMEOUT_S
    hints: tuple[str, ...] = ()
    # Why this machine cannot run the task's check (its program is not installed), or None. A task that is
    # well written but needs a tool this machine lacks is not broken: it loads, is listed, and is skipped.
    unavailable_reason: str | None = field(default=None, compare=False)
    # Seconds one run of the check may take (front matter ``check_timeout``); None: the runner's default.
    check_timeout_s: float | None = None

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    def fingerprint(self) -> str:
        """A hash of everything that decides the task's outcome: prompt, workspace, check, limits."""
        digest = hashlib.sha256()
        for part in (self.id, self.prompt, self.check, str(self.max_turns), str(self.timeout_s), *self.hints):
            digest.update(part.encode())
            digest.update(b"\0")
        if self.check_timeout_s is not None:  # only when set: the tasks that name none keep their fingerprints
            digest.update(f"check_timeout={self.check_timeout_s}".encode() + b"\0")
        for label, folder in (("workspace", self.workspace), ("check", self.check_files)):
            if folder is None:
                continue
            for file in sorted(p for p in folder.rglob("*") if p.is_file() and not _is_cache(p)):
                digest.update(f"{label}/{file.relative_to(folder).as_posix()}".encode())
                digest.update(b"\0")
                digest.update(file.read_bytes())
        return digest.hexdigest()[:16]


def run_time_limits(task_timeouts: Iterable[float], cap_s: float) -> tuple[float, float] | None:
    """The shortest and longest time limit the runs of a batch get: each task's own, capped by ``--timeout``."""
    limits = [min(float(t), cap_s) for t in task_timeouts]
    return (min(limits), max(limits)) if limits else None


def _is_cache(path: Path) -> bool:
    return any(part in {"__pycache__", ".pytest_cache"} for part in path.parts)


def load_task(path: Path | str) -> Task:
    """Load one task file; raises TaskError with file and line on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TaskError("task file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"cannot read task file: {exc}", path=path) from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise TaskError("expected YAML front matter starting with '---' on the first line", path=path, line=1)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise TaskError("front matter is not closed by a '---' line", path=path, line=1) from None
    meta = load_yaml("\n".join(lines[1:end]), path=path, first_line=2, error=TaskError)
    if not isinstance(meta, LocatedMapping):
        raise TaskError("front matter must be a mapping of keys to values", path=path, line=2)
    prompt = "\n".join(lines[end + 1 :]).strip()
    if not prompt:
        raise TaskError("the prompt (the text after the front matter) is empty", path=path, line=end + 2)
    return _build_task(path, meta, prompt)


def _build_task(path: Path, meta: LocatedMapping, prompt: str) -> Task:
    def fail(key: str, message: str) -> TaskError:
        return TaskError(f"'{key}': {message}", path=path, line=meta.line_of(key))

    unknown = sorted(set(meta) - _KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key; expected one of {', '.join(sorted(_KNOWN_KEYS))}")

    def text(key: str, *, required: bool = True) -> str | None:
        value = meta.get(key)
        if value is None:
            if required:
                raise TaskError(f"missing required key '{key}'", path=path, line=meta.start_line)
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
            raise fail(key, f"expected non-empty text, got {value!r}")
        return str(value).strip()

    def folder(key: str, *, required: bool) -> Path | None:
        name = text(key, required=required)
        if name is None:
            return None
        resolved = (path.parent / name).resolve()
        if not resolved.is_dir():
            raise fail(key, f"folder {name!r} not found next to the task file")
        return resolved

    def number(key: str, default: float, *, minimum: float, integer: bool) -> Any:
        value = meta.get(key, default)
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
            expected = "a whole number" if integer else "a number of seconds"
            raise fail(key, f"expected {expected} >= {minimum:g}, got {value!r}")
        return value

    task_id = text("id")
    assert task_id is not None
    if any(ch in task_id for ch in "/\\ \t") or task_id.startswith("."):
        raise fail("id", "expected a name without spaces or slashes")
    difficulty = text("difficulty")
    if difficulty not in DIFFICULTIES:
        raise fail("difficulty", f"expected one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    level_folder = path.resolve().parent.name
    if level_folder in DIFFICULTIES and level_folder != difficulty:
        # A folder named after a level is that level (docs/TASKS.md); elsewhere any level goes.
        raise fail(
            "difficulty",
            f"{difficulty!r} does not match the folder the task lives in "
            f"({level_folder}/); move the task or set difficulty: {level_folder}",
        )
    hints = meta.get("hints") or []
    if not isinstance(hints, list) or not all(isinstance(h, str) and h.strip() for h in hints):
        raise fail("hints", "expected a list of non-empty strings")
    workspace = folder("workspace", required=True)
    assert workspace is not None
    check = text("check")
    assert check is not None
    max_turns = int(number("max_turns", DEFAULT_MAX_TURNS, minimum=1, integer=True))
    timeout_s = float(number("timeout", DEFAULT_TIMEOUT_S, minimum=1, integer=False))
    check_timeout = meta.get("check_timeout")
    check_timeout_s = None if check_timeout is None else float(number("check_timeout", 1, minimum=1, integer=False))
    check_files = folder("check_files", required=False)
    solution = folder("solution", required=False)
    program = check_program(check)
    missing = None
    if program == jest.PROGRAM:  # benchtui's own jest, installed on request (engine/jest)
        missing = jest.unavailable_reason()
    elif program == junit.PROGRAM:  # benchtui's Java check over the system's JUnit (engine/junit)
        missing = junit.unavailable_reason()
    elif program is not None and not _on_path(program):
        if Path(program).name not in _INSTALL_HINTS:  # most likely a typo: the task is wrong, not the machine
            raise fail("check", f"command {program!r} not found on PATH")
        missing = _missing_program(program)
    return Task(
        id=task_id,
        title=text("title", required=False) or task_id,
        difficulty=difficulty,
        path=path.resolve(),
        workspace=workspace,
        check=check,
        prompt=prompt,
        check_files=check_files,
        solution=solution,
        max_turns=max_turns,
        timeout_s=timeout_s,
        unavailable_reason=missing,
        hints=tuple(h.strip() for h in hints),
        check_timeout_s=check_timeout_s,
    )


def check_program(command: str) -> str | None:
    """The program a check command runs first (None when the shell line is too clever to tell)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    for word in words:
        if "=" in word.split("/", 1)[0]:  # leading VAR=value assignments
            continue
        return None if any(ch in word for ch in "$`;|&(){}<>") else word
    return None


# Language toolchains a check may need and a machine may lack. A task whose check needs one that is not
# installed is unavailable here (listed, skipped, never run); any other missing program is an error in
# the task file, most likely a typo.
_NODE = "install Node.js (e.g. apt-get install nodejs)"
_INSTALL_HINTS = {
    "node": _NODE,
    "npm": _NODE,
    "npx": _NODE,
    "go": "install Go (e.g. apt-get install golang)",
    "cargo": "install Rust (e.g. apt-get install cargo)",
    "rustc": "install Rust (e.g. apt-get install cargo)",
    "javac": "install a JDK (e.g. apt-get install default-jdk)",
    "java": "install a JDK (e.g. apt-get install default-jdk)",
    "gradle": "install Gradle (e.g. apt-get install gradle)",
    "mvn": "install Maven (e.g. apt-get install maven)",
    "make": "install make (e.g. apt-get install make)",
    "cmake": "install CMake (e.g. apt-get install cmake)",
    "g++": "install a C++ compiler (e.g. apt-get install g++)",
    "gcc": "install a C compiler (e.g. apt-get install gcc)",
    "dotnet": "install the .NET SDK",
    "ruby": "install Ruby (e.g. apt-get install ruby)",
}


def _missing_program(program: str) -> str:
    return f"its check runs {program!r}, which is not installed here: {_INSTALL_HINTS[Path(program).name]}"


def _cannot_run(task: Task, where: str = "", more: str = "") -> TaskError:
    return TaskError(f"{where}task {task.id!r} cannot run here: {task.unavailable_reason}{more}", path=task.path)


def require_runnable(tasks: Iterable[Task], where: str = "") -> None:
    """Raise TaskError for the first task this machine cannot run: its runs would fail on the missing
    program and blame the model. ``where`` opens the message (``"batch X: "``)."""
    for task in tasks:
        if not task.available:
            raise _cannot_run(task, where)


def runnable_tasks(tasks: Iterable[Task]) -> tuple[list[Task], list[str]]:
    """The tasks this machine can run, and a note for each one it skips.

    Raises TaskError when tasks were asked for and none can run: a batch of nothing would only hide why."""
    tasks = list(tasks)
    ready = [t for t in tasks if t.available]
    skipped = [t for t in tasks if not t.available]
    if tasks and not ready:
        more = f" (and {len(skipped) - 1} more task(s) that cannot run here)" if len(skipped) > 1 else ""
        raise _cannot_run(skipped[0], more=more)
    return ready, [f"skipping task {t.id} ({t.path.name}): {t.unavailable_reason}" for t in skipped]


def _on_path(program: str) -> bool:
    """Whether the check's program exists where the sandbox will look: benchtui's interpreter folder
    first (so ``python`` means the interpreter that has pytest), then PATH; shell builtins count."""
    if program in _SHELL_BUILTINS or ("/" in program and Path(program).exists()):
        return True
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    return shutil.which(program, path=search) is not None


def find_task_files(folder: Path) -> list[Path]:
    """Task files under a folder: markdown files that open with front matter and do not live inside
    another task's workspace, check or solution folder."""
    candidates = []
    for md in sorted(folder.rglob("*.md")):
        try:
            with md.open(encoding="utf-8") as handle:
                first = handle.readline().strip()
        except (OSError, UnicodeDecodeError):
            continue
        if first == "---":
            candidates.append(md)
    owned: list[Path] = []
    for md in candidates:
        stem = md.with_suffix("")
        owned.extend(stem.parent / f"{stem.name}{suffix}" for suffix in ("", ".check", ".solution"))
    return [md for md in candidates if not any(o in md.parents for o in owned)]


def load_tasks(paths: Iterable[Path | str], errors: list[TaskError] | None = None) -> list[Task]:
    """Load every task named by files or folders, in the order given; a folder's tasks by level (smoke, easy,
    medium, hard), then path: the quick tasks first, so a batch over ``tasks/`` shows early whether a model
    works at all, and ``tasks list``, ``tasks validate``, batches and the app's tree all go in this one order.

    Raises TaskError for a bad file, a folder without tasks, or two tasks with the same id; with an
    ``errors`` list, a bad file is added to it instead and the others still load (``tasks validate``).
    """
    tasks: list[Task] = []
    seen: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = find_task_files(path)
            if not files:
                raise TaskError("no task files (markdown with front matter) in this folder", path=path)
        else:
            files = [path]
        loaded: list[Task] = []
        for file in files:
            try:
                loaded.append(load_task(file))
            except TaskError as exc:
                if errors is None:
                    raise
                errors.append(exc)
        for task in sorted(loaded, key=lambda t: DIFFICULTIES.index(t.difficulty)):  # stable: path order within
            if task.id in seen and seen[task.id] != task.path:
                clash = TaskError(f"task id {task.id!r} is also used by {seen[task.id]}", path=task.path)
                if errors is None:
                    raise clash
                errors.append(clash)
                continue
            if task.id not in seen:
                seen[task.id] = task.path
                tasks.append(task)
    return tasks
