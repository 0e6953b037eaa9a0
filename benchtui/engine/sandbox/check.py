"""One sandboxed check, end to end: :func:`run_check` puts the mechanisms of this package together
(the mode from ``detect``, the limits and cgroup from ``limits``, the per-run uid from ``identity``,
the command line from ``argv``, the run itself from ``process``) and reports a :class:`CheckOutcome`.

Whatever happens, nothing of the check outlives the call: its process tree and PID namespace are
killed, its cgroup is removed, the workspace goes back to its owners and the per-run HOME/TMPDIR is deleted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchtui.engine.sandbox import detect
from benchtui.engine.sandbox.argv import HIDDEN_DIRS, bwrap_argv, interpreter_paths, layout
from benchtui.engine.sandbox.host import SYSTEM_PATH, is_root, tools, warn_once
from benchtui.engine.sandbox.identity import allocate_uid, drop_args, lend_tree, release_uid, return_tree
from benchtui.engine.sandbox.launcher import launcher_argv
from benchtui.engine.sandbox.limits import PidsCgroup, join_cgroup, make_pids_cgroup, prlimit_args
from benchtui.engine.sandbox.process import build_env, execute


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


def _warn_if_unisolated(mode: str) -> None:
    if mode != "none":
        return
    # detect._FORCE_MODE is read here, not imported: tests and bench/ set it on the module.
    if detect._FORCE_MODE is None and detect.requested_mode() == "none":
        warn_once("none", f"benchtui sandbox: {detect.SANDBOX_ENV}=none; check commands run without isolation")
    else:
        warn_once(
            "none",
            "benchtui sandbox: no bwrap/unshare isolation available; check commands run "
            "without network/filesystem isolation (install bubblewrap)",
        )


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
    read_only: list[str] | None = None,
) -> CheckOutcome:
    """Run ``command`` (via ``/bin/sh -c``) in the workspace ``cwd``, sandboxed.

    ``extra_path`` folders come first on the check's PATH and are mounted read-only, as are the
    ``read_only`` ones (a toolchain outside the system folders: engine/toolchain.py).
    Returns within about ``timeout_s`` + 2 s; no process of the check
    survives the call.  As root, the workspace is chowned to a throw-away
    uid for the run and chowned back to its owner afterwards.
    """
    start = time.monotonic()
    mode = detect.sandbox_mode()
    _warn_if_unisolated(mode)
    t = tools()
    ws = os.path.realpath(str(cwd))
    if not os.path.isdir(ws):
        raise FileNotFoundError(f"workspace not found: {ws}")
    if ws == "/" or ws in SYSTEM_PATH or ws in HIDDEN_DIRS:
        raise ValueError(f"refusing to use {ws} as a check workspace")
    extra = [os.path.realpath(str(p)) for p in (extra_path or [])]

    root = is_root()
    uid: int | None = None
    base = tempfile.mkdtemp(prefix="benchtui-check-")
    home = os.path.join(base, "home")
    tmp = os.path.join(base, "tmp")
    os.mkdir(home, 0o700)
    os.mkdir(tmp, 0o700)
    lent: dict[str, tuple[int, int]] | None = None
    cgroup: PidsCgroup | None = None
    try:
        cgroup = make_pids_cgroup(max_processes)
        if root and mode in ("bwrap", "unshare"):
            uid = allocate_uid()
            lend_tree(base, uid)
            lent = lend_tree(ws, uid)
        elif root and cgroup is None:
            warn_once(
                "nproc",
                "benchtui sandbox: running as root without a pids cgroup or sandbox; the process limit is not enforced",
            )

        command_argv = [t.sh, "-c", command]
        argv: list[str]
        # The interpreters' folders and any toolchain outside the system folders, read-only.
        ro_paths = interpreter_paths(extra) + [os.path.realpath(str(p)) for p in (read_only or []) if os.path.isdir(p)]
        if mode == "unshare":  # one program sets up namespaces, view, limits, uid and cgroup
            argv = launcher_argv(
                layout([ws, base], ro_paths),
                ws,
                memory_bytes=memory_bytes,
                max_processes=max_processes,
                max_file_bytes=max_file_bytes,
                drop_to_uid=uid,
                cgroup_procs=str(cgroup.procs_file) if cgroup is not None else None,
                # Whatever uid the check keeps (a non-root benchtui's, as root of its user namespace), it
                # writes no host path but its own folders and cannot undo a mount (docs/SANDBOX.md).
                read_only_host=True,
                drop_capabilities=True,
            )
            argv += command_argv
        else:
            inner = [*prlimit_args(memory_bytes, max_processes, max_file_bytes), *command_argv]
            if uid is not None:
                inner = drop_args(uid) + inner
            argv = inner
            if mode == "bwrap":
                argv = bwrap_argv(layout([ws, base], ro_paths), ws) + inner
            if cgroup is not None:
                argv = join_cgroup(cgroup, argv)

        env = build_env(home, tmp, extra)
        end = execute(argv, ws, env, start, timeout_s, output_cap_bytes, cancel, cgroup)
        return CheckOutcome(
            exit_code=end.exit_code,
            output=end.output,
            timed_out=end.timed_out,
            truncated=end.truncated,
            duration_s=time.monotonic() - start,
            sandbox=mode,
            resource_limit=end.resource_limit,
        )
    finally:
        if cgroup is not None:
            cgroup.kill_all()
            cgroup.remove()
        if uid is not None:
            # No process of the uid is left: the uid is only lent in the namespace modes, whose PID 1
            # is dead by now (execute killed the tree), and the kernel kills a PID namespace whole.
            if lent is not None:
                return_tree(ws, uid, lent)
            release_uid(uid)
        shutil.rmtree(base, ignore_errors=True)
