"""Sandboxed execution of a task's hidden check command.

This module owns one job: running the check command (for example
``python -m pytest -q``) in a model-edited workspace and reporting how it
ended, as a :class:`CheckOutcome`.  The check executes code that a model
wrote, so it is treated as hostile:

* **Environment**: built from an allowlist only (PATH, a fresh HOME and
  TMPDIR, locale, a few Python/terminal switches).  Nothing else is taken
  from ``os.environ``, so API keys and tokens never reach the check.
* **Isolation** (see :func:`detect_sandbox`): ``bwrap`` when it works here
  (new network, PID, IPC and UTS namespaces, read-only view of the host
  filesystem with ``/tmp``, ``/var/tmp``, ``/run``, ``/root``, ``/home``
  hidden, only the workspace and the per-run HOME/TMPDIR writable), else
  ``unshare`` (same namespaces and the same hidden directories, set up by a
  small shell script inside a private mount namespace, behind a small init
  as PID 1), else ``none`` (only limits and process-group cleanup; a warning
  is logged once).  ``BENCHTUI_SANDBOX`` forces a mode.
* **Never PID 1**: the check never is its PID namespace's init, which the
  kernel spares every signal it has no handler for (``kill -9 $$`` would do
  nothing) and which must reap orphans: bwrap keeps its own init there,
  ``unshare`` runs :data:`_INIT` (forwards signals, reaps, passes the exit on).
* **Privileges**: when the harness runs as root the check runs as a
  throw-away unprivileged uid (``setpriv``), with all capabilities and the
  bounding set dropped and ``no_new_privs`` set (bwrap/unshare modes; in
  ``none`` mode it keeps the harness uid).  The workspace is chowned to that
  uid for the run and its entries handed back to their owners afterwards.
* **Limits**: ``prlimit`` sets RLIMIT_AS (memory), RLIMIT_FSIZE (file size),
  RLIMIT_NPROC and RLIMIT_CORE=0 around ``/bin/sh -c``.  RLIMIT_NPROC is not
  enforced for root (kuid 0), so when root the process limit comes from a
  ``pids`` cgroup made per run (cgroup v1 or v2) and from the unprivileged
  per-run uid.
* **Termination**: the check gets its own session/process group; on exit,
  timeout or cancel the whole tree is SIGKILLed (process group, PID
  namespace, cgroup and, as root, every process of the per-run uid).  Output
  is read with ``poll`` in the calling thread and stored only up to the cap,
  so a check printing gigabytes keeps the harness memory flat, and a
  grandchild holding stdout open cannot block the call.

Nothing here uses ``preexec_fn``: every setting is applied by wrapper
programs (bwrap, unshare, setpriv, prlimit), which is safe in a threaded
harness.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MODES", "SANDBOX_ENV", "CheckOutcome", "SandboxUnavailable", "detect_sandbox", "run_check", "sandbox_mode",
    "unavailable_reason",
]

logger = logging.getLogger(__name__)

_SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

# Directories replaced by an empty tmpfs inside the sandbox (when present):
# scratch space shared with other programs, runtime sockets, home folders.
_HIDDEN_DIRS = ["/tmp", "/var/tmp", "/run", "/root", "/home"]

# Range of throw-away uids used for checks when the harness runs as root.
_UID_BASE = 2_100_000_000
_UID_SPAN = 1_000_000

_READ_CHUNK = 1 << 20
_DRAIN_GRACE_S = 1.0
_POLL_S = 0.1

MODES = ("bwrap", "unshare", "none")
# Set to one of MODES to use that mode instead of the best detected one ("auto" or empty: detect).
# A forced mode that does not work here is an error, never a silent fallback: CI forces each mode
# in turn to prove it (.ci/run).
SANDBOX_ENV = "BENCHTUI_SANDBOX"

# Test hook: force a mode ("bwrap" | "unshare" | "none") instead of detecting (wins over SANDBOX_ENV).
_FORCE_MODE: str | None = None
# Test hook: pretend no pids cgroup can be made.
_DISABLE_CGROUP = False


@dataclass(frozen=True)
class CheckOutcome:
    """How one run of a check command ended."""

    exit_code: int | None  # None when killed (timeout/cancel); 128+N when killed by signal N
    output: str  # combined stdout+stderr, utf-8 with errors="replace", capped
    timed_out: bool
    truncated: bool  # output exceeded the cap
    duration_s: float
    sandbox: str  # "bwrap" | "unshare" | "none": the isolation actually used
    resource_limit: str | None  # "memory" | "processes" | "file_size" | None (best effort)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


# --------------------------------------------------------------------------
# Tools and detection


@dataclass(frozen=True)
class _Tools:
    sh: str
    prlimit: str | None
    setpriv: str | None
    bwrap: str | None
    unshare: str | None
    mount: str | None


_tools_cache: _Tools | None = None
_detect_lock = threading.Lock()
_detected: str | None = None
_warned: set[str] = set()
_warn_lock = threading.Lock()


def _which(name: str) -> str | None:
    path = os.pathsep.join([*_SYSTEM_PATH, os.environ.get("PATH", "")])
    return shutil.which(name, path=path)


def _tools() -> _Tools:
    global _tools_cache
    if _tools_cache is None:
        _tools_cache = _Tools(
            sh="/bin/sh",
            prlimit=_which("prlimit"),
            setpriv=_which("setpriv"),
            bwrap=_which("bwrap"),
            unshare=_which("unshare"),
            mount=_which("mount"),
        )
    return _tools_cache


def _is_root() -> bool:
    return os.geteuid() == 0


def _warn_once(key: str, message: str) -> None:
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(message)


def _drop_args(uid: int) -> list[str]:
    """setpriv prefix that turns root into ``uid`` with no capabilities."""
    setpriv = _tools().setpriv
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


_BWRAP_NS_ARGS = [
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


def _unshare_ns_args() -> list[str]:
    args = ["--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--ipc", "--uts"]
    if not _is_root():
        args.append("--map-root-user")
    return args


def _probe(argv: list[str]) -> bool:
    try:
        res = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd="/",
            env={"PATH": os.pathsep.join(_SYSTEM_PATH), "LANG": "C.UTF-8"},
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("sandbox probe %s failed: %s", argv[0], exc)
        return False
    if res.returncode != 0:
        logger.debug("sandbox probe %s failed (%s): %s", argv[0], res.returncode, res.stderr[-500:])
    return res.returncode == 0


def _probe_bwrap() -> bool:
    t = _tools()
    if t.bwrap is None or t.prlimit is None:
        return False
    argv = [t.bwrap, *_BWRAP_NS_ARGS]
    if _is_root():
        if t.setpriv is None:
            return False
    else:
        argv.append("--unshare-user")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    argv += ["--perms", "0755", "--dir", "/tmp/a", "--"]
    if _is_root():
        argv += _drop_args(_UID_BASE - 1)
    argv += [t.prlimit, "--nproc=64", "--", t.sh, "-c", "cd /tmp/a && true"]
    return _probe(argv)


def _probe_unshare() -> bool:
    t = _tools()
    if t.unshare is None or t.prlimit is None or t.mount is None:
        return False
    if (_is_root() and t.setpriv is None) or not sys.executable:
        return False
    script = f'{shlex.quote(t.mount)} -t tmpfs -o mode=0755 benchtui /tmp && exec "$@"'
    argv = [t.unshare, *_unshare_ns_args(), "--", *_init_argv(), t.sh, "-c", script, "sh"]
    if _is_root():
        argv += _drop_args(_UID_BASE - 1)
    argv += [t.prlimit, "--nproc=64", "--", t.sh, "-c", "true"]
    return _probe(argv)


class SandboxUnavailable(RuntimeError):
    """BENCHTUI_SANDBOX asks for a mode that does not work on this machine."""


_probed: dict[str, bool] = {}


def _works(mode: str) -> bool:
    """Whether ``mode`` works here (its wrapper chain probed once, then cached)."""
    if mode == "none":
        return True
    with _detect_lock:
        if mode not in _probed:
            _probed[mode] = _probe_bwrap() if mode == "bwrap" else _probe_unshare()
        return _probed[mode]


def unavailable_reason(mode: str) -> str | None:
    """Why ``mode`` cannot run checks here, naming the missing tool; None when it works."""
    if mode not in MODES:
        raise ValueError(f"unknown sandbox mode {mode!r} (expected one of {', '.join(MODES)})")
    t = _tools()
    wanted = {"bwrap": ["bwrap", "prlimit"], "unshare": ["unshare", "prlimit", "mount"], "none": []}[mode]
    if _is_root() and mode != "none":
        wanted.append("setpriv")
    missing = [name for name in wanted if getattr(t, name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (needed by the {mode} sandbox)"
    if not _works(mode):
        return f"{mode} is installed but cannot make its namespaces here (probe failed)"
    return None


def _requested_mode() -> str | None:
    raw = os.environ.get(SANDBOX_ENV, "").strip().lower()
    if raw in ("", "auto"):
        return None
    if raw not in MODES:
        raise ValueError(f"{SANDBOX_ENV}={raw!r}: expected one of {', '.join(MODES)} or auto")
    return raw


def sandbox_mode() -> str:
    """The mode the next check runs in: the one BENCHTUI_SANDBOX forces, else the best detected.

    Raises SandboxUnavailable when the forced mode does not work here, ValueError for a bad value.
    """
    if _FORCE_MODE is not None:
        return _FORCE_MODE
    forced = _requested_mode()
    if forced is None:
        return detect_sandbox()
    reason = unavailable_reason(forced)
    if reason is not None:
        raise SandboxUnavailable(f"{SANDBOX_ENV}={forced}, but {reason}")
    return forced


def detect_sandbox() -> str:
    """Return the isolation this machine supports: "bwrap", "unshare" or "none".

    Probed once (by running the real wrapper chain on ``true``) and cached.
    """
    global _detected
    if _detected is None:
        found = next(mode for mode in MODES if _works(mode))
        with _detect_lock:
            if _detected is None:
                _detected = found
                logger.debug("sandbox mode: %s", _detected)
    return _detected


# --------------------------------------------------------------------------
# pids cgroup (process limit that also holds for root)


@dataclass
class _PidsCgroup:
    path: Path
    v2: bool

    @property
    def procs_file(self) -> Path:
        return self.path / "cgroup.procs"

    def limit_hit(self) -> bool:
        try:
            text = (self.path / "pids.events").read_text()
        except OSError:
            return False
        m = re.search(r"^max (\d+)", text, re.M)
        return bool(m and int(m.group(1)) > 0)

    def pids(self) -> list[int]:
        try:
            return [int(x) for x in self.procs_file.read_text().split()]
        except (OSError, ValueError):
            return []

    def kill_all(self) -> None:
        if self.v2:
            with contextlib.suppress(OSError):
                (self.path / "cgroup.kill").write_text("1")
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self) -> None:
        deadline = time.monotonic() + 2.0
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    logger.debug("could not remove cgroup %s", self.path)
                    return
                self.kill_all()
                time.sleep(0.02)


def _own_cgroup_paths() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            hid, ctrls, path = line.split(":", 2)
            if hid == "0" and ctrls == "":
                out["<v2>"] = path
            for c in ctrls.split(","):
                if c:
                    out[c] = path
    except (OSError, ValueError):
        pass
    return out


def _cgroup_mounts() -> tuple[str | None, str | None]:
    """(v1 pids mount point, cgroup2 mount point)."""
    v1: str | None = None
    v2: str | None = None
    try:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            pre, _, post = line.partition(" - ")
            fields = pre.split()
            post_fields = post.split()
            if len(fields) < 5 or len(post_fields) < 3:
                continue
            mnt = fields[4].replace("\\040", " ")
            fstype, opts = post_fields[0], post_fields[2]
            if fstype == "cgroup" and "pids" in opts.split(",") and v1 is None:
                v1 = mnt
            elif fstype == "cgroup2" and v2 is None:
                v2 = mnt
    except OSError:
        pass
    return v1, v2


_cgroup_counter = 0
_cgroup_lock = threading.Lock()


_stale_checked: set[Path] = set()


def _remove_stale_cgroups(parent: Path, is_v2: bool) -> None:
    """Remove cgroups left behind by benchtui processes that died (once per parent)."""
    with _cgroup_lock:
        if parent in _stale_checked:
            return
        _stale_checked.add(parent)
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        m = re.fullmatch(r"benchtui-check-(\d+)-\d+", entry.name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue  # owner still alive
        except ProcessLookupError:
            pass
        except OSError:
            continue
        cg = _PidsCgroup(entry, is_v2)
        cg.kill_all()
        cg.remove()


def _make_pids_cgroup(max_processes: int) -> _PidsCgroup | None:
    global _cgroup_counter
    if _DISABLE_CGROUP or not _is_root():
        return None
    with _cgroup_lock:
        _cgroup_counter += 1
        name = f"benchtui-check-{os.getpid()}-{_cgroup_counter}"
    own = _own_cgroup_paths()
    v1, v2 = _cgroup_mounts()
    candidates: list[tuple[Path, bool]] = []
    if v1 is not None and "pids" in own:
        candidates.append((Path(v1 + own["pids"].rstrip("/")), False))
    if v2 is not None and "<v2>" in own:
        candidates.append((Path(v2 + own["<v2>"].rstrip("/")), True))
    for parent, is_v2 in candidates:
        _remove_stale_cgroups(parent, is_v2)
        child = parent / name
        try:
            if is_v2:
                if "pids" not in (parent / "cgroup.controllers").read_text().split():
                    continue
                if "pids" not in (parent / "cgroup.subtree_control").read_text().split():
                    (parent / "cgroup.subtree_control").write_text("+pids")
            child.mkdir()
        except OSError:
            continue
        cg = _PidsCgroup(child, is_v2)
        try:
            (child / "pids.max").write_text(str(max_processes))
        except OSError:
            cg.remove()
            continue
        return cg
    return None


# --------------------------------------------------------------------------
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


def _interpreter_paths(extra_path: list[str]) -> list[str]:
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
class _Layout:
    hidden: list[str] = field(default_factory=list)  # tmpfs over these
    dirs: list[str] = field(default_factory=list)  # mkdir 0755 (inside hidden dirs), parents first
    ro_binds: list[str] = field(default_factory=list)
    rw_binds: list[str] = field(default_factory=list)


def _layout(rw_paths: list[str], ro_paths: list[str]) -> _Layout:
    hidden: list[str] = [d for d in _HIDDEN_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    for p in rw_paths + ro_paths:
        b = _blocking_ancestor(p)
        if b is not None and not any(_is_under(b, h) for h in hidden):
            hidden = [h for h in hidden if not _is_under(h, b)] + [b]
    lay = _Layout(hidden=sorted(hidden))

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


def _bwrap_argv(lay: _Layout, cwd: str) -> list[str]:
    t = _tools()
    assert t.bwrap is not None
    argv = [t.bwrap, *_BWRAP_NS_ARGS]
    if not _is_root():
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


def _init_argv() -> list[str]:
    """The init that runs as PID 1 in front of the check (unshare mode), given the check's argv."""
    return [sys.executable, "-I", "-S", "-c", _INIT]


