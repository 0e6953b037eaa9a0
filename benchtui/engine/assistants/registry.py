"""The assistants benchtui knows, by name: ``benchtui`` (its own edit loop, the default) and one adapter
module per real program.

Each adapter module ``benchtui/engine/assistants/<module>.py`` defines ``ADAPTER`` (an ``Adapter``); a
module that is not there (yet) is simply not offered. Stdlib only: ``install`` runs before benchtui's
own venv exists (``.ci/run``).
"""

from __future__ import annotations

import importlib

from benchtui.engine.assistants.base import BUILTIN, Adapter

# name (what --assistants and the config section say) -> module under benchtui.engine.assistants
MODULES: dict[str, str] = {
    "aider": "aider",
    "continue": "continue_cli",
    "codex": "codex",
    "opencode": "opencode",
    "claude-code": "claude_code",
    "mini-swe-agent": "mini_swe_agent",
}


def adapters() -> dict[str, Adapter]:
    """Every adapter present in this benchtui, by name, in MODULES' order."""
    found: dict[str, Adapter] = {}
    for name, module in MODULES.items():
        try:
            loaded = importlib.import_module(f"benchtui.engine.assistants.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"benchtui.engine.assistants.{module}":
                raise  # the module is there but broken: say so, never hide it
            continue
        adapter: Adapter = loaded.ADAPTER
        found[name] = adapter
    return found


def names() -> list[str]:
    """What ``--assistants`` accepts: the built-in loop first, then the adapters."""
    return [BUILTIN, *adapters()]


def get(name: str) -> Adapter | None:
    """The adapter called ``name`` (None for the built-in loop and for a name not known)."""
    return adapters().get(name)
