"""The command line that isolates a check in bwrap, and the filesystem view both namespace modes build
(what is hidden, what is bound, read-only or writable); the unshare mode's launcher is ``launcher``.

Both modes give the check new network, PID, IPC and UTS namespaces and a read-only view of the host
with ``/tmp``, ``/var/tmp``, ``/run``, ``/root`` and ``/home`` hidden; only the workspace and the
per-run HOME/TMPDIR are writable. Nothing here runs a program: these are lists of strings.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from benchtui.engine.sandbox.host import is_root, tools

# Directories replaced by an empty tmpfs inside the sandbox (when present):
# scratch space shared with other programs, runtime sockets, home folders.
HIDDEN_DIRS = ["/tmp", "/var/tmp", "/run", "/root", "/home"]

BWRAP_NS_ARGS = [
    "--die-with-parent",
    "--new-session",
    "--unshare-net",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--hostname",
    "sandbox",
]


# Filesystem layout inside the sandbox


def _other_can_traverse(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return bool(st.st_mode & 0o001)


def is_under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _blocking_ancestor(path: str) -> str | None:
    """Topmost ancestor of ``path`` that an unprivileged uid cannot traverse."""
    parts = Path(path).parts
    cur = "/"
    for part in parts[1:-1]:
        cur = os.path.join(cur, part)
        if not _other_can_traverse(cur):
            return cur
    return None


def interpreter_paths(extra_path: list[str]) -> list[str]:
    """Directories a check needs read access to for the interpreter(s)."""
    paths: list[str] = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        paths.append(os.path.realpath(p))
    for d in extra_path:
        paths.append(os.path.realpath(d))
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for name in names:
            if name.startswith("python"):
                real = os.path.realpath(os.path.join(d, name))
                paths.append(os.path.dirname(os.path.dirname(real)))
    return [p for p in paths if os.path.isdir(p)]


@dataclass
class Layout:
    hidden: list[str] = field(default_factory=list)  # tmpfs over these
    dirs: list[str] = field(default_factory=list)  # mkdir 0755 (inside hidden dirs), parents first
    ro_binds: list[str] = field(default_factory=list)
    rw_binds: list[str] = field(default_factory=list)


def layout(rw_paths: list[str], ro_paths: list[str]) -> Layout:
    hidden: list[str] = [d for d in HIDDEN_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    for p in rw_paths + ro_paths:
        b = _blocking_ancestor(p)
        if b is not None and not any(is_under(b, h) for h in hidden):
            hidden = [h for h in hidden if not is_under(h, b)] + [b]
    lay = Layout(hidden=sorted(hidden))

    def needs_bind(p: str) -> bool:
        return any(is_under(p, h) for h in lay.hidden)

    ro = sorted({p for p in ro_paths if needs_bind(p)})
    # drop ro paths inside another ro path or equal/inside a rw path
    ro = [p for p in ro if not any(q != p and is_under(p, q) for q in ro)]
    ro = [p for p in ro if not any(is_under(p, r) for r in rw_paths)]
    lay.ro_binds = ro
    lay.rw_binds = list(dict.fromkeys(rw_paths))
    dirs: list[str] = []
    for p in lay.ro_binds + lay.rw_binds:
        for h in lay.hidden:
            if is_under(p, h) and p != h:
                rel = Path(p).relative_to(h).parts
                cur = h
                for part in rel[:-1]:
                    cur = os.path.join(cur, part)
                    if cur not in dirs:
                        dirs.append(cur)
                break
    lay.dirs = dirs
    return lay


def tmpfs_mode(path: str) -> str:
    """Scratch dirs stay world-writable (sticky) inside, so hardcoded /tmp paths work."""
    return "1777" if path in ("/tmp", "/var/tmp", "/dev/shm") else "0755"


def bwrap_argv(lay: Layout, cwd: str) -> list[str]:
    t = tools()
    assert t.bwrap is not None
    argv = [t.bwrap, *BWRAP_NS_ARGS]
    if not is_root():
        argv.append("--unshare-user")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for h in lay.hidden:
        argv += ["--perms", tmpfs_mode(h), "--tmpfs", h]
    for d in lay.dirs:
        argv += ["--perms", "0755", "--dir", d]
    for p in lay.ro_binds:
        argv += ["--ro-bind", p, p]
    for p in lay.rw_binds:
        argv += ["--bind", p, p]
    argv += ["--chdir", cwd, "--"]
    return argv
