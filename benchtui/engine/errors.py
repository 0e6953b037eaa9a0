"""Errors about the user's input: a task file, the models config, a command-line value.

They carry the file and line (or key) so the CLI can print one line that points at the problem and
exit 2 without writing anything.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input from the user; the message names the file, the line or key, and what was expected."""

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.detail = message
        location = ""
        if self.path is not None:
            location = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(f"{location}{message}")


class TaskError(InputError):
    """A task file that cannot be loaded."""


class ConfigError(InputError):
    """A models config that cannot be loaded."""
