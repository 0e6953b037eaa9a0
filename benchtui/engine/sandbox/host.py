"""What this machine offers the sandbox: the wrapper programs found, whether benchtui runs as root,
the system PATH, and the package's one logger with its warn-once.

Every other sandbox module builds on these. Nothing here probes a namespace or starts a process.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass

# One logger for the whole package, under the name it had when the sandbox was one module: log
# filters, and tests that capture "benchtui.engine.sandbox", keep working.
logger = logging.getLogger("benchtui.engine.sandbox")

SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]


@dataclass(frozen=True)
class Tools:
    sh: str
    prlimit: str | None
    setpriv: str | None
    bwrap: str | None
    unshare: str | None
    mount: str | None


# Test hook: replaced (dataclasses.replace) to pretend a program is missing.
_tools_cache: Tools | None = None
# Test hook: the warnings already given; a test empties it to see a warning again.
_warned: set[str] = set()
_warn_lock = threading.Lock()


def which(name: str) -> str | None:
    path = os.pathsep.join([*SYSTEM_PATH, os.environ.get("PATH", "")])
    return shutil.which(name, path=path)


def tools() -> Tools:
    global _tools_cache
    if _tools_cache is None:
        _tools_cache = Tools(
            sh="/bin/sh",
            prlimit=which("prlimit"),
            setpriv=which("setpriv"),
            bwrap=which("bwrap"),
            unshare=which("unshare"),
            mount=which("mount"),
        )
    return _tools_cache


def is_root() -> bool:
    return os.geteuid() == 0


def warn_once(key: str, message: str) -> None:
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(message)
