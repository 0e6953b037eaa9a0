"""Running one assistant invocation confined like a check, and killing its whole tree at the deadline.

What it shares with the check sandbox (engine/sandbox/): the allowlisted environment (the adapter's
``Invocation.env`` starts from ``base_env``, nothing comes from ``os.environ``), its own session and
process group, the per-run ``pids`` cgroup (a cap on processes, and the way to find and kill every one of
them, even those that left the process group), RLIMIT_FSIZE and RLIMIT_CORE, and bwrap's filesystem view
(the host read-only, ``/tmp``, ``/run``, ``/root``, ``/home`` hidden, only the workspace, the run's home
and its temp folder writable, the assistant's install folder readable) with new PID, IPC and UTS
namespaces, so the PID namespace's end takes every process with it.

What differs, and is recorded per run (``assistant_sandbox``): the assistant must reach the gateway on the
host's loopback, which a new network namespace would cut off, so it keeps the host's network namespace
(``bwrap-hostnet``); it holds no real key, only the gateway's per-run token. Where bwrap does not work
here (or ``BENCHTUI_SANDBOX`` says otherwise), the assistant runs with the environment allowlist, the
limits and the tree kill only (``none``). No RLIMIT_AS: Node and V8 reserve far more address space than
they use, and the cap would crash them at start.

Output goes to files, not pipes: an assistant's background child holding a pipe open cannot block the
call, and only the last ``OUTPUT_CAP_BYTES`` of each stream are read back.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchtui.engine.sandbox import detect
from benchtui.engine.sandbox.argv import interpreter_paths, layout
from benchtui.engine.sandbox.host import is_root, tools
from benchtui.engine.sandbox.limits import PidsCgroup, join_cgroup, make_pids_cgroup

OUTPUT_CAP_BYTES = 2_000_000
MAX_PROCESSES = 1024
MAX_FILE_BYTES = 1024**3
_POLL_S = 0.05
_MARK = "BENCHTUI_ASSISTANT_RUN"

# The NS arguments of the check's bwrap (argv.BWRAP_NS_ARGS) less --unshare-net: see the docstring.
_BWRAP_NS_ARGS = [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--hostname",
    "sandbox",
]


@dataclass(frozen=True)
class ProcessResult:
    """How one invocation ended. ``returncode`` None: benchtui killed it (deadline or cancel)."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    cancelled: bool
    duration_s: float
    sandbox: str  # "bwrap-hostnet" | "none"
    leftover_killed: int  # processes besides the leader benchtui found alive at the end and killed (best effort)
    stopped_by: tuple[str, str] | None = None  # (error kind, message) when ``stop`` ended it


def assistant_mode() -> str:
    """The confinement the next assistant gets: ``bwrap-hostnet`` where the check sandbox would use bwrap."""
    try:
        mode = detect.sandbox_mode()
    except detect.SandboxUnavailable:
        return "none"
    return "bwrap-hostnet" if mode == "bwrap" else "none"


def _bwrap_argv(cwd: Path, writable: list[Path], readable: list[Path]) -> list[str]:
    t = tools()
    assert t.bwrap is not None
    rw = [os.path.realpath(p) for p in writable]
    ro = interpreter_paths([os.path.realpath(p) for p in readable if p.is_dir()]) + [
        os.path.realpath(p) for p in readable
    ]
    lay = layout(rw, [p for p in ro if os.path.exists(p)])
    argv = [t.bwrap, *_BWRAP_NS_ARGS]
    if not is_root():
        argv.append("--unshare-user")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for hidden in lay.hidden:
        argv += ["--perms", "1777" if hidden in ("/tmp", "/var/tmp") else "0755", "--tmpfs", hidden]
    for folder in lay.dirs:
        argv += ["--perms", "0755", "--dir", folder]
    for path in lay.ro_binds:
        argv += ["--ro-bind", path, path]
    for path in lay.rw_binds:
        argv += ["--bind", path, path]
    argv += ["--chdir", os.path.realpath(cwd), "--"]
    return argv


