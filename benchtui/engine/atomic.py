"""Crash-safe file writes: temp file in the same folder, fsync, rename, fsync the folder.

A reader sees the old file or the new one, never half of either; on a full disk the old file survives
and the temp file is removed. Big files (a model's results, the reports) are streamed through
``open_atomic`` instead of being built as one string: on a 10,000-run batch that is the difference
between a flat memory line and tens of megabytes of fragmented heap.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TEMP_SUFFIX = ".tmp"
_BUFFER = 1 << 16


@contextlib.contextmanager
def open_atomic(path: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle on a temp file that replaces ``path`` when the block ends without an exception.

    Text handles are UTF-8 with no newline translation (what is written is what lands)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}{TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        handle: IO[Any]
        if binary:
            handle = open(fd, "wb", buffering=_BUFFER)  # noqa: SIM115 - closed below, before the rename
        else:
            handle = open(fd, "w", encoding="utf-8", newline="", buffering=_BUFFER)  # noqa: SIM115
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def write_bytes(path: Path, data: bytes) -> None:
    with open_atomic(path, binary=True) as handle:
        handle.write(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    """Indented JSON plus a final newline, streamed to the file (same bytes as ``json.dumps``)."""
    with open_atomic(path) as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, sort_keys=sort_keys)
        handle.write("\n")


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files that a killed writer left behind; returns how many."""
    removed = 0
    for temp in folder.rglob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            temp.unlink()
            removed += 1
    return removed