def _unshare_argv(lay: _Layout, cwd: str) -> list[str]:
    """unshare + init + a setup script that builds the same view as bwrap does.

    The init (PID 1) runs the setup script as its child, so the check it
    ``exec``s is never PID 1.  Bind sources are opened as file descriptors
    before the tmpfs mounts hide them, then bound from ``/proc/self/fd/N``
    (``mount -c``: no canonicalisation, which would resolve to the hidden path).
    """
    t = _tools()
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
    return [t.unshare, *_unshare_ns_args(), "--", *_init_argv(), t.sh, "-c", "\n".join(lines), "sandbox-setup"]


# --------------------------------------------------------------------------
# Per-run uid (root only)

_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


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


def _allocate_uid() -> int:
    busy = _uids_with_processes()
    with _uid_lock:
        while True:
            uid = _UID_BASE + random.randrange(_UID_SPAN)
            if uid not in _uids_in_use and uid not in busy:
                _uids_in_use.add(uid)
                return uid


def _release_uid(uid: int) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


def _kill_uid(uid: int) -> None:
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


def _lend_tree(root: str, uid: int) -> dict[str, tuple[int, int]]:
    """chown the tree to ``uid``; return the previous owners to give it back."""
    owners: dict[str, tuple[int, int]] = {}
    for path in _tree_entries(root):
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            owners[path] = (st.st_uid, st.st_gid)
            os.lchown(path, uid, uid)
    return owners


