"""The check's resource limits: ``prlimit`` around the command (memory, file size, processes, no core
files), a ``pids`` cgroup per run where the process limit must also hold for root, and which limit a
check ran into, read from its exit and its output.

RLIMIT_NPROC is not enforced for root (kuid 0), so as root the process limit comes from a cgroup made
per run (v1 or v2) and from the unprivileged per-run uid (``identity``). The cgroup is joined by a
small shell prefix, never ``preexec_fn`` (unsafe in a threaded harness).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchtui.engine.sandbox.host import is_root, logger, tools, warn_once

# Test hook: pretend no pids cgroup can be made.
_DISABLE_CGROUP = False


def prlimit_args(memory_bytes: int, max_processes: int, max_file_bytes: int) -> list[str]:
    """The ``prlimit ... --`` prefix of the check's command; empty (and a warning, once) without prlimit."""
    t = tools()
    if t.prlimit is None:
        warn_once("prlimit", "benchtui sandbox: prlimit not found; no resource limits")
        return []
    return [
        t.prlimit,
        f"--as={memory_bytes}",
        f"--nproc={max_processes}",
        f"--fsize={max_file_bytes}",
        "--core=0",
        "--",
    ]


@dataclass
class PidsCgroup:
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
        cg = PidsCgroup(entry, is_v2)
        cg.kill_all()
        cg.remove()


def make_pids_cgroup(max_processes: int) -> PidsCgroup | None:
    global _cgroup_counter
    if _DISABLE_CGROUP or not is_root():
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
        cg = PidsCgroup(child, is_v2)
        try:
            (child / "pids.max").write_text(str(max_processes))
        except OSError:
            cg.remove()
            continue
        return cg
    return None


def join_cgroup(cgroup: PidsCgroup, argv: list[str]) -> list[str]:
    """``argv`` behind a shell that joins ``cgroup`` before anything else runs, without preexec_fn."""
    return [
        tools().sh,
        "-c",
        'echo $$ > "$0" || exit 125; exec "$@"',
        str(cgroup.procs_file),
        *argv,
    ]


_MEMORY_RE = re.compile(rb"MemoryError|Cannot allocate memory|std::bad_alloc|out of memory|memory exhausted", re.I)
_PROCESS_RE = re.compile(
    rb"Resource temporarily unavailable|BlockingIOError|Cannot fork|fork: retry|"
    rb"can't fork|fork failed|Too many processes",
    re.I,
)
_FSIZE_RE = re.compile(rb"File too large|File size limit exceeded", re.I)


def resource_limit(exit_code: int | None, data: bytes, cgroup_hit: bool, killed: bool) -> str | None:
    """Which limit the check ran into ("memory" | "processes" | "file_size"), best effort; None if none."""
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
