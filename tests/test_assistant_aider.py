"""aider, the real program (aider-chat from PyPI, installed by benchtui assistants install), driven
through the run's gateway by a scripted model server: a full loop (read, edit, exit), the session
continued after a failed check with a typed message, the canary key kept out, a dead upstream.

aider edits by SEARCH/REPLACE blocks in its reply text (no tool calls), so the script answers with those.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from benchtui.engine.assistants import confine, registry
from benchtui.engine.assistants.base import Adapter, AssistantOutcome, Invocation, RunContext
from benchtui.engine.contestants import RunControl
from benchtui.engine.contestants.assistant import AssistantContestant
from benchtui.engine.providers import RetryPolicy, make_provider
from benchtui.engine.tasks import load_tasks
from tests.support.assistants import paired, real_assistant, scripted_spec
from tests.support.scripted import tiny_task
from tests.support.scripted_agent import AgentScript, ScriptedAgentServer, text, turns

pytestmark = [pytest.mark.slow, pytest.mark.real_assistants]


def block(search: str, replace: str) -> str:
    return (
        f"I will edit answer.txt.\n\nanswer.txt\n```\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n"
        ">>>>>>> REPLACE\n```\n"
    )


@pytest.fixture(scope="module")
def aider() -> Path:
    return real_assistant("aider")


def test_aider_fixes_the_task_through_the_gateway_and_continues_its_session(aider: Path, tmp_path: Path) -> None:
    """The first edit is wrong: the check fails, benchtui continues aider's session with the check's
    result and the message typed meanwhile; the second edit passes. Figures are the gateway's."""
    script = AgentScript(turns(text(block("todo", "doing")), text(block("doing", "done"))))
    with ScriptedAgentServer({"agent": script}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        spec = paired(scripted_spec(server.url), "aider")
        control = RunControl()
        control.human_messages.put("please write done, not doing")
        result, transcript = AssistantContestant().run(task, spec, make_provider(spec), control=control, timeout_s=240)
        requests = server.recorded("agent")
    assert result["status"] == "passed", result["error_message"]
    assert result["model"] == "aider · agent"
    assert result["assistant"] == "aider" and result["assistant_version"] == "0.86.2"
    assert result["diff"] == "--- a/answer.txt\n+++ b/answer.txt\n@@ -1 +1 @@\n-todo\n+done\n"
    assert result["turns"] == result["prompts_sent"] == 2
    assert result["typed_interventions"] == result["human_interventions"] == 1
    assert result["model_requests"] == len(requests) == 2
    assert result["prompt_tokens"] and result["completion_tokens"]  # the scripted server's usage, metered
    assert result["assistant_sandbox"] == confine.assistant_mode()
    # The continuation is the same conversation (chat history restored), carrying what was typed.
    first, second = (r.body["messages"] for r in requests)
    assert len(second) > len(first)
    assert "please write done, not doing" in str(second[-1]) and "exit code 1" in str(second[-1])
    # The requests came through the gateway: its per-run token stopped there.
    assert all("benchtui-run-" not in r.headers.get("authorization", "") for r in requests)
    kinds = [e["kind"] for e in transcript]
    assert kinds == ["prompt", "assistant", "check", "human", "prompt", "assistant", "check"]


class Watching:
    """aider's adapter, wrapped to see what it gives the program and what the run's folders hold."""

    def __init__(self, canary: str) -> None:
        inner = registry.get("aider")
        assert inner is not None
        self.inner: Adapter = inner
        self.name, self.dialect, self.install = self.inner.name, self.inner.dialect, self.inner.install
        self.canary = canary
        self.found: list[str] = []
        self.scanned = 0

    def locate(self, assistants_dir: Path) -> Path | None:
        return self.inner.locate(assistants_dir)

    def version(self, exe: Path) -> str | None:
        return self.inner.version(exe)

    def _seen(self, invocation: Invocation) -> Invocation:
        text = repr(invocation)
        if self.canary in text:
            self.found.append("invocation")
        return invocation

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        return self._seen(self.inner.first(exe, prompt, ctx))

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        return self._seen(self.inner.resume(exe, message, ctx))

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        # Everything aider wrote (home: history, analytics, caches; workspace; its stdout and stderr).
        for root in (ctx.home, ctx.workspace):
            for path in root.rglob("*"):
                if path.is_file():
                    self.scanned += 1
                    if self.canary.encode() in path.read_bytes():
                        self.found.append(str(path))
        if self.canary in stdout + stderr:
            self.found.append("output")
        return self.inner.outcome(ctx, returncode, stdout, stderr)


def test_the_canary_key_never_reaches_aider(aider: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"sk-canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", canary)  # benchtui's own environment holds it too
    script = AgentScript(turns(text(block("todo", "done"))), api_key=canary)  # the upstream wants the real key
    watching = Watching(canary)
    with ScriptedAgentServer({"agent": script}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        spec = paired(scripted_spec(server.url, api_key=canary), "aider")
        result, transcript = AssistantContestant(adapters={"aider": watching}).run(
            task, spec, make_provider(spec), timeout_s=240
        )
        requests = server.recorded("agent")
    assert result["status"] == "passed", result["error_message"]  # so the key did reach the upstream
    assert requests and all(r.headers["authorization"] == f"Bearer {canary}" for r in requests)
    assert watching.scanned > 3
    assert watching.found == []
    assert canary not in repr(transcript) and canary not in repr(result)


def test_aider_on_a_dead_upstream_fails_its_run_in_seconds_typed(aider: Path, tmp_path: Path) -> None:
    """aider would retry for 80 s and exit 0; the gateway's typed error stops it at once."""
    task = load_tasks([tiny_task(tmp_path / "task")])[0]
    spec = paired(scripted_spec("http://127.0.0.1:9"), "aider")
    provider = make_provider(spec, policy=RetryPolicy(max_retries=1, base_delay_s=0.1))
    started = time.monotonic()
    result, _ = AssistantContestant().run(task, spec, provider, timeout_s=240)
    elapsed = time.monotonic() - started
    assert result["status"] == "error"
    assert result["error"] == "unreachable"
    assert "127.0.0.1:9" in str(result["error_message"])
    assert elapsed < 60  # aider's start (a few seconds, more on a loaded machine) and one failed request