def _return_tree(root: str, uid: int, owners: dict[str, tuple[int, int]]) -> None:
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


# --------------------------------------------------------------------------
# Running


def _build_env(home: str, tmp: str, extra_path: list[str] | None) -> dict[str, str]:
    path = [str(p) for p in (extra_path or [])] + _SYSTEM_PATH
    return {
        "PATH": os.pathsep.join(dict.fromkeys(path)),
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }


_MEMORY_RE = re.compile(rb"MemoryError|Cannot allocate memory|std::bad_alloc|out of memory|memory exhausted", re.I)
_PROCESS_RE = re.compile(
    rb"Resource temporarily unavailable|BlockingIOError|Cannot fork|fork: retry|"
    rb"can't fork|fork failed|Too many processes",
    re.I,
)
_FSIZE_RE = re.compile(rb"File too large|File size limit exceeded", re.I)


def _resource_limit(exit_code: int | None, data: bytes, cgroup_hit: bool, killed: bool) -> str | None:
    if exit_code == 0 and not killed:
        return None
    if exit_code == 128 + signal.SIGXFSZ or _FSIZE_RE.search(data):
        return "file_size"
    if cgroup_hit:
        return "processes"
    if _MEMORY_RE.search(data):
        return "memory"
    if _PROCESS_RE.search(data):
        return "processes"
    return None


