"""Running the wrapped check: its allowlisted environment, its own session, output read with ``poll``
in the calling thread and kept only up to the cap, and the kill of its whole tree on exit, timeout or
cancel (its process group, hence its PID namespace, and the per-run cgroup).

A check printing gigabytes keeps the harness memory flat, and a grandchild holding stdout open cannot
block the call: once the leader exits, what is left is killed and the pipe drained for a short grace.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from benchtui.engine.sandbox.host import SYSTEM_PATH, logger
from benchtui.engine.sandbox.limits import PidsCgroup, resource_limit

_READ_CHUNK = 1 << 20
_DRAIN_GRACE_S = 1.0
_POLL_S = 0.1


@dataclass(frozen=True)
class ProcessEnd:
    """How the wrapped process ended; ``run_check`` adds the mode and the run's duration."""

    exit_code: int | None  # None when killed (timeout/cancel); 128+N when killed by signal N
    output: str  # combined stdout+stderr, utf-8 with errors="replace", capped
    timed_out: bool
    truncated: bool  # output exceeded the cap
    resource_limit: str | None  # "memory" | "processes" | "file_size" | None (best effort)


def build_env(home: str, tmp: str, extra_path: list[str] | None) -> dict[str, str]:
    path = [str(p) for p in (extra_path or [])] + SYSTEM_PATH
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


def execute(
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    start: float,
    timeout_s: float,
    cap: int,
    cancel: threading.Event | None,
    cgroup: PidsCgroup | None,
) -> ProcessEnd:
    """Run ``argv`` in its own session until it ends, ``timeout_s`` after ``start``, or ``cancel``.

    Whatever way it ends, the whole tree is killed before this returns.
    """
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
    limit = resource_limit(exit_code, data, cgroup.limit_hit() if cgroup is not None else False, killed)
    return ProcessEnd(
        exit_code=exit_code,
        output=data.decode("utf-8", errors="replace"),
        timed_out=timed_out,
        truncated=truncated,
        resource_limit=limit,
    )
