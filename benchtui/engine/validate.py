"""``benchtui tasks validate``: prove each task can tell a solution from a non-solution.

For every task: the start state fails the check, the reference solution passes it, a "solution" that
only rewrites the check files still fails (the hidden check files are laid over it), and the check
finishes within the task's timeout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from benchtui.engine.checkoutput import failure_excerpt
from benchtui.engine.tasks import Task
from benchtui.engine.workspace import Workspace, overlay

_CHEATS = {
    ".py": "def test_ok():\n    pass\n",
    ".js": "const test = require('node:test');\ntest('ok', () => {});\n",
    ".mjs": "import test from 'node:test';\ntest('ok', () => {});\n",
    ".sh": "exit 0\n",
}


@dataclass
class TaskValidation:
    task: Task
    start_fails: bool | None = None
    solution_passes: bool | None = None
    check_edit_fails: bool | None = None
    within_timeout: bool | None = None
    slowest_check_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_task(task: Task, check_timeout_s: float = 120.0) -> TaskValidation:
    report = TaskValidation(task)
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
            report.problems.append("the reference solution fails the check (paths are in the workspace with "
                                   f"the solution and the check files laid over it):{excerpt}")

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
