"""Installing the assistants into benchtui's data folder, each into its own folder, and saying which ones
are usable and why not.

A PyPI assistant gets its own venv (``<assistants_dir>/<name>/venv``: aider and mini-swe-agent pin
litellm and friends at versions nothing else should share), an npm one ``npm install --prefix
<assistants_dir>/<name>``. Versions are pinned by each adapter's ``InstallSpec``, so a batch run today and
one run next month drive the same program. The stamp file is written last: an interrupted install never
looks usable.

Stdlib only, and runnable as ``python3 -m benchtui.engine.assistants.install all``: ``.ci/run`` installs
the assistants with the system Python before the README's test command creates benchtui's venv (without
platformdirs the folder is found the way platformdirs finds it on Linux, or from ``--dir`` /
``BENCHTUI_ASSISTANTS_DIR``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchtui.engine.assistants import registry
from benchtui.engine.assistants.base import STAMP, Adapter, install_dir, installed_version

INSTALL_TIMEOUT_S = 900.0


class InstallError(Exception):
    """An install that did not finish; the message says which command failed and its last output."""


@dataclass(frozen=True)
class Availability:
    """One assistant here: what benchtui pins, what is installed, and ``reason`` when it cannot run."""

    name: str
    registry: str
    package: str
    pinned: str
    installed: str | None
    executable: Path | None
    reason: str | None

    @property
    def usable(self) -> bool:
        return self.executable is not None and self.reason is None


def default_dir() -> Path:
    """``paths.assistants_dir()``; without platformdirs (the system Python of ``.ci/run``) the same folder
    found the way platformdirs finds it on Linux."""
    override = os.environ.get("BENCHTUI_ASSISTANTS_DIR")
    if override:
        return Path(override)
    try:
        from benchtui import paths
    except ImportError:
        data = os.environ.get("BENCHTUI_DATA_DIR") or os.path.join(
            os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "benchtui"
        )
        return Path(data) / "assistants"
    return paths.assistants_dir()


def prerequisite_missing(adapter: Adapter) -> str | None:
    """Why this machine cannot install ``adapter`` (no npm, no venv module), or None."""
    if adapter.install.registry == "npm":
        return None if shutil.which("npm") else "needs npm, which is not on PATH (install Node.js with npm)"
    if importlib.util.find_spec("ensurepip") is None:
        return "needs Python's venv with pip (Debian: apt-get install python3-venv)"
    return None


def availability(name: str, adapter: Adapter, root: Path) -> Availability:
    spec = adapter.install
    exe = adapter.locate(root)
    installed = installed_version(root, name, spec) if exe is not None else None
    reason = None
    if exe is None:
        folder = install_dir(root, name)
        missing = prerequisite_missing(adapter)
        if missing:
            reason = f"not installed; {missing}"
        elif folder.exists() and not (folder / STAMP).is_file():
            reason = f"an install did not finish: run benchtui assistants install {name}"
        else:
            reason = f"not installed: run benchtui assistants install {name}"
    return Availability(name, spec.registry, spec.package, spec.version, installed, exe, reason)


def statuses(root: Path | None = None) -> list[Availability]:
    """Every assistant adapter benchtui has, in the registry's order."""
    where = root or default_dir()
    return [availability(name, adapter, where) for name, adapter in registry.adapters().items()]


def install(
    name: str, adapter: Adapter, root: Path, *, say: Callable[[str], None] = print, force: bool = False
) -> Availability:
    """Install ``adapter`` at its pinned version under ``root``; raises InstallError. An install of the
    pinned version that finished is kept unless ``force``."""
    spec = adapter.install
    current = availability(name, adapter, root)
    if current.usable and current.installed == spec.version and not force:
        say(f"{name}: {spec.package} {spec.version} is installed ({current.executable})")
        return current
    missing = prerequisite_missing(adapter)
    if missing:
        raise InstallError(f"{name}: {missing}")
    folder = install_dir(root, name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.monotonic()
    say(f"{name}: installing {spec.requirement} into {folder} ...")
    if spec.registry == "pypi":
        venv = folder / "venv"
        _run([sys.executable, "-m", "venv", str(venv)], name)
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", spec.requirement, *spec.extras], name)
    else:
        npm = shutil.which("npm") or "npm"
        requirements = [spec.requirement, *spec.extras]
        _run(
            [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--loglevel=error", *requirements],
            name,
        )
    stamp = {"package": spec.package, "version": spec.version, "registry": spec.registry, "at": time.time()}
    (folder / STAMP).write_text(json.dumps(stamp), encoding="utf-8")
    done = availability(name, adapter, root)
    if not done.usable:
        raise InstallError(f"{name}: installed, but {spec.executable} is not where expected: {done.reason}")
    say(f"{name}: {spec.package} {done.installed} installed in {time.monotonic() - started:.0f} s")
    return done


def _run(argv: list[str], name: str) -> None:
    # stdin closed: a registry asking a question must fail, not wait.
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"{name}: {argv[0]} failed: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-8:]
        raise InstallError(f"{name}: {' '.join(argv[:4])} ... exited {done.returncode}:\n" + "\n".join(tail))


def resolve(names: list[str]) -> dict[str, Adapter]:
    """The adapters ``names`` (or ``all``) say; raises InstallError naming an unknown one."""
    known = registry.adapters()
    if names == ["all"]:
        return known
    chosen = {}
    for name in names:
        if name not in known:
            raise InstallError(f"unknown assistant {name!r}; known: {', '.join(known) or 'none'}")
        chosen[name] = known[name]
    return chosen


def main(argv: list[str] | None = None) -> int:
    """``python -m benchtui.engine.assistants.install [--dir DIR] [--force] NAME... | all``."""
    parser = argparse.ArgumentParser(prog="python -m benchtui.engine.assistants.install")
    parser.add_argument("names", nargs="+", metavar="NAME", help="assistants to install, or all")
    parser.add_argument("--dir", help="where (default: benchtui's data folder's assistants/)")
    parser.add_argument("--force", action="store_true", help="reinstall even when installed")
    args = parser.parse_args(argv)
    root = Path(args.dir) if args.dir else default_dir()
    try:
        chosen = resolve(args.names)
    except InstallError as exc:
        print(f"benchtui: error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for name, adapter in chosen.items():
        try:
            install(name, adapter, root, force=args.force)
        except InstallError as exc:
            print(f"benchtui: error: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
