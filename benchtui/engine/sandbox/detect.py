"""Which isolation works here: ``bwrap``, else ``unshare``, else ``none``, each probed once by running
its real wrapper chain on ``true``; and the mode the next check runs in (``BENCHTUI_SANDBOX`` forces
one, and a forced mode that does not work here is an error, never a silent fallback).

The unshare probe runs the launcher with the settings checks get, the read-only host view among them:
where the kernel lacks mount_setattr(2) (before Linux 5.12) the mode does not work here, and says why,
rather than run checks that could write the caller's files and undo their mounts (docs/SANDBOX.md).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading

from benchtui.engine.sandbox.argv import BWRAP_NS_ARGS, layout
from benchtui.engine.sandbox.host import SYSTEM_PATH, is_root, logger, tools
from benchtui.engine.sandbox.identity import UID_BASE, drop_args
from benchtui.engine.sandbox.launcher import ROHOST_STEP, launcher_argv

MODES = ("bwrap", "unshare", "none")
# Set to one of MODES to use that mode instead of the best detected one ("auto" or empty: detect).
# A forced mode that does not work here is an error, never a silent fallback: CI forces each mode
# in turn to prove it (.ci/run).
SANDBOX_ENV = "BENCHTUI_SANDBOX"

# Test hook: force a mode ("bwrap" | "unshare" | "none") instead of detecting (wins over SANDBOX_ENV).
_FORCE_MODE: str | None = None

_detect_lock = threading.Lock()
_detected: str | None = None


def _probe(argv: list[str]) -> str | None:
    """None when ``argv`` ran ``true``, else why not (the last line it printed, or the error)."""
    try:
        res = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd="/",
            env={"PATH": os.pathsep.join(SYSTEM_PATH), "LANG": "C.UTF-8"},
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("sandbox probe %s failed: %s", argv[0], exc)
        return str(exc)
    if res.returncode == 0:
        return None
    logger.debug("sandbox probe %s failed (%s): %s", argv[0], res.returncode, res.stderr[-500:])
    lines = res.stderr.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit status {res.returncode}"


def _probe_bwrap() -> str | None:
    t = tools()
    if t.bwrap is None or t.prlimit is None:
        return "bwrap or prlimit not installed"
    argv = [t.bwrap, *BWRAP_NS_ARGS]
    if is_root():
        if t.setpriv is None:
            return "setpriv not installed"
    else:
        argv.append("--unshare-user")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    argv += ["--perms", "0755", "--dir", "/tmp/a", "--"]
    if is_root():
        argv += drop_args(UID_BASE - 1)
    argv += [t.prlimit, "--nproc=64", "--", t.sh, "-c", "cd /tmp/a && true"]
    return _probe(argv)


def _probe_unshare() -> str | None:
    if not sys.executable:
        return "no interpreter to run the launcher with"
    argv = launcher_argv(
        layout([], []),
        "/",
        max_processes=64,
        drop_to_uid=UID_BASE - 1 if is_root() else None,
        read_only_host=True,  # as check.run_check asks for them
        drop_capabilities=True,
    )
    return _probe([*argv, tools().sh, "-c", "true"])


class SandboxUnavailable(RuntimeError):
    """BENCHTUI_SANDBOX asks for a mode that does not work on this machine."""


_probed: dict[str, bool] = {}
_probe_failures: dict[str, str] = {}  # why a mode's probe failed, for unavailable_reason


def _works(mode: str) -> bool:
    """Whether ``mode`` works here (its wrapper chain probed once, then cached)."""
    if mode == "none":
        return True
    with _detect_lock:
        if mode not in _probed:
            failure = _probe_bwrap() if mode == "bwrap" else _probe_unshare()
            _probed[mode] = failure is None
            if failure is not None:
                _probe_failures[mode] = failure
        return _probed[mode]


def unavailable_reason(mode: str) -> str | None:
    """Why ``mode`` cannot run checks here, naming the missing tool; None when it works."""
    if mode not in MODES:
        raise ValueError(f"unknown sandbox mode {mode!r} (expected one of {', '.join(MODES)})")
    t = tools()
    wanted = {"bwrap": ["bwrap", "prlimit"], "unshare": [], "none": []}[mode]
    if is_root() and mode == "bwrap":
        wanted.append("setpriv")
    missing = [name for name in wanted if getattr(t, name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (needed by the {mode} sandbox)"
    if not _works(mode):
        failure = _probe_failures.get(mode, "")
        if mode == "unshare" and failure.startswith(f"benchtui sandbox: {ROHOST_STEP}:"):
            return (
                f"the unshare launcher cannot make the host read-only here ({failure.rpartition(': ')[2]}): "
                f"mount_setattr(2) needs Linux 5.12 or later, this is {platform.release()}; install bubblewrap"
            )
        detail = f": {failure}" if failure else ""
        return f"{mode} is installed but cannot make its namespaces here (probe failed{detail})"
    return None


def requested_mode() -> str | None:
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
    forced = requested_mode()
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
