"""Running one assistant invocation confined like a check, and killing its whole tree at the deadline.

What it shares with the check sandbox (engine/sandbox/): the allowlisted environment (the adapter's
``Invocation.env`` starts from ``base_env``, nothing comes from ``os.environ``), its own session and
process group, the per-run ``pids`` cgroup (a cap on processes, and the way to find and kill every one of
them, even those that left the process group), RLIMIT_FSIZE and RLIMIT_CORE, and the check's filesystem
view (the host read-only, ``/tmp``, ``/run``, ``/root``, ``/home`` hidden, only the workspace, the run's
home and its temp folder writable, the assistant's install folder readable) with new PID, IPC, UTS and
network namespaces, so the PID namespace's end takes every process with it.

The network: the assistant's namespace has nothing but a loopback of its own, and one way out, to the
run's gateway. The gateway also serves on a unix socket (``Gateway.unix_socket``), whose folder is
bound into the sandbox read-only, and the assistant runs as the child of ``bridge.py``, which listens on
the sandbox's ``127.0.0.1`` at the gateway's own port and joins each connection to that socket: the
assistant's config keeps naming ``http://127.0.0.1:PORT``, and every request still needs the run's
token. What is recorded per run (``assistant_sandbox``):

- ``bwrap``: bwrap's view and namespaces, the network only to the gateway (the check's mode is bwrap);
- ``unshare``: the same from the check sandbox's one-step launcher (``sandbox/launcher.py``) with the two
  settings checks get too (``sandbox/check.py``): the whole host view made read-only (``rohost``, as
  bwrap's ``--ro-bind / /``) and every capability dropped, uid kept (``nocaps``). ``detect`` refuses the
  unshare mode where they do not work; ``_launcher_works`` probes them once more with an assistant's own
  view, a cheap guard kept so an assistant never runs in that mode unconfined;
- ``bwrap-hostnet``: the fallback where the gateway cannot serve on a unix socket (its path would be
  longer than AF_UNIX allows, or the bind failed): bwrap's view in the host's network namespace, where
  the assistant reaches the gateway on loopback and, beyond it, any network the host reaches; it holds
  no real key, only the per-run token. Under ``unshare`` the same failure gives ``none``;
- ``none``: where neither namespace mode works (or ``BENCHTUI_SANDBOX=none``): the environment
  allowlist, the limits and the tree kill only.

As root, the assistant keeps uid 0 in every mode, without a capability (bwrap's ``--cap-drop ALL``: real
root keeps every one otherwise; the launcher's ``nocaps``) and with ``/proc/sys`` read-only (uid 0 may
write root's sysctls without one; bwrap leaves it writable for real root): checks get a throw-away uid,
but an assistant's workspace, home and install folder would all have to be lent to one. No RLIMIT_AS:
Node and V8 reserve far more address space than they use, and the cap would crash them at start.

Output goes to files, not pipes: an assistant's background child holding a pipe open cannot block the
call, and only the last ``OUTPUT_CAP_BYTES`` of each stream are read back.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from benchtui.engine.assistants import bridge
from benchtui.engine.sandbox import detect
from benchtui.engine.sandbox.argv import BWRAP_NS_ARGS, interpreter_paths, layout
from benchtui.engine.sandbox.host import SYSTEM_PATH, is_root, tools
from benchtui.engine.sandbox.launcher import launcher_argv
from benchtui.engine.sandbox.limits import PidsCgroup, join_cgroup, make_pids_cgroup

OUTPUT_CAP_BYTES = 2_000_000
MAX_PROCESSES = 1024
MAX_FILE_BYTES = 1024**3
_POLL_S = 0.05
_MARK = "BENCHTUI_ASSISTANT_RUN"
BRIDGE = os.path.realpath(bridge.__file__)

# The check's bwrap namespaces; bwrap-hostnet's are the same less --unshare-net.
_HOSTNET_NS_ARGS = [a for a in BWRAP_NS_ARGS if a != "--unshare-net"]
_launcher_probe: list[bool] = []
_probe_lock = threading.Lock()


class Reachable(Protocol):
    """The run's gateway as confinement sees it; ``unix_socket() -> str`` too where it serves one."""

    @property
    def openai_base_url(self) -> str: ...


