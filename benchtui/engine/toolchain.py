"""What a check's program needs inside the sandbox beyond the system folders: its folder on PATH and the
folders it reads mounted read-only.

The sandbox hides ``/root``, ``/home`` and ``/tmp`` and puts only the system folders on PATH, so a program
installed under a home folder (rustup's ``~/.cargo/bin/cargo``, nvm's node) or benchtui's own jest (in the
data folder) would not be found there although ``shutil.which`` finds it here. rustup's ``cargo`` is a
proxy that needs ``~/.rustup``: the toolchain it would run is mounted instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from benchtui.engine import jest, junit
from benchtui.engine.sandbox.host import SYSTEM_PATH


@dataclass(frozen=True)
class SandboxTools:
    path: tuple[str, ...] = ()  # folders put first on the check's PATH (and mounted read-only)
    read_only: tuple[str, ...] = ()  # folders mounted read-only


def for_program(program: str | None) -> SandboxTools:
    if program is None or "/" in program:
        return SandboxTools()
    if program == jest.PROGRAM:
        return SandboxTools(path=(str(jest.bin_dir()),), read_only=(str(jest.home()),))
    if program == junit.PROGRAM:
        return SandboxTools(path=(str(junit.bin_dir()),), read_only=(str(junit.bin_dir()),))
    return _found(program)


@functools.lru_cache(maxsize=64)
def _found(program: str) -> SandboxTools:
    if shutil.which(program, path=os.path.dirname(sys.executable)) is not None:
        return SandboxTools()  # benchtui's interpreter folder (``python``) is first on the check's PATH already
    found = shutil.which(program)
    if found is None or os.path.dirname(found) in SYSTEM_PATH:
        return SandboxTools()
    real = os.path.realpath(found)
    if os.path.basename(real) == "rustup":
        toolchain = _rustup_which(real, program)
        if toolchain is not None:
            bin_folder = os.path.dirname(toolchain)
            return SandboxTools(path=(bin_folder,), read_only=(os.path.dirname(bin_folder),))
    # The program's installation: its bin folder's parent (nvm's node keeps its modules in ../lib).
    return SandboxTools(path=(os.path.dirname(found),), read_only=(os.path.dirname(os.path.dirname(real)),))


def _rustup_which(rustup: str, program: str) -> str | None:
    try:
        done = subprocess.run([rustup, "which", program], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = done.stdout.strip()
    return path if done.returncode == 0 and os.path.isfile(path) else None
