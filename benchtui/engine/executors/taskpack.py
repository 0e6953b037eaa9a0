"""A task's files as bytes, so a run can travel to a worker that shares no filesystem with the driver.

Only what a run reads travels: the workspace the model starts from and the hidden check files (the task
text is in the Task itself; a solution is never shown to a run). The worker unpacks them into a folder of
its own and plays the run on a Task whose folders point there: the task's fingerprint, taken from the same
bytes, is unchanged.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path

from benchtui.engine.tasks import Task

_FOLDERS = ("workspace", "check")


def pack(task: Task) -> bytes:
    """The task's workspace and check files as an uncompressed tar (source files: compression buys little
    on loopback and costs CPU on both ends)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, folder in zip(_FOLDERS, (task.workspace, task.check_files), strict=True):
            if folder is not None:
                tar.add(folder, arcname=name, filter=_without_caches)
    return buffer.getvalue()


def _without_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Leave out what the task's fingerprint leaves out (``__pycache__``, ``.pytest_cache``)."""
    return None if any(part in {"__pycache__", ".pytest_cache"} for part in Path(info.name).parts) else info


def unpack(task: Task, packed: bytes, into: Path) -> Task:
    """``task`` with its folders unpacked under ``into`` (a fresh folder the caller removes)."""
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r") as tar:
        # The "data" filter refuses absolute paths, links out of the folder and device files.
        tar.extractall(into, filter="data")
    check = into / "check" if task.check_files is not None else None
    workspace = into / "workspace"
    workspace.mkdir(exist_ok=True)  # an empty workspace adds no entry to the tar
    return replace(task, workspace=workspace, check_files=check, solution=None)