@dataclass(frozen=True)
class ProcessResult:
    """How one invocation ended. ``returncode`` None: benchtui killed it (deadline or cancel)."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    cancelled: bool
    duration_s: float
    sandbox: str  # "bwrap" | "unshare" | "bwrap-hostnet" | "none" (module docstring)
    leftover_killed: int  # processes besides the leader benchtui found alive at the end and killed (best effort)
    stopped_by: tuple[str, str] | None = None  # (error kind, message) when ``stop`` ended it


def assistant_mode() -> str:
    """The confinement the next assistant gets before its gateway is known: ``bwrap`` or ``unshare``
    where the check sandbox would use that mode (and, for unshare, the launcher's assistant settings
    work here), else ``none``; ``run_confined`` may fall back from there (module docstring)."""
    try:
        mode = detect.sandbox_mode()
    except detect.SandboxUnavailable:
        return "none"
    if mode == "unshare" and not _launcher_works():
        return "none"
    return mode


def _launcher_works() -> bool:
    """Whether the launcher's ``rohost`` and ``nocaps`` work here (mount_setattr needs Linux 5.12)."""
    with _probe_lock:
        if not _launcher_probe:
            argv = [*_launcher(Path("/"), [], [], None), tools().sh, "-c", "true"]
            try:
                env = {"PATH": os.pathsep.join(SYSTEM_PATH)}
                done = subprocess.run(argv, env=env, capture_output=True, timeout=15, check=False)
                _launcher_probe.append(done.returncode == 0)
            except (OSError, subprocess.SubprocessError):
                _launcher_probe.append(False)
        return _launcher_probe[0]


def _views(writable: list[Path], readable: list[Path]) -> tuple[list[str], list[str]]:
    rw = [os.path.realpath(p) for p in writable]
    ro = interpreter_paths([os.path.realpath(p) for p in readable if p.is_dir()]) + [
        os.path.realpath(p) for p in readable
    ]
    return rw, [p for p in ro if os.path.exists(p)]


def _bwrap_argv(cwd: Path, writable: list[Path], readable: list[Path], own_net: bool) -> list[str]:
    t = tools()
    assert t.bwrap is not None
    lay = layout(*_views(writable, readable))
    # Not one capability, not even for a root benchtui's uid 0 (bwrap keeps them all for real root).
    argv = [t.bwrap, *(BWRAP_NS_ARGS if own_net else _HOSTNET_NS_ARGS), "--cap-drop", "ALL"]
    if not is_root():
        argv.append("--unshare-user")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if is_root():  # root-owned sysctls are uid 0's to write, capabilities or not; bwrap skips covering them
        argv += ["--ro-bind", "/proc/sys", "/proc/sys", "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger"]
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


def _launcher(cwd: Path, writable: list[Path], readable: list[Path], cgroup: PidsCgroup | None) -> list[str]:
    return launcher_argv(
        layout(*_views(writable, readable)),
        os.path.realpath(cwd),
        max_processes=MAX_PROCESSES,
        max_file_bytes=MAX_FILE_BYTES,
        cgroup_procs=str(cgroup.procs_file) if cgroup is not None else None,
        read_only_host=True,
        drop_capabilities=True,
    )


def _gateway_socket(gateway: Reachable | None, mode: str) -> tuple[str | None, str]:
    """(the gateway's unix socket or None, the mode that follows). A gateway that serves no socket (a
    test's stand-in that serves nothing) leaves the assistant no way out at all."""
    serve_unix: Callable[[], str] | None = getattr(gateway, "unix_socket", None)
    if mode not in ("bwrap", "unshare") or serve_unix is None:
        return None, mode
    try:
        return serve_unix(), mode
    except OSError:
        return None, "bwrap-hostnet" if mode == "bwrap" else "none"


def _bridged(gateway: Reachable, socket_path: str, argv: list[str]) -> list[str]:
    port = urlsplit(gateway.openai_base_url).port
    listen = f"127.0.0.1:{port}"
    return [sys.executable, "-I", "-S", BRIDGE, "--listen", listen, "--unix", socket_path, "--", *argv]


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
    gateway: Reachable | None = None,
) -> ProcessResult:
    """Run ``argv`` with exactly ``env`` in ``cwd``, stdin closed, until it exits, ``deadline``
    (time.monotonic()) passes or ``cancel`` is set; nothing it started outlives the call.

    ``writable``: the folders it may write (workspace, home, temp); ``readable``: more it must read (its
    install folder, hidden under /root otherwise); ``logs``: a folder (outside the writable ones) for
    its stdout and stderr; ``stop``, asked every poll, ends it early with (kind, message), ``on_tick`` is
    called every poll (progress); ``gateway``, the run's (``openai_base_url``, ``unix_socket()``): the
    one address the assistant can reach from its own network namespace."""
    started = time.monotonic()
    socket_path, chosen = _gateway_socket(gateway, mode or assistant_mode())
    command = argv if chosen == "unshare" else [*_limits(), *argv]  # the launcher sets limits itself
    if gateway is not None and socket_path is not None:
        command = _bridged(gateway, socket_path, command)
        readable = [*readable, Path(socket_path).parent, Path(BRIDGE).parent]
    cgroup: PidsCgroup | None = make_pids_cgroup(MAX_PROCESSES)
    if chosen == "unshare":  # the launcher joins the cgroup itself, before it forks
        command = _launcher(cwd, writable, readable, cgroup) + command
    else:
        if chosen in ("bwrap", "bwrap-hostnet"):
            command = _bwrap_argv(cwd, writable, readable, own_net=chosen == "bwrap") + command
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
