"""The command lines that isolate a check: bwrap's, and unshare's with its setup script and the small
init it runs as PID 1; and the filesystem view both build (what is hidden, what is bound, read-only or
writable).

Both modes give the check new network, PID, IPC and UTS namespaces and a read-only view of the host
with ``/tmp``, ``/var/tmp``, ``/run``, ``/root`` and ``/home`` hidden; only the workspace and the
per-run HOME/TMPDIR are writable. Nothing here runs a program: these are lists of strings.
"""

from __future__ import annotations

import os
import shlex
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


def unshare_ns_args() -> list[str]:
    args = ["--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--ipc", "--uts"]
    if not is_root():
        args.append("--map-root-user")
    return args


# Filesystem layout inside the sandbox


def _other_can_traverse(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return bool(st.st_mode & 0o001)


def _is_under(path: str, parent: str) -> bool:
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
        if b is not None and not any(_is_under(b, h) for h in hidden):
            hidden = [h for h in hidden if not _is_under(h, b)] + [b]
    lay = Layout(hidden=sorted(hidden))

    def needs_bind(p: str) -> bool:
        return any(_is_under(p, h) for h in lay.hidden)

    ro = sorted({p for p in ro_paths if needs_bind(p)})
    # drop ro paths inside another ro path or equal/inside a rw path
    ro = [p for p in ro if not any(q != p and _is_under(p, q) for q in ro)]
    ro = [p for p in ro if not any(_is_under(p, r) for r in rw_paths)]
    lay.ro_binds = ro
    lay.rw_binds = list(dict.fromkeys(rw_paths))
    dirs: list[str] = []
    for p in lay.ro_binds + lay.rw_binds:
        for h in lay.hidden:
            if _is_under(p, h) and p != h:
                rel = Path(p).relative_to(h).parts
                cur = h
                for part in rel[:-1]:
                    cur = os.path.join(cur, part)
                    if cur not in dirs:
                        dirs.append(cur)
                break
    lay.dirs = dirs
    return lay


def _tmpfs_mode(path: str) -> str:
    """Scratch dirs stay world-writable (sticky) inside, so hardcoded /tmp paths work."""
    return "1777" if path in ("/tmp", "/var/tmp") else "0755"


def bwrap_argv(lay: Layout, cwd: str) -> list[str]:
    t = tools()
    assert t.bwrap is not None
    argv = [t.bwrap, *BWRAP_NS_ARGS]
    if not is_root():
        argv.append("--unshare-user")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for h in lay.hidden:
        argv += ["--perms", _tmpfs_mode(h), "--tmpfs", h]
    for d in lay.dirs:
        argv += ["--perms", "0755", "--dir", d]
    for p in lay.ro_binds:
        argv += ["--ro-bind", p, p]
    for p in lay.rw_binds:
        argv += ["--bind", p, p]
    argv += ["--chdir", cwd, "--"]
    return argv


# PID 1 of the unshare sandbox's PID namespace, run by the interpreter benchtui runs on (always
# there, and bound into the sandbox).  PID 1 is special: the kernel drops every signal it has no
# handler for (so ``kill -9 $$`` in a check that *is* PID 1 does nothing), and orphans are handed to
# it to reap.  So the check never runs as PID 1; this init does what bwrap's own init does: it starts
# the check as its child, forwards the usual termination signals to it, reaps every orphan, and exits
# with the check's status (128+N when the check died of signal N), which tears the namespace down.
# Only builtin modules (posix, _signal, _socket, ...): ``import os``/``signal``/``socket`` would
# roughly double the ~9 ms interpreter start that every check pays.
_INIT = r"""
import posix, sys, _signal as S
try:  # bwrap brings loopback up in its network namespace; so does this (checks may serve on 127.0.0.1)
    import _socket, _struct, fcntl
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    ifr = fcntl.ioctl(s.fileno(), 0x8913, _struct.pack("16sH14s", b"lo", 0, b""))  # SIOCGIFFLAGS
    flags = _struct.unpack("16sH14s", ifr)[1] | 1  # IFF_UP
    fcntl.ioctl(s.fileno(), 0x8914, _struct.pack("16sH14s", b"lo", flags, b""))  # SIOCSIFFLAGS
    s.close()
except OSError:
    pass
FWD = [S.SIGHUP, S.SIGINT, S.SIGQUIT, S.SIGTERM, S.SIGUSR1, S.SIGUSR2, S.SIGALRM, S.SIGCONT, S.SIGWINCH]
mask = S.pthread_sigmask(S.SIG_BLOCK, FWD)  # nothing is lost between fork and the handlers
child = posix.fork()
if child == 0:
    # Python ignores SIGPIPE and SIGXFSZ; an ignored signal survives exec, so give the check defaults.
    for n in FWD + [S.SIGPIPE, S.SIGXFSZ]:
        S.signal(n, S.SIG_DFL)
    S.pthread_sigmask(S.SIG_SETMASK, mask)
    try:
        posix.execv(sys.argv[1], sys.argv[1:])
    except OSError as e:
        posix.write(2, f"benchtui sandbox: cannot run {sys.argv[1]}: {e.strerror}\n".encode())
    posix._exit(127)

def forward(n, _frame):
    try:
        posix.kill(child, n)
    except OSError:
        pass

for n in FWD:
    S.signal(n, forward)
S.pthread_sigmask(S.SIG_SETMASK, mask)
while True:
    pid, status = posix.waitpid(-1, 0)  # reaps orphans too; retried after a forwarded signal
    if pid == child:
        code = posix.waitstatus_to_exitcode(status)
        posix._exit(128 - code if code < 0 else code)
"""


def init_argv() -> list[str]:
    """The init that runs as PID 1 in front of the check (unshare mode), given the check's argv."""
    return [sys.executable, "-I", "-S", "-c", _INIT]


def unshare_argv(lay: Layout, cwd: str) -> list[str]:
    """unshare + init + a setup script that builds the same view as bwrap does.

    The init (PID 1) runs the setup script as its child, so the check it
    ``exec``s is never PID 1.  Bind sources are opened as file descriptors
    before the tmpfs mounts hide them, then bound from ``/proc/self/fd/N``
    (``mount -c``: no canonicalisation, which would resolve to the hidden path).
    """
    t = tools()
    assert t.unshare is not None and t.mount is not None
    q = shlex.quote
    mount = q(t.mount)
    binds = [(p, True) for p in lay.ro_binds] + [(p, False) for p in lay.rw_binds]
    # Outside the hidden directories the host view is used as is.
    binds = [(p, ro) for p, ro in binds if any(_is_under(p, h) for h in lay.hidden)]
    if len(binds) > 7:
        raise RuntimeError(f"too many bind mounts for the unshare sandbox: {len(binds)}")
    lines = ["set -e", "umask 022"]
    for i, (p, _ro) in enumerate(binds):
        lines.append(f"exec {i + 3}<{q(p)}")
    for h in lay.hidden:
        lines.append(f"{mount} -t tmpfs -o mode={_tmpfs_mode(h)},nosuid,nodev benchtui {q(h)}")
    if os.path.isdir("/dev/shm"):
        lines.append(f"{mount} -t tmpfs -o mode=1777,nosuid,nodev benchtui /dev/shm")
    for d in lay.dirs:
        lines.append(f"mkdir -p {q(d)}")
    for i, (p, ro) in enumerate(binds):
        lines.append(f"mkdir -p {q(p)}")
        lines.append(f"{mount} -c --bind /proc/self/fd/{i + 3} {q(p)}")
        if ro:
            lines.append(f"{mount} -c -o remount,bind,ro {q(p)}")
    for i in range(len(binds)):
        lines.append(f"exec {i + 3}<&-")
    lines.append(f"cd {q(cwd)}")
    lines.append('exec "$@"')
    return [t.unshare, *unshare_ns_args(), "--", *init_argv(), t.sh, "-c", "\n".join(lines), "sandbox-setup"]
