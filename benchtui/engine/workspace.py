"""A run's private copy of a task's workspace: the files the model sees, edits, checks and the diff.

The check never runs in the model's workspace itself: each check gets a fresh copy with the hidden
check files laid over it, so tests a model edited are restored, the check's own droppings (caches,
generated files) never reach the diff, and the model never sees the check files.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchtui.engine import edits, toolchain
from benchtui.engine.checkoutput import relative_paths, scratch_relative
from benchtui.engine.procs import process_alive
from benchtui.engine.sandbox import CheckOutcome, run_check
from benchtui.engine.tasks import Task, check_program

_IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", "node_modules", ".git"}
MAX_PROMPT_FILE_BYTES = 64 * 1024
TEMP_PREFIX = "benchtui-run-"
OWNER_FILE = "owner.pid"
_STALE_WITHOUT_OWNER_S = 24 * 3600


def clean_stale_workspaces(parent: Path | None = None) -> int:
    """Remove run folders that a killed benchtui left in the temp folder; returns how many.

    A folder whose owner process is gone is stale; one without an owner file is only removed when it is
    a day old, so a concurrent benchtui that is just creating its folder is never touched."""
    root = parent or Path(tempfile.gettempdir())
    removed = 0
    for folder in root.glob(f"{TEMP_PREFIX}*"):
        try:
            pid = int((folder / OWNER_FILE).read_text(encoding="ascii").strip())
            stale = not process_alive(pid)
        except (OSError, ValueError):
            try:
                stale = time.time() - folder.stat().st_mtime > _STALE_WITHOUT_OWNER_S
            except OSError:
                continue
        if stale and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


@dataclass(frozen=True)
class DiffStats:
    files_modified: int
    lines_added: int
    lines_removed: int
    diff: str


def _is_ignored(relative: Path) -> bool:
    return any(part in _IGNORED_PARTS for part in relative.parts) or relative.suffix == ".pyc"


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (POSIX relative path -> bytes), caches excluded."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not path.is_symlink() and not _is_ignored(relative):
            files[relative.as_posix()] = path.read_bytes()
    return files


def _as_text(data: bytes) -> str | None:
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _shown(tree: dict[str, bytes]) -> list[tuple[str, str]]:
    shown = []
    for path, data in tree.items():
        text = _as_text(data)
        if text is not None and len(data) <= MAX_PROMPT_FILE_BYTES:
            shown.append((path, text))
    return shown


def overlay(source: Path, target: Path) -> None:
    """Copy every file of ``source`` over ``target`` (replacing what is there)."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if _is_ignored(relative):
            continue
        destination = target / relative
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            destination.parent.mkdir(parents=True, exist_ok=True)
            if destination.is_symlink() or destination.is_dir():
                _remove(destination)
            shutil.copyfile(path, destination)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class Workspace:
    """A task's workspace copied into a private temp folder for one run."""

    def __init__(self, task: Task, parent: Path | None = None) -> None:
        self.task = task
        self._temp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent))
        (self._temp / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
        self.root = self._temp / "workspace"
        shutil.copytree(
            task.workspace, self.root, symlinks=True, ignore=shutil.ignore_patterns(*_IGNORED_PARTS, "*.pyc")
        )
        self.original = read_tree(self.root)
        self._seen_by_model: dict[str, bytes] = dict(self.original)

    def close(self) -> None:
        shutil.rmtree(self._temp, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def text_files(self) -> list[tuple[str, str]]:
        """The workspace's text files as the model is shown them."""
        return _shown(read_tree(self.root))

    def show_all(self) -> list[tuple[str, str]]:
        """``text_files()`` and ``mark_all_shown()`` in one read of the tree (the first prompt)."""
        tree = read_tree(self.root)
        self._seen_by_model = tree
        return _shown(tree)

    def known_files(self) -> set[str]:
        return set(read_tree(self.root))

    def apply(self, reply_text: str, edit_format: str) -> edits.ApplyReport:
        before = read_tree(self.root)
        known = set(before)
        parsed = edits.parse_edits(reply_text, edit_format, known)
        report = edits.apply_edits(self.root, parsed, known)
        report.changed_nothing = bool(report.applied) and read_tree(self.root) == before
        return report

    def changed_since_shown(self) -> list[tuple[str, str]]:
        """Text files whose content changed since the model last saw them; marks them as seen."""
        current = read_tree(self.root)
        changed = []
        for path, data in current.items():
            if self._seen_by_model.get(path) != data:
                text = _as_text(data)
                if text is not None and len(data) <= MAX_PROMPT_FILE_BYTES:
                    changed.append((path, text))
        self._seen_by_model = current
        return changed

    def mark_all_shown(self) -> None:
        self._seen_by_model = read_tree(self.root)

    def run_check(self, timeout_s: float, cancel: threading.Event | None = None) -> CheckOutcome:
        """Run the hidden check on a fresh copy of the workspace with the check files laid over it."""
        check_root = self._temp / "check"
        if check_root.exists():
            shutil.rmtree(check_root, ignore_errors=True)
        shutil.copytree(self.root, check_root, symlinks=True)
        if self.task.check_files is not None:
            overlay(self.task.check_files, check_root)
        tools = toolchain.for_program(check_program(self.task.check))
        try:
            outcome = run_check(
                self.task.check,
                check_root,
                timeout_s,
                cancel=cancel,
                extra_path=[str(Path(sys.executable).parent), *tools.path],
                read_only=list(tools.read_only),
            )
            # The check's copy is deleted below: paths into it would point nowhere (workspace-relative instead).
            output = scratch_relative(relative_paths(outcome.output, check_root))
            return dataclasses.replace(outcome, output=output)
        finally:
            shutil.rmtree(check_root, ignore_errors=True)

    def diff_stats(self) -> DiffStats:
        """The final workspace against the start: files changed and lines added/removed, with the diff."""
        return diff_trees(self.original, read_tree(self.root))


def diff_trees(before: dict[str, bytes], after: dict[str, bytes]) -> DiffStats:
    files = 0
    added = removed = 0
    chunks: list[str] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        files += 1
        old_text = _as_text(old) if old is not None else ""
        new_text = _as_text(new) if new is not None else ""
        if old_text is None or new_text is None:
            chunks.append(f"Binary file {path} changed\n")
            continue
        lines = list(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"a/{path}" if old is not None else "/dev/null",
                tofile=f"b/{path}" if new is not None else "/dev/null",
            )
        )
        for line in lines[2:]:
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
        chunks.append(
            "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
        )
    return DiffStats(files, added, removed, "".join(chunks))
