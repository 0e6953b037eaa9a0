"""``benchtui tasks validate``: prove each task can tell a solution from a non-solution.

For every task: the start state fails the check, the reference solution passes it, a "solution" that
only rewrites the check files still fails (the hidden check files are laid over it), the check
runs at least one test and finishes within the task's timeout, and the prompts' worked examples share
no file name, function or distinctive line with the task (a model copies the example, so an example
that is the task leaks it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchtui.engine import prompts
from benchtui.engine.checkoutput import cut, failure_excerpt, no_tests_ran
from benchtui.engine.tasks import Task
from benchtui.engine.workspace import Workspace, overlay

_CHEATS = {
    ".py": "def test_ok():\n    pass\n",
    ".js": "const test = require('node:test');\ntest('ok', () => {});\n",
    ".mjs": "import test from 'node:test';\ntest('ok', () => {});\n",
    ".sh": "exit 0\n",
}


# A line shorter than this (``return x``, ``}``) is common to any code; longer ones are the task's own.
_DISTINCTIVE_LINE_CHARS = 12
_DEFINED = re.compile(r"^\s*(?:async\s+def|def|class|function|(?:export\s+)?(?:const|let|var))\s+([A-Za-z_$][\w$]*)")


def _task_files(task: Task) -> Iterable[Path]:
    for folder in (task.workspace, task.solution, task.check_files):
        if folder is not None and folder.is_dir():
            yield from (f for f in sorted(folder.rglob("*")) if f.is_file() and "__pycache__" not in f.parts)


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= _DISTINCTIVE_LINE_CHARS}


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w.$]){re.escape(word)}(?![\w$])", text) is not None


def example_leaks(task: Task, examples: Sequence[str] = prompts.EXAMPLES) -> list[str]:
    """What the prompts' worked examples share with ``task``: its file names, the functions and classes
    its files define, and its distinctive lines. Empty when they share nothing."""
    example = "\n".join(examples)
    example_lines = _lines(example)
    names: set[str] = set()
    defined: set[str] = set()
    lines: set[str] = set()
    for file in _task_files(task):
        names.add(file.name)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        defined.update(
            m.group(1)
            for m in map(_DEFINED.match, text.splitlines())
            if m and len(m.group(1)) >= 3 and not m.group(1).startswith("__")
        )
        lines |= _lines(text) & example_lines
    leaks = [f"the prompts' example names the task's file {name}" for name in sorted(names) if _mentions(example, name)]
    leaks += [
        f"the prompts' example uses the task's name {name}" for name in sorted(defined) if _mentions(example, name)
    ]
    leaks += [f"the prompts' example holds the task's line {line!r}" for line in sorted(lines)]
    return leaks


@dataclass
class TaskValidation:
    task: Task
    start_fails: bool | None = None
    solution_passes: bool | None = None
    check_edit_fails: bool | None = None
    within_timeout: bool | None = None
    slowest_check_s: float = 0.0
    tests_ran: bool | None = None  # False when a run of the check said it found no test to run
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_task(task: Task, check_timeout_s: float = 120.0) -> TaskValidation:
    report = TaskValidation(task)
    report.problems.extend(example_leaks(task))
    timeout = min(task.timeout_s, check_timeout_s)

    def check(prepare: object = None) -> tuple[bool, float, str]:
        with Workspace(task) as workspace:
            if callable(prepare):
                prepare(workspace.root)
            started = time.monotonic()
            outcome = workspace.run_check(timeout)
            took = time.monotonic() - started
            report.slowest_check_s = max(report.slowest_check_s, took)
            if outcome.timed_out:
                report.within_timeout = False
            empty = no_tests_ran(outcome.output, outcome.exit_code)
            if empty is not None and report.tests_ran is not False:
                report.tests_ran = False
                report.problems.append(f"the check ran no tests ({cut(empty)}): it cannot tell a solution from none")
            return outcome.passed, took, outcome.output

    passed, _, _ = check()
    report.start_fails = not passed
    if passed:
        report.problems.append("the check passes on the starting workspace")

    if task.solution is None:
        report.problems.append("no reference solution (add 'solution:' to the front matter)")
    else:
        solution = task.solution
        passed, _, output = check(lambda root: overlay(solution, root))
        report.solution_passes = passed
        if not passed:
            # The lines that say why, not the last one; paths are relative to the workspace (the check's
            # temp copy is gone by now).
            excerpt = "".join(f"\n    {line}" for line in failure_excerpt(output))
            report.problems.append(
                "the reference solution fails the check (paths are in the workspace with "
                f"the solution and the check files laid over it):{excerpt}"
            )

    if task.check_files is None:
        report.check_edit_fails = None
    else:
        check_files = task.check_files

        def cheat(root: Path) -> None:
            for file in check_files.rglob("*"):
                if file.is_file():
                    target = root / file.relative_to(check_files)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(_CHEATS.get(file.suffix, ""), encoding="utf-8")

        passed, _, _ = check(cheat)
        report.check_edit_fails = not passed
        if passed:
            report.problems.append("editing only the check files makes the check pass")

    if report.within_timeout is None:
        report.within_timeout = report.slowest_check_s <= timeout
    if not report.within_timeout:
        report.problems.append(f"the check did not finish within {timeout:g} s")
    return report
