"""Batch presets: named ways of running tasks that a published benchmark fixes, so a result can be set
beside its numbers. A preset changes the tasks a batch runs (their turns, hints and check time limit),
so its runs have their own fingerprints, and the batch records its name (``options.preset``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from benchtui.engine.errors import InputError
from benchtui.engine.tasks import Task

# Aider's harness gives each run of an exercise's tests three minutes (benchmark.py: ``timeout = 60 * 3``).
AIDER_TEST_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Preset:
    name: str
    max_turns: int
    hints: bool
    default_check_timeout_s: float  # for a task that names no check_timeout of its own
    about: str


PRESETS = {
    "polyglot": Preset(
        "polyglot",
        max_turns=2,
        hints=False,
        default_check_timeout_s=AIDER_TEST_TIMEOUT_S,
        about="Aider's polyglot benchmark: two tries with the test output in between, no hints, "
        "each check limited to the exercise's own test timeout",
    ),
}


def get(name: str | None) -> Preset | None:
    if name is None:
        return None
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}") from None


def apply(tasks: Iterable[Task], name: str | None) -> list[Task]:
    """``tasks`` as the preset ``name`` runs them (unchanged without one). Raises InputError for an unknown name."""
    preset = get(name)
    if preset is None:
        return list(tasks)
    return [
        replace(
            task,
            max_turns=preset.max_turns,
            hints=task.hints if preset.hints else (),
            check_timeout_s=task.check_timeout_s or preset.default_check_timeout_s,
        )
        for task in tasks
    ]
