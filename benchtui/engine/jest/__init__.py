"""The jest that runs Exercism JavaScript specs: installed once by benchtui from the npm registry into its
data folder, and mounted read-only into the check sandbox, where there is no network.

Exercism's specs are jest specs (``*.spec.js``, ES imports without extensions, ``xtest``); ``node --test``
runs none of them, and ``npx jest`` inside the sandbox only times out fetching it. So benchtui installs
the versions pinned by ``package-lock.json`` here (jest 29.7.0, babel-jest and babel's preset-env, with
``npm ci``: the same tree on every machine) under ``<data>/tools/jest-<version>/``, with its own
configuration (``jest.config.js``: babel with node's own target, ``xtest`` run as ``test``) and the
check program ``benchtui-jest``.

It is installed by ``benchtui tasks import exercism`` when the import wrote JavaScript tasks (the user is
online and expects downloads then), or by ``benchtui tasks install-jest``; never by a batch or
``tasks validate``: a benchmark must not depend on the network, nor count an install in a check's time.
Until it is installed, a task whose check is ``benchtui-jest`` is unavailable and says how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from benchtui.paths import data_dir

VERSION = "29.7.0"
PROGRAM = "benchtui-jest"
_SHIPPED = ("package.json", "package-lock.json", "jest.config.js", "xtest.js")
INSTALL_COMMAND = "benchtui tasks install-jest"


class JestInstallError(Exception):
    """npm could not install jest; the message ends with npm's own last lines."""


TOOLS_ENV = "BENCHTUI_TOOLS_DIR"


def home() -> Path:
    """Where this version of benchtui's jest lives: ``<data>/tools/`` (``BENCHTUI_DATA_DIR`` moves it with the
    data folder; ``BENCHTUI_TOOLS_DIR`` moves only the tools, so tests can share one install)."""
    override = os.environ.get(TOOLS_ENV)
    return (Path(override) if override else data_dir() / "tools") / f"jest-{VERSION}"


def bin_dir() -> Path:
    return home() / "bin"


def installed() -> bool:
    root = home()
    return (root / "bin" / PROGRAM).is_file() and (root / "node_modules" / "jest" / "bin" / "jest.js").is_file()


def unavailable_reason() -> str | None:
    """Why a ``benchtui-jest`` check cannot run here, or None."""
    if shutil.which("node") is None:
        return "its check runs jest on 'node', which is not installed here: install Node.js (apt-get install nodejs)"
    if not installed():
        return f"its check runs jest {VERSION}, which benchtui has not installed: run `{INSTALL_COMMAND}` (npm, once)"
    return None


def install(npm: str | None = None, timeout_s: float = 600.0) -> Path:
    """Install the pinned jest (a no-op when it is there); returns its folder. Raises JestInstallError.

    Built in a staging folder next to the final one and renamed into place, so a killed install leaves
    nothing that looks installed."""
    root = home()
    if installed():
        return root
    npm = npm or shutil.which("npm")
    if npm is None:
        raise JestInstallError("npm is not installed: install Node.js with npm (e.g. apt-get install npm)")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".jest-{VERSION}-", dir=root.parent))
    try:
        from importlib import resources  # here: it costs every start-up, and only an install needs it

        package = resources.files(__name__)
        for name in _SHIPPED:
            (staging / name).write_bytes(package.joinpath(name).read_bytes())
        (staging / "bin").mkdir()
        program = staging / "bin" / PROGRAM
        program.write_bytes(package.joinpath(PROGRAM).read_bytes())
        program.chmod(0o755)
        # --ignore-scripts: no package's install script runs; jest and babel need none.
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            raise JestInstallError(f"npm ci failed (exit {done.returncode}):\n{tail}")
        # mkdtemp made it 0700: the check runs as another uid when benchtui is root, and must read it.
        staging.chmod(0o755)
        if root.exists():
            shutil.rmtree(root)
        staging.rename(root)
    except subprocess.TimeoutExpired:
        raise JestInstallError(f"npm ci did not finish within {timeout_s:g} s") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return root
