"""The assistant runtime's process control: an assistant that hangs is killed with its whole tree at the
deadline, in every confinement mode; its environment is the allowlist, never benchtui's own.

These are the only tests that use a fake assistant (``FakeHungAssistant``, a shell script): what is
tested is benchtui's control of a process, which no real assistant can be made to misbehave for on
demand. The adapters' own tests drive the real programs (test_assistant_aider.py, ...).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from benchtui.engine.assistants.base import AssistantOutcome, Dialect, InstallSpec, Invocation, RunContext
from benchtui.engine.assistants.pairs import pair
from benchtui.engine.contestants.assistant import AssistantContestant
from benchtui.engine.sandbox import detect, limits
from benchtui.engine.tasks import load_tasks
from tests.support.assistants import NoModelGateway, scripted_spec
from tests.support.scripted import tiny_task


class FakeHungAssistant:
    """Not a real assistant: a script that starts a grandchild in a session of its own (out of the
    process group), then hangs; the marker in their command lines finds them in /proc."""

    name = "fake-hung"
    dialect: Dialect = "openai-chat"
    install = InstallSpec("pypi", "none", "0", "fake")

    def __init__(self, exe: Path, marker: str) -> None:
        self.exe, self.marker = exe, marker
        self.envs: list[dict[str, str]] = []

    def locate(self, assistants_dir: Path) -> Path | None:
        return self.exe

    def version(self, exe: Path) -> str | None:
        return "0"

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        env = {**ctx.base_env, "FAKE_MARKER": self.marker}
        self.envs.append(env)
        return Invocation([str(exe), self.marker], env)

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        return self.first(exe, message, ctx)

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        return AssistantOutcome(returncode == 0, None if returncode == 0 else "assistant_failed", stdout)


HUNG_SCRIPT = """#!/bin/sh
setsid sh -c 'sleep 300; : "$1"' grandchild "$1" &
sh -c 'sleep 300; : "$1"' child "$1" &
echo started
sleep 300
"""


def _marked(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("mode", ["bwrap", "unshare", "none", "none-without-cgroup"])
def test_a_hung_assistant_is_killed_with_its_whole_tree_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """bwrap, unshare: its PID namespace ends with it; none: the per-run cgroup; without one (not root),
    the mark every process of the invocation inherits finds the grandchild that left the process group."""
    sandbox = mode.removesuffix("-without-cgroup")
    if detect.unavailable_reason(sandbox):
        pytest.skip(f"the {sandbox} sandbox cannot run here: {detect.unavailable_reason(sandbox)}")
    monkeypatch.setattr(detect, "_FORCE_MODE", sandbox)
    if mode.endswith("-without-cgroup"):
        monkeypatch.setattr(limits, "_DISABLE_CGROUP", True)
    exe = tmp_path / "bin" / "fake-hung"
    exe.parent.mkdir()
    exe.write_text(HUNG_SCRIPT)
    exe.chmod(0o755)
    marker = f"benchtui-test-{uuid.uuid4().hex}"
    adapter = FakeHungAssistant(exe, marker)
    task = load_tasks([tiny_task(tmp_path / "task")])[0]
    spec = pair(scripted_spec("http://127.0.0.1:9"), "fake-hung", "0", {})
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.extend(p for p in _marked(marker) if p not in seen)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    contestant = AssistantContestant(gateway_factory=NoModelGateway, adapters={"fake-hung": adapter})
    started = time.monotonic()
    try:
        result, transcript = contestant.run(task, spec, None, timeout_s=2.0)  # type: ignore[arg-type]
    finally:
        stop.set()
        watcher.join()
    elapsed = time.monotonic() - started
    assert len(set(seen)) >= 3, "the script, its child and its grandchild must all have run"
    assert result["status"] == "timeout", result
    assert result["error"] == "timeout"
    assert 2.0 <= elapsed < 6.0
    time.sleep(0.2)
    assert _marked(marker) == [], "every process of the tree is gone"
    # NoModelGateway serves no unix socket: no bridge, and no network at all in the namespace modes.
    assert result["assistant_sandbox"] == sandbox
    ran = next(e for e in transcript if e["kind"] == "assistant")
    assert ran["returncode"] is None  # killed, not exited
    assert "started" in ran["content"]


def test_the_assistant_gets_the_allowlisted_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"sk-canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    monkeypatch.setenv("SOME_TOKEN", canary)
    exe = tmp_path / "bin" / "fake-env"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\nenv\n")
    exe.chmod(0o755)
    adapter = FakeHungAssistant(exe, "unused")
    task = load_tasks([tiny_task(tmp_path / "task")])[0]
    spec = pair(scripted_spec("http://127.0.0.1:9", api_key=canary), "fake-hung", "0", {})
    result, transcript = AssistantContestant(gateway_factory=NoModelGateway, adapters={"fake-hung": adapter}).run(
        task,
        spec,
        None,  # type: ignore[arg-type]
        timeout_s=20.0,
    )
    printed = next(e for e in transcript if e["kind"] == "assistant")["content"]
    names = {line.split("=", 1)[0] for line in printed.splitlines() if "=" in line}
    assert canary not in printed
    assert "OPENAI_API_KEY" not in names and "SOME_TOKEN" not in names
    assert {"PATH", "HOME", "TMPDIR", "FAKE_MARKER"} <= names
    home = next(line.split("=", 1)[1] for line in printed.splitlines() if line.startswith("HOME="))
    assert home != os.environ.get("HOME") and home.endswith("/home")
    assert result["status"] == "failed"  # the check ran on the untouched tree
    assert result["prompts_sent"] == result["turns"] == 2  # continued once: tiny_task has max_turns 2


def test_an_assistant_that_is_not_installed_fails_its_run_typed(tmp_path: Path) -> None:
    adapter = FakeHungAssistant(tmp_path / "nowhere" / "fake", "unused")
    task = load_tasks([tiny_task(tmp_path / "task")])[0]
    spec = pair(scripted_spec("http://127.0.0.1:9"), "fake-hung", None, {})
    result, _ = AssistantContestant(gateway_factory=NoModelGateway, adapters={"fake-hung": adapter}).run(
        task,
        spec,
        None,  # type: ignore[arg-type]
    )
    assert result["status"] == "error"
    assert result["error"] == "assistant_not_installed"
    assert "benchtui assistants install fake-hung" in str(result["error_message"])
    # What benchtui's own loop counts and an assistant's run never shows it is not measured: null, never 0.
    assert result["malformed_replies"] is None and result["history_dropped"] is None
    assert result["runaway_replies"] is None
    # What benchtui does measure stays a count: nothing was prompted, hinted or cut off.
    assert (result["prompts_sent"], result["hints_given"], result["truncated_replies"]) == (0, 0, 0)
