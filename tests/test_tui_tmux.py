"""The app in a real terminal: ``benchtui`` (the console script) inside tmux, driven with send-keys.

A scripted Ollama runs in this process; the app finds it through ``OLLAMA_HOST``, keeps its results in
a temporary ``BENCHTUI_DATA_DIR`` and reads the repository's ``tasks/`` (cwd = repository root). The test
marks a task, selects the detected category, runs the batch, watches the grid fill in with
``capture-pane`` and waits for the results, then quits. tmux runs on a private socket
(``-L benchtui-test-<random>``) whose server alone is killed at the end. Skipped without tmux, and without
node (the app would refuse the library's JavaScript tasks, whose checks run node).
Set ``BENCHTUI_TMUX_CAPTURES=DIR`` to keep the captured screens.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import check_programs, requires_tool
from tests.support.scripted import Script, ScriptedOllama, fixed, solution_reply

ROOT = Path(__file__).resolve().parent.parent
BENCHTUI = Path(sys.executable).parent / "benchtui"

pytestmark = [
    requires_tool("tmux", *check_programs(ROOT / "tasks")),
    pytest.mark.skipif(not BENCHTUI.exists(), reason="the benchtui console script is not installed"),
    pytest.mark.timeout(600),
]


class Tmux:
    """One tmux server on a private socket, one 120×36 session."""

    def __init__(self) -> None:
        self.socket = f"benchtui-test-{uuid.uuid4().hex[:10]}"
        self.captures: list[str] = []

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # COLUMNS/LINES (pytest's children can see 80×24 there) would override the pane's real size.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check, timeout=30, env=env
        )

    def start(self, command: str) -> None:
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "bt", "-x", "120", "-y", "36", command)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "bt", key)
            time.sleep(0.3)

    def capture(self) -> str:
        result = self.run("capture-pane", "-p", "-t", "bt", check=False)
        screen = result.stdout if result.returncode == 0 else ""
        if screen and (not self.captures or self.captures[-1] != screen):
            self.captures.append(screen)
        return screen

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.capture()
            if predicate(screen):
                return screen
            time.sleep(0.25)
        last = self.captures[-1] if self.captures else "(nothing captured)"
        raise AssertionError(f"timed out waiting for {what}; last screen:\n{last}")

    def alive(self) -> bool:
        return self.run("has-session", "-t", "bt", check=False).returncode == 0

    def kill_server(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session.kill_server()


def test_benchtui_in_tmux_runs_a_batch_and_shows_results(tmux: Tmux, tmp_path: Path) -> None:
    server = ScriptedOllama(
        {
            "solver": Script(solution_reply(ROOT / "tasks" / "smoke" / "add_comment.md"), chunk_delay_s=0.02),
            "garbage": Script(fixed("no idea")),
        }
    ).start()
    config = tmp_path / "models_config.yaml"
    config.write_text("embedded:\n  enabled: false\n")
    exit_file = tmp_path / "exit_code"
    env = {
        "BENCHTUI_DATA_DIR": str(tmp_path / "data"),
        "BENCHTUI_CONFIG": str(config),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "OLLAMA_HOST": server.url,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
    }
    exports = " ".join(f"{key}={_quote(value)}" for key, value in env.items())
    command = (
        f"cd {_quote(str(ROOT))} && env -u COLUMNS -u LINES {exports} {_quote(str(BENCHTUI))}; "
        f"echo $? > {_quote(str(exit_file))}"
    )
    try:
        tmux.start(f"sh -c {_quote(command)}")
        # The footer's "space Mark" says the tree has the focus: the first frame can show the tree before it.
        tmux.wait_for(lambda s: "Task library" in s and "add_comment" in s and "space Mark" in s, "the Tasks screen")
        tmux.keys("Space")  # the first task (smoke/add_comment) is highlighted: mark it
        try:
            tmux.wait_for(lambda s: "1 task × 0 models" in s, "the task to be marked", timeout=20.0)
        except AssertionError:  # on a loaded machine the screen can show before the tree has focus
            if "1 task × 0 models" not in tmux.capture():
                tmux.keys("Space")
            tmux.wait_for(lambda s: "1 task × 0 models" in s, "the task to be marked")
        tmux.keys("2")
        tmux.wait_for(lambda s: "Categories" in s and "ollama/solver" in s, "the Models screen")
        tmux.keys("BTab", "Down")  # to the category list, onto "ollama"
        tmux.wait_for(lambda s: "Category: ollama" in s, "the ollama category")
        tmux.keys("c")
        tmux.wait_for(lambda s: "1 task × 2 models" in s, "the category to be selected")
        tmux.keys("r")
        tmux.wait_for(lambda s: "Last check line" in s, "the Run screen")
        # The podiums fill in once the batch's figures are loaded off the UI thread: wait for their first entry.
        results = tmux.wait_for(
            lambda s: "Leaderboard" in s and "Most efficient" in s and "1st solver:latest" in s.replace("  ", " "),
            "the results",
        )
        assert "solver:latest" in results and "100%" in results
        assert "1st solver:latest" in results.replace("  ", " ")
        run_screens = [c for c in tmux.captures if "Last check line" in c]
        assert run_screens, "the Run screen was never captured"
        assert any("ollama" in c or "solver" in c for c in run_screens)
        tmux.keys("q")
        deadline = time.monotonic() + 60
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "0"
        data = tmp_path / "data" / "results"
        batches = [p for p in data.iterdir() if (p / "batch.json").is_file()]
        assert len(batches) == 1
    finally:
        keep = os.environ.get("BENCHTUI_TMUX_CAPTURES")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for index, screen in enumerate(tmux.captures):
                (Path(keep) / f"capture_{index:03d}.txt").write_text(screen)
        server.close()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"