def _leader_exited(pid: int) -> bool:
    """True once ``pid`` has exited; it stays a zombie so its pgid stays reserved."""
    try:
        res = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return res is not None


def _killpg(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def run_check(
    command: str,
    cwd: Path,
    timeout_s: float,
    *,
    output_cap_bytes: int = 1_000_000,
    cancel: threading.Event | None = None,
    extra_path: list[str] | None = None,
    memory_bytes: int = 2 * 1024**3,
    max_processes: int = 256,
    max_file_bytes: int = 256 * 1024**2,
) -> CheckOutcome:
    """Run ``command`` (via ``/bin/sh -c``) in the workspace ``cwd``, sandboxed.

    Returns within about ``timeout_s`` + 2 s; no process of the check
    survives the call.  As root, the workspace is chowned to a throw-away
    uid for the run and chowned back to its owner afterwards.
    """
    start = time.monotonic()
    mode = sandbox_mode()
    if mode == "none" and _FORCE_MODE is None and _requested_mode() == "none":
        _warn_once("none", f"benchtui sandbox: {SANDBOX_ENV}=none; check commands run without isolation")
    elif mode == "none":
        _warn_once(
            "none",
            "benchtui sandbox: no bwrap/unshare isolation available; check commands run "
            "without network/filesystem isolation (install bubblewrap)",
        )
    t = _tools()
    ws = os.path.realpath(str(cwd))
    if not os.path.isdir(ws):
        raise FileNotFoundError(f"workspace not found: {ws}")
    if ws == "/" or ws in _SYSTEM_PATH or ws in _HIDDEN_DIRS:
        raise ValueError(f"refusing to use {ws} as a check workspace")
    extra = [os.path.realpath(str(p)) for p in (extra_path or [])]

    root = _is_root()
    uid: int | None = None
    base = tempfile.mkdtemp(prefix="benchtui-check-")
    home = os.path.join(base, "home")
    tmp = os.path.join(base, "tmp")
    os.mkdir(home, 0o700)
    os.mkdir(tmp, 0o700)
    lent: dict[str, tuple[int, int]] | None = None
    cgroup: _PidsCgroup | None = None
    try:
        cgroup = _make_pids_cgroup(max_processes)
        if root and mode in ("bwrap", "unshare"):
            uid = _allocate_uid()
            _lend_tree(base, uid)
            lent = _lend_tree(ws, uid)
        elif root and cgroup is None:
            _warn_once(
                "nproc",
                "benchtui sandbox: running as root without a pids cgroup or sandbox; the process limit is not enforced",
            )

        inner: list[str] = []
        if t.prlimit is not None:
            inner = [
                t.prlimit,
                f"--as={memory_bytes}",
                f"--nproc={max_processes}",
                f"--fsize={max_file_bytes}",
                "--core=0",
                "--",
            ]
        else:
            _warn_once("prlimit", "benchtui sandbox: prlimit not found; no resource limits")
        inner += [t.sh, "-c", command]
        if uid is not None:
            inner = _drop_args(uid) + inner

        argv: list[str]
        if mode in ("bwrap", "unshare"):
            lay = _layout([ws, base], _interpreter_paths(extra))
            wrapper = _bwrap_argv(lay, ws) if mode == "bwrap" else _unshare_argv(lay, ws)
            argv = wrapper + inner
        else:
            argv = inner
        if cgroup is not None:
            # Join the cgroup before anything else runs, without preexec_fn.
            argv = [
                t.sh,
                "-c",
                'echo $$ > "$0" || exit 125; exec "$@"',
                str(cgroup.procs_file),
                *argv,
            ]

        env = _build_env(home, tmp, extra)
        outcome = _execute(argv, ws, env, start, timeout_s, output_cap_bytes, cancel, cgroup, uid)
        return CheckOutcome(
            exit_code=outcome[0],
            output=outcome[1],
            timed_out=outcome[2],
            truncated=outcome[3],
            duration_s=time.monotonic() - start,
            sandbox=mode,
            resource_limit=outcome[4],
        )
    finally:
        if cgroup is not None:
            cgroup.kill_all()
            cgroup.remove()
        if uid is not None:
            _kill_uid(uid)
            if lent is not None:
                _return_tree(ws, uid, lent)
            _release_uid(uid)
        shutil.rmtree(base, ignore_errors=True)


def _execute(
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    start: float,
    timeout_s: float,
    cap: int,
    cancel: threading.Event | None,
    cgroup: _PidsCgroup | None,
    uid: int | None,
) -> tuple[int | None, str, bool, bool, str | None]:
    deadline = start + max(0.0, timeout_s)
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    try:
        import fcntl

        fcntl.fcntl(fd, 1031, _READ_CHUNK)  # F_SETPIPE_SZ: fewer wakeups on floods
    except OSError:
        pass
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    buf = bytearray()
    truncated = False
    timed_out = False
    cancelled = False
    eof = False
    stop_at: float | None = None  # drain until EOF or this moment

    def kill_tree() -> None:
        _killpg(proc.pid)
        if cgroup is not None:
            cgroup.kill_all()
        if uid is not None:
            _kill_uid(uid)

    try:
        while True:
            now = time.monotonic()
            if stop_at is None:
                if _leader_exited(proc.pid):
                    kill_tree()  # background leftovers (sleep 1000 &) die now
                    stop_at = now + _DRAIN_GRACE_S
                elif now >= deadline:
                    timed_out = True
                    kill_tree()
                    stop_at = now + _DRAIN_GRACE_S
                elif cancel is not None and cancel.is_set():
                    cancelled = True
                    kill_tree()
                    stop_at = now + _DRAIN_GRACE_S
            if eof or (stop_at is not None and now >= stop_at):
                break
            wait_s = _POLL_S if stop_at is None else min(_POLL_S, max(0.0, stop_at - now))
            if stop_at is None:
                wait_s = min(wait_s, max(0.0, deadline - now))
            events = poller.poll(int(wait_s * 1000) + 1)
            if not events:
                continue
            for _ in range(64):  # bounded burst, then re-check the clock
                try:
                    chunk = os.read(fd, _READ_CHUNK)
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno == errno.EINTR:
                        continue
                    eof = True
                    break
                if not chunk:
                    eof = True
                    break
                room = cap - len(buf)
                if room > 0:
                    buf += chunk[:room]
                if len(chunk) > room:
                    truncated = True
    finally:
        kill_tree()
        proc.stdout.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            logger.warning("benchtui sandbox: check leader %s did not exit after SIGKILL", proc.pid)

    killed = timed_out or cancelled
    exit_code: int | None = None
    if not killed:
        rc = proc.returncode
        exit_code = 128 - rc if rc is not None and rc < 0 else rc
    data = bytes(buf)
    limit = _resource_limit(exit_code, data, cgroup.limit_hit() if cgroup is not None else False, killed)
    return exit_code, data.decode("utf-8", errors="replace"), timed_out, truncated, limit
