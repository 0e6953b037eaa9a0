"""Who the check runs as when benchtui is root: a throw-away uid per run, the ``setpriv`` prefix that
becomes it (bwrap mode; the unshare mode's launcher drops root itself), lending the workspace to it and
handing the entries back.

Root's checks never run as root: the per-run uid has no capabilities, no bounding set and
``no_new_privs``; RLIMIT_NPROC holds for it (it does not for kuid 0). A uid is never handed out while a
process still runs under it.
"""

from __future__ import annotations

import contextlib
import os
import threading

from benchtui.engine.sandbox.host import tools

# Throw-away uids for checks when the harness runs as root: UID_BASE + (pid * _SLOTS + slot) mod
# _UID_SPAN. The range stays below 2**31, since some programs still read a uid as a signed int.
UID_BASE = 2_100_000_000
_UID_SPAN = 47_000_000
_SLOTS = 64

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


def allocate_uid() -> int:
    """A uid no other check has now, from this process's pid and a slot number: two benchtui processes
    running at once get different uids (unless their pids are congruent modulo 734,375, and one of
    them runs more than 64 checks at once), with no scan of /proc.

    A uid is handed out again only once its check is over, and a check's processes never outlive it:
    the uid is only used in the namespace modes, where the whole PID namespace dies with its init (and
    with benchtui: bwrap's ``--die-with-parent``, the launcher's ``PR_SET_PDEATHSIG``)."""
    first = os.getpid() * _SLOTS
    with _uid_lock:
        slot = 0
        while (uid := UID_BASE + (first + slot) % _UID_SPAN) in _uids_in_use:
            slot += 1
        _uids_in_use.add(uid)
        return uid


def release_uid(uid: int) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


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
