"""Shared fixtures: every test gets its own data folder and no ambient Ollama, config or API keys."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TASKS = REPO / "tasks"
sys.path.insert(0, str(REPO))
# The assistants installed for real (benchtui assistants install, .ci/run) stay where they are while each
# test moves benchtui's data folder (BENCHTUI_DATA_DIR below): read the folder once, before that; the tests
# marked real_assistants get it.
from benchtui.engine.assistants.install import default_dir as _assistants_dir  # noqa: E402

os.environ.setdefault("BENCHTUI_ASSISTANTS_DIR", str(_assistants_dir()))


@pytest.fixture(autouse=True)
def isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    data = tmp_path_factory.mktemp("benchtui-data")
    monkeypatch.setenv("BENCHTUI_DATA_DIR", str(data))
    # No assistant is installed, unless the test drives the real ones (@pytest.mark.real_assistants): the
    # app and the listings then look the same on every machine.
    if request.node.get_closest_marker("real_assistants") is None:
        monkeypatch.setenv("BENCHTUI_ASSISTANTS_DIR", str(data / "assistants"))
    # Nothing on this machine listens on port 9: discovery sees "no Ollama" quickly unless a test says otherwise.
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    # An empty config with the embedded models off: tests that want a real model say so.
    default_config = data / "models_config.yaml"
    default_config.write_text("embedded: {enabled: false}\n", encoding="utf-8")
    monkeypatch.setenv("BENCHTUI_CONFIG", str(default_config))
    for name in list(os.environ):
        if name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    return data


# The Debian package for each program some tests need (.ci/run installs them), for the skip reason.
_PACKAGES = {"bwrap": "bubblewrap", "chromium": "chromium", "node": "nodejs", "tmux": "tmux", "go": "golang"}


def find_tool(name: str) -> str | None:
    """Where the program ``name`` is, looked up as task checks find theirs: this interpreter's folder
    first, then PATH. None when it is not installed."""
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def missing_tool_reason(*names: str) -> str:
    """The skip reason for missing programs: their names first, then how to install them."""
    return "; ".join(f"{name} is not installed (Debian: apt-get install {_PACKAGES.get(name, name)})" for name in names)


def requires_tool(*names: str) -> pytest.MarkDecorator:
    """Skip a test (or, as ``pytestmark``, a module) unless every named program is installed; the reason
    names the missing ones. A fresh machine may lack any of node, tmux, Chromium and bwrap."""
    missing = [name for name in names if find_tool(name) is None]
    return pytest.mark.skipif(bool(missing), reason=missing_tool_reason(*missing))


def skip_unless_installed(*names: str) -> None:
    """``requires_tool`` from inside a test or a helper it calls."""
    missing = [name for name in names if find_tool(name) is None]
    if missing:
        pytest.skip(missing_tool_reason(*missing))


_CHECK_LINE = re.compile(r"^check:[ \t]*(.+?)[ \t]*$", re.M)


def check_programs(*paths: Path) -> list[str]:
    """The programs that the checks of the task files under ``paths`` start (``node`` for the JavaScript
    tasks): a test that loads those tasks needs them, since the loader refuses a check it cannot run."""
    files = [f for p in paths for f in (sorted(p.rglob("*.md")) if p.is_dir() else [p] if p.is_file() else [])]
    programs: list[str] = []
    for file in files:
        text = file.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue
        match = _CHECK_LINE.search(text.split("\n---", 1)[0])
        if match is None:
            continue
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            continue
        program = next((w for w in words if "=" not in w.split("/", 1)[0]), None)  # after VAR=value
        if program is not None and program not in programs:
            programs.append(program)
    return programs


def requires_task_tools(*paths: Path) -> pytest.MarkDecorator:
    """``requires_tool`` for every program the checks of the tasks under ``paths`` start."""
    return requires_tool(*check_programs(*paths))


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