def _limits() -> list[str]:
    t = tools()
    if t.prlimit is None:
        return []
    return [t.prlimit, f"--nproc={MAX_PROCESSES}", f"--fsize={MAX_FILE_BYTES}", "--core=0", "--"]


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - OUTPUT_CAP_BYTES))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _killpg(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def run_confined(
    argv: list[str],
    env: dict[str, str],
    *,
    cwd: Path,
    writable: list[Path],
    readable: list[Path],
    logs: Path,
    deadline: float,
    cancel: threading.Event | None = None,
    mode: str | None = None,
    stop: Callable[[], tuple[str, str] | None] | None = None,
    on_tick: Callable[[], None] | None = None,
) -> ProcessResult:
    """Run ``argv`` with exactly ``env`` in ``cwd``, stdin closed, until it exits, ``deadline``
    (time.monotonic()) passes or ``cancel`` is set; nothing it started outlives the call.

    ``writable``: the folders it may write (workspace, home, temp); ``readable``: more it must read (its
    install folder, hidden under /root otherwise); ``logs``: a folder (outside the writable ones) for
    its stdout and stderr; ``stop``, asked every poll, ends it early with (kind, message), ``on_tick`` is
    called every poll (progress)."""
    started = time.monotonic()
    chosen = mode or assistant_mode()
    command = [*_limits(), *argv]
    if chosen == "bwrap-hostnet":
        command = _bwrap_argv(cwd, writable, readable) + command
    cgroup: PidsCgroup | None = make_pids_cgroup(MAX_PROCESSES)
    if cgroup is not None:
        command = join_cgroup(cgroup, command)
    # Every process of the invocation inherits this mark: where no cgroup can be made (not root), the ones
    # that left the process group (setsid) are found by it in /proc and killed too.
    mark = f"{_MARK}={secrets.token_hex(8)}"
    env = {**env, _MARK: mark.split("=", 1)[1]}
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / "stdout.txt", logs / "stderr.txt"
    timed_out = cancelled = False
    stopped: tuple[str, str] | None = None
    leftover = 0
    with out_path.open("wb") as out, err_path.open("wb") as err:
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            if cgroup is not None:
                cgroup.remove()
            return ProcessResult(127, "", f"cannot start {argv[0]}: {exc}", False, False, 0.0, chosen, 0)
        try:
            while process.poll() is None:
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                stopped = stop() if stop is not None else None
                if stopped is not None:
                    break
                if on_tick is not None:
                    on_tick()
                time.sleep(_POLL_S)
        finally:
            # The whole tree, whether the leader exited or not: background children (a language server, a
            # telemetry flusher) die with the invocation.
            if process.poll() is None:
                _killpg(process.pid)
            else:
                leftover = _count_group(process.pid, cgroup)
                _killpg(process.pid)
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()
            leftover += _kill_marked(mark.encode())
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            if process.poll() is None:  # cannot happen after SIGKILL short of a kernel hang; never wait forever
                process.kill()
    killed = timed_out or cancelled or stopped is not None
    return ProcessResult(
        None if killed else process.returncode,
        _tail(out_path),
        _tail(err_path),
        timed_out,
        cancelled,
        time.monotonic() - started,
        chosen,
        leftover,
        stopped,
    )


def _count_group(pgid: int, cgroup: PidsCgroup | None) -> int:
    if cgroup is not None:
        return len(cgroup.pids())
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if os.getpgid(int(entry.name)) == pgid:
                    count += 1
    return count


def _kill_marked(mark: bytes) -> int:
    """Kill every process whose environment carries ``mark`` (those this uid may read); how many."""
    killed = 0
    for _ in range(3):  # a process forking while it is killed: look again
        found = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if mark in environ.split(b"\0"):
                with contextlib.suppress(OSError):
                    os.kill(int(entry.name), signal.SIGKILL)
                    found += 1
        killed += found
        if not found:
            break
        time.sleep(0.02)
    return killed
