"""Who the check runs as when benchtui is root: a throw-away uid per run, the ``setpriv`` prefix that
becomes it, lending the workspace to it and handing the entries back, and killing what it left.

Root's checks never run as root: the per-run uid has no capabilities, no bounding set and
``no_new_privs``; RLIMIT_NPROC holds for it (it does not for kuid 0); and every process it owns can be
found and killed after the run. A uid is never handed out while a process still runs under it.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time

from benchtui.engine.sandbox.host import tools

# Range of throw-away uids used for checks when the harness runs as root.
UID_BASE = 2_100_000_000
_UID_SPAN = 1_000_000

_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def drop_args(uid: int) -> list[str]:
    """setpriv prefix that turns root into ``uid`` with no capabilities."""
    setpriv = tools().setpriv
    assert setpriv is not None
    return [
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
    ]


def _process_uids() -> dict[int, set[int]]:
    """pid -> {real, effective, saved, fs uid} for every live (non-zombie) process."""
    found: dict[int, set[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as f:
                zombie = False
                for line in f:
                    if line.startswith(b"State:"):
                        zombie = line.split()[1:2] in ([b"Z"], [b"X"])
                    elif line.startswith(b"Uid:"):
                        if not zombie:
                            found[int(entry)] = {int(x) for x in line.split()[1:]}
                        break
        except (OSError, ValueError):
            pass
    return found


def _uids_with_processes() -> set[int]:
    out: set[int] = set()
    for uids in _process_uids().values():
        out |= uids
    return out


def allocate_uid() -> int:
    busy = _uids_with_processes()
    with _uid_lock:
        while True:
            uid = UID_BASE + random.randrange(_UID_SPAN)
            if uid not in _uids_in_use and uid not in busy:
                _uids_in_use.add(uid)
                return uid


def release_uid(uid: int) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


def kill_uid(uid: int) -> None:
    """SIGKILL every process whose real/effective uid is ``uid`` (root only)."""
    for _ in range(50):
        victims = [pid for pid, uids in _process_uids().items() if uid in uids]
        if not victims:
            return
        for pid in victims:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _tree_entries(root: str) -> list[str]:
    """``root`` and everything below it, without following symlinks."""
    out = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        out.extend(os.path.join(dirpath, name) for name in dirnames + filenames)
    return out


def lend_tree(root: str, uid: int) -> dict[str, tuple[int, int]]:
    """chown the tree to ``uid``; return the previous owners to give it back."""
    owners: dict[str, tuple[int, int]] = {}
    for path in _tree_entries(root):
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            owners[path] = (st.st_uid, st.st_gid)
            os.lchown(path, uid, uid)
    return owners


def return_tree(root: str, uid: int, owners: dict[str, tuple[int, int]]) -> None:
    """Give back what the sandbox uid owns: old entries to their owner, new ones to root's.

    Called only once no process of ``uid`` is left, so the tree cannot change
    underneath; entries owned by anyone else (e.g. hard links) are left alone.
    """
    default = owners.get(root, (os.getuid(), os.getgid()))
    for path in _tree_entries(root):
        with contextlib.suppress(OSError):
            if os.lstat(path).st_uid == uid:
                u, g = owners.get(path, default)
                os.lchown(path, u, g)
