"""The four npm assistants (Continue's ``cn``, Codex CLI, opencode, Claude Code): the real programs, run by
benchtui's assistant runtime through the real gateway to a scripted model (tests/support/scripted_agent.py).

Each one is found where benchtui installs it (``BENCHTUI_ASSISTANTS_DIR`` or the data folder's
``assistants/``, at the pinned version) or, where npm is on PATH, installed once per test session into a
temporary folder; without npm its tests skip naming it. The loop: the model reads greet.py and makes a
wrong edit, the hidden check fails, the runtime continues the assistant's own session, the model reads and
fixes it, the check passes. A dead upstream ends each run in seconds, typed ``unreachable``; Codex on its
own never gives up on a server it cannot reach.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from benchtui.engine.assistants import confine, install, npm_common, pairs, registry
from benchtui.engine.assistants.base import Adapter, RunContext
from benchtui.engine.contestants.assistant import AssistantContestant
from benchtui.engine.gateway import Gateway
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import RetryPolicy
from benchtui.engine.providers.registry import make_provider
from benchtui.engine.tasks import Task, load_task
from tests.support.scripted_agent import AgentScript, ScriptedAgentServer, ToolCall, Turn, text

NPM_ASSISTANTS = ("continue", "codex", "opencode", "claude-code")
CANARY = "sk-canary-npm-assistants-0123456789"
# Where benchtui itself installed them, read before the autouse fixture points the data folder at an empty
# one for each test (conftest.isolated_environment).
_INSTALLED_DIRS = [
    Path(p) for p in dict.fromkeys([os.environ.get("BENCHTUI_ASSISTANTS_DIR"), str(install.default_dir())]) if p
]

# Each assistant's own tool calls for: read greet.py, break it (Helo -> Hallo), fix it (Hallo -> Hello).
CALLS: dict[str, tuple[ToolCall, ToolCall, ToolCall]] = {
    "continue": (
        ToolCall("Read", {"filepath": "greet.py"}),
        ToolCall("Edit", {"file_path": "greet.py", "old_string": "Helo", "new_string": "Hallo"}),
        ToolCall("Edit", {"file_path": "greet.py", "old_string": "Hallo", "new_string": "Hello"}),
    ),
    "codex": (
        ToolCall("exec_command", {"cmd": "cat greet.py"}),
        ToolCall("exec_command", {"cmd": "sed -i s/Helo/Hallo/ greet.py"}),
        ToolCall("exec_command", {"cmd": "sed -i s/Hallo/Hello/ greet.py"}),
    ),
    "opencode": (
        ToolCall("read", {"filePath": "greet.py"}),
        ToolCall("edit", {"filePath": "greet.py", "oldString": "Helo", "newString": "Hallo"}),
        ToolCall("edit", {"filePath": "greet.py", "oldString": "Hallo", "newString": "Hello"}),
    ),
    "claude-code": (
        ToolCall("Read", {"file_path": "greet.py"}),
        ToolCall("Edit", {"file_path": "greet.py", "old_string": "Helo", "new_string": "Hallo"}),
        ToolCall("Edit", {"file_path": "greet.py", "old_string": "Hallo", "new_string": "Hello"}),
    ),
}
# The gateway's name for the dialect each one speaks.
DIALECTS = {
    "continue": "openai-chat",
    "codex": "openai-responses",
    "opencode": "openai-chat",
    "claude-code": "anthropic",
}


def _find_or_install(name: str, session_root: Path) -> Path | str:
    """The folder holding ``name`` at its pinned version, or why there is none (a skip reason)."""
    adapter = registry.get(name)
    assert adapter is not None, f"no adapter {name}"
    for root in _INSTALLED_DIRS:
        state = install.availability(name, adapter, root)
        if state.usable and state.installed == adapter.install.version:
            return root
    if shutil.which("npm") is None:
        return f"{name} needs {adapter.install.requirement} from npm, and npm is not on PATH (install Node.js with npm)"
    try:
        install.install(name, adapter, session_root, say=lambda _line: None)
    except install.InstallError as exc:
        return f"{name}: could not install {adapter.install.requirement}: {exc}"
    return session_root


@pytest.fixture(scope="session")
def assistants_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``where(name)``: the assistants folder holding ``name`` (installed on first use), or a skip."""
    session_root = tmp_path_factory.mktemp("npm-assistants")
    found: dict[str, Path | str] = {}

    def where(name: str) -> Path:
        if name not in found:
            found[name] = _find_or_install(name, session_root)
        place = found[name]
        if isinstance(place, str):
            pytest.skip(place)
        return place

    return where


@pytest.fixture
def greet_task(tmp_path: Path) -> Task:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "greet.py").write_text('def greet(name):\n    return "Helo, " + name\n')
    (tmp_path / "sol").mkdir()
    (tmp_path / "sol" / "greet.py").write_text('def greet(name):\n    return "Hello, " + name\n')
    (tmp_path / "greet.md").write_text(
        "---\nid: greet\ntitle: Fix greet\ndifficulty: smoke\nworkspace: ws/\nsolution: sol/\n"
        "check: grep -q Hello greet.py\nmax_turns: 3\ntimeout: 120\n---\n"
        "Fix the typo in greet.py: the greeting must say Hello.\n"
    )
    return load_task(tmp_path / "greet.md")


def _continued(messages: list[dict[str, Any]]) -> bool:
    # texts.continuation opens with "The hidden check still fails."
    return any(m["role"] == "user" and "still fails" in str(m.get("content") or "") for m in messages)


def loop_script(name: str) -> Callable[[list[dict[str, Any]], list[dict[str, Any]]], Turn]:
    """First invocation: read, break, say done; after the failed check: read again (a new process has not
    read the file: cn and Claude Code refuse to edit a file unread), fix, say done. Stateless: a request is
    answered from the conversation it carries, as a deterministic model would."""
    read, wrong, right = CALLS[name]

    def turn(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Turn:
        if not tools:
            return text("Greeting fix")  # a side request (a session title): no tools, no step
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        since = users[-1] if users else 0
        results = sum(1 for m in messages[since:] if m["role"] == "tool")
        steps = [read, right] if _continued(messages) else [read, wrong]
        if results < len(steps):
            return Turn(tool_calls=(steps[results],))
        return text("Fixed." if _continued(messages) else "Done.")

    return turn


class _Gateways:
    """A gateway factory that keeps the gateways it made, to read their calls after the run."""

    def __init__(self) -> None:
        self.made: list[Gateway] = []

    def __call__(self, spec: ModelSpec, provider: Any, **kwargs: Any) -> Gateway:
        gateway = Gateway(spec, provider, **kwargs)
        self.made.append(gateway)
        return gateway


def _run(
    name: str, task: Task, where: Path, base_url: str, policy: RetryPolicy | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], _Gateways, float]:
    spec = ModelSpec(
        key="scripted",
        name="scripted",
        provider="openai",
        display_name="scripted",
        base_url=base_url,
        api_key=CANARY,
        settings=MappingProxyType({"max_tokens": 256}),
    )
    pair = pairs.pair(spec, name, None, {})
    gateways = _Gateways()
    started = time.monotonic()
    result, transcript = AssistantContestant(assistants_dir=where, gateway_factory=gateways).run(
        task, pair, make_provider(pair, policy=policy), timeout_s=120
    )
    return dict(result), transcript, gateways, time.monotonic() - started


@pytest.fixture
def scripted() -> Iterator[Callable[[str], ScriptedAgentServer]]:
    servers: list[ScriptedAgentServer] = []

    def start(name: str) -> ScriptedAgentServer:
        server = ScriptedAgentServer({"scripted": AgentScript(turn=loop_script(name))}).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.mark.real_assistants
@pytest.mark.parametrize("name", NPM_ASSISTANTS)
def test_the_real_assistant_reads_edits_and_continues_its_session_through_the_gateway(
    name: str, assistants_dir: Callable[[str], Path], greet_task: Task, scripted: Callable[[str], ScriptedAgentServer]
) -> None:
    where = assistants_dir(name)
    adapter = registry.get(name)
    assert adapter is not None
    exe = adapter.locate(where)
    assert exe is not None
    assert adapter.version(exe) == adapter.install.version
    server = scripted(name)

    result, transcript, gateways, _elapsed = _run(name, greet_task, where, server.url + "/v1")

    # benchtui's check decided on the tree the assistant left, after the continuation fixed it.
    assert result["status"] == "passed", (result["error"], result["error_message"], transcript)
    assert result["prompts_sent"] == 2 and result["turns"] == 2
    assert '+    return "Hello, " + name' in result["diff"]
    # The assistant's own account of both invocations was read: success, with the tokens it counted.
    invocations = [e for e in transcript if e["kind"] == "assistant"]
    assert [e["ok"] for e in invocations] == [True, True], invocations
    assert all(e["own_tokens"] for e in invocations), invocations
    assert all(e["returncode"] == 0 for e in invocations)
    # Confined like a check: under bwrap or unshare its only network was the bridge to the gateway.
    assert result["assistant_sandbox"] == confine.assistant_mode()
    # It spoke its own dialect to the gateway, every request answered.
    calls = gateways.made[0].usage().calls
    assert calls and {c.dialect for c in calls} == {DIALECTS[name]}
    assert all(c.ok for c in calls), calls
    if name == "opencode":
        # --title: no separate request (without tools) to name the session, a model call no task needs.
        assert all(r_tools(r) for r in server.recorded()), [r.body.get("messages") for r in server.recorded()]
    # The continuation went on the same session: the first request after the failed check still carries
    # the first invocation's conversation (the task's prompt and the tool results it got).
    continued = [r for r in server.recorded() if _continued(r_messages(r)) and r_tools(r)]
    assert continued, "no request after the failed check"
    history = r_messages(continued[0])
    assert any("Fix the typo in greet.py" in str(m.get("content") or "") for m in history if m["role"] == "user")
    first_user = next(i for i, m in enumerate(history) if _continued([m]))
    assert any(m["role"] == "tool" for m in history[:first_user]), "the session was not resumed"
    # The assistant held only the gateway's token: the real key is in no request it made and nowhere in
    # what the run kept.
    assert CANARY not in json.dumps(transcript)
    assert CANARY not in json.dumps(result)


def r_messages(recorded: Any) -> list[dict[str, Any]]:
    from tests.support.scripted_agent import normalise_chat

    return normalise_chat(recorded.body)[0]


def r_tools(recorded: Any) -> list[dict[str, Any]]:
    return list(recorded.body.get("tools") or [])


@pytest.mark.real_assistants
@pytest.mark.parametrize("name", NPM_ASSISTANTS)
def test_a_dead_upstream_ends_the_run_in_seconds_typed(
    name: str, assistants_dir: Callable[[str], Path], greet_task: Task
) -> None:
    where = assistants_dir(name)
    # Nothing listens on port 9. Codex alone would wait for it forever; the gateway answers it at once.
    policy = RetryPolicy(max_retries=1, base_delay_s=0.1, connect_timeout_s=1.0)

    result, transcript, _gateways, elapsed = _run(name, greet_task, where, "http://127.0.0.1:9/v1", policy)

    assert result["status"] == "error"
    assert result["error"] == "unreachable", (result["error_message"], transcript)
    assert result["files_modified"] == 0
    # Seconds: what it costs to start the program (opencode's start alone takes 10-30 s on a loaded 2-core
    # machine), not its own retries (85 s for opencode, for ever for Codex).
    assert elapsed < 60, elapsed


# The real programs against a real embedded model: tests/test_assistant_real_model.py (one batch of all six).


# The adapters without the programs: what they render and how they read outputs the programs printed.


def _context(tmp_path: Path, **changes: Any) -> RunContext:
    values: dict[str, Any] = {
        "workspace": tmp_path / "workspace",
        "home": tmp_path / "home",
        "openai_base_url": "http://127.0.0.1:5555/v1",
        "anthropic_base_url": "http://127.0.0.1:5555",
        "token": "benchtui-run-TOKEN",
        "model_name": "qwen2.5-coder:1.5b",
        "output_cap": 321,
        "timeout_s": 60.0,
        "base_env": {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp")},
        "context_tokens": 8192,
    }
    values.update(changes)
    return RunContext(**values)


def _adapter(name: str) -> Adapter:
    adapter = registry.get(name)
    assert adapter is not None
    return adapter


@pytest.mark.parametrize("name", NPM_ASSISTANTS)
def test_invocations_hold_the_run_token_and_nothing_from_the_environment(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "CODEX_API_KEY", "CONTINUE_API_KEY"):
        monkeypatch.setenv(variable, CANARY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
    ctx = _context(tmp_path)
    adapter = _adapter(name)
    exe = tmp_path / "bin" / adapter.install.executable
    for invocation in (adapter.first(exe, "Fix it.", ctx), adapter.resume(exe, "Still fails.", ctx)):
        rendered = json.dumps([invocation.argv, invocation.env, invocation.files])
        assert CANARY not in rendered and "api.anthropic.com" not in rendered
        assert ctx.token in rendered
        # The complete environment: the runtime's allowlist, then the program's own switches.
        assert {k: invocation.env[k] for k in ctx.base_env} == dict(ctx.base_env)
        assert set(invocation.env) - set(ctx.base_env) <= ALLOWED_VARIABLES[name]
        assert invocation.argv[0] == str(exe)
        for relative in invocation.files:
            assert not Path(relative).is_absolute() and ".." not in Path(relative).parts


ALLOWED_VARIABLES = {
    "continue": {
        "CONTINUE_GLOBAL_DIR",
        "CONTINUE_METRICS_ENABLED",
        "CONTINUE_CLI_ENABLE_TELEMETRY",
        "CONTINUE_CLI_AUTO_UPDATED",
    },
    "codex": {"CODEX_HOME", "BENCHTUI_GATEWAY_TOKEN"},
    "opencode": {
        "OPENCODE_DISABLE_AUTOUPDATE",
        "OPENCODE_DISABLE_MODELS_FETCH",
        "OPENCODE_DISABLE_LSP_DOWNLOAD",
        "OPENCODE_DISABLE_SHARE",
        "OPENCODE_DISABLE_DEFAULT_PLUGINS",
        "OPENCODE_DISABLE_PROJECT_CONFIG",
        "npm_config_registry",
    },
    "claude-code": {
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_MODEL",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL",
        "ANTHROPIC_DEFAULT_SONNET_MODEL",
        "ANTHROPIC_DEFAULT_OPUS_MODEL",
        "ANTHROPIC_SMALL_FAST_MODEL",
        "CLAUDE_CODE_SUBAGENT_MODEL",
        "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
        "CLAUDE_CODE_MAX_RETRIES",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
        "DISABLE_TELEMETRY",
        "DISABLE_AUTOUPDATER",
        "DISABLE_ERROR_REPORTING",
        "DISABLE_COST_WARNINGS",
    },
}


def test_each_adapter_tells_its_program_the_output_cap(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    exe = tmp_path / "x"
    cn = _adapter("continue").first(exe, "p", ctx)
    assert "maxTokens: 321" in cn.files["cn-config.yaml"]
    opencode = json.loads(_adapter("opencode").first(exe, "p", ctx).files[".config/opencode/opencode.json"])
    assert opencode["provider"]["benchtui"]["models"]["qwen2.5-coder:1.5b"]["limit"]["output"] == 321
    # Without it Claude Code asks max_tokens 32000 of every request.
    assert _adapter("claude-code").first(exe, "p", ctx).env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "321"


def test_claude_code_resumes_the_session_its_first_invocation_named(tmp_path: Path) -> None:
    adapter, exe = _adapter("claude-code"), tmp_path / "claude"
    first = adapter.first(exe, "p", _context(tmp_path))
    session = first.argv[first.argv.index("--session-id") + 1]
    # Where Claude Code keeps the session the first invocation made.
    stored = tmp_path / "home" / ".claude" / "projects" / "-tmp-workspace" / f"{session}.jsonl"
    stored.parent.mkdir(parents=True)
    stored.write_text("{}\n")
    again = adapter.resume(exe, "m", _context(tmp_path, attempt=2))
    other = adapter.first(exe, "p", _context(tmp_path, home=tmp_path / "other-home"))
    assert again.argv[again.argv.index("--resume") + 1] == session
    assert other.argv[other.argv.index("--session-id") + 1] != session


def test_claude_code_starts_the_session_afresh_when_the_first_invocation_stored_none(tmp_path: Path) -> None:
    adapter, exe = _adapter("claude-code"), tmp_path / "claude"
    first = adapter.first(exe, "p", _context(tmp_path))
    again = adapter.resume(exe, "Still fails.", _context(tmp_path, attempt=2, task_prompt="Fix greet.py."))
    assert "--resume" not in again.argv
    assert again.argv[again.argv.index("--session-id") + 1] == first.argv[first.argv.index("--session-id") + 1]
    assert again.argv[again.argv.index("-p") + 1] == "Fix greet.py.\n\nStill fails."


# Where each one stores the session its first invocation made (opencode: its database, always there).
STORED_SESSIONS = {
    "continue": ".continue/sessions/0b6c.json",
    "codex": ".codex/sessions/2026/12/01/rollout-2026-12-01T11-35-07-01a2.jsonl",
}


@pytest.mark.parametrize("name", ["continue", "codex", "opencode"])
def test_the_others_resume_their_last_session_in_the_private_home(name: str, tmp_path: Path) -> None:
    adapter, exe = _adapter(name), tmp_path / "x"
    first = adapter.first(exe, "p", _context(tmp_path))
    if name in STORED_SESSIONS:
        stored = tmp_path / "home" / STORED_SESSIONS[name]
        stored.parent.mkdir(parents=True)
        stored.write_text("{}")
    again = adapter.resume(exe, "m", _context(tmp_path, task_prompt="Fix greet.py."))
    flag = {"continue": "--resume", "codex": "--last", "opencode": "--continue"}[name]
    assert flag in again.argv and flag not in first.argv
    assert "m" in again.argv


@pytest.mark.parametrize("name", sorted(STORED_SESSIONS))
def test_with_no_session_stored_a_continuation_starts_afresh_with_the_task(name: str, tmp_path: Path) -> None:
    again = _adapter(name).resume(tmp_path / "x", "Still fails.", _context(tmp_path, task_prompt="Fix greet.py."))
    assert "--resume" not in again.argv and "--last" not in again.argv
    assert "Fix greet.py.\n\nStill fails." in again.argv


def test_a_message_that_looks_like_an_option_stays_the_prompt(tmp_path: Path) -> None:
    for name in NPM_ASSISTANTS:
        argv = _adapter(name).first(tmp_path / "x", "--help me", _context(tmp_path)).argv
        assert " --help me" in argv and "--help me" not in argv


def test_codex_config_names_the_gateway_and_the_responses_dialect(tmp_path: Path) -> None:
    import tomllib

    config = tomllib.loads(
        _adapter("codex").first(tmp_path / "codex", "p", _context(tmp_path)).files[".codex/config.toml"]
    )
    provider = config["model_providers"][config["model_provider"]]
    assert provider["base_url"] == "http://127.0.0.1:5555/v1" and provider["wire_api"] == "responses"
    assert provider["env_key"] == "BENCHTUI_GATEWAY_TOKEN"
    assert config["model"] == "qwen2.5-coder:1.5b" and config["model_context_window"] == 8192
    assert config["sandbox_mode"] == "danger-full-access" and config["approval_policy"] == "never"
    assert config["features"]["plugins"] is False and config["analytics"]["enabled"] is False


# What the programs printed (captured from the pinned versions), and how each adapter reads it.
OUTCOMES: list[tuple[str, int | None, str, bool, str | None]] = [
    ("continue", 0, '{"response":"Fixed.","status":"success","note":"Response was not valid JSON"}', True, None),
    ("continue", 1, '{"status":"error","message":"Connection error."}', False, "unreachable"),
    ("continue", 1, "TypeError: cannot read properties of undefined\n", False, "assistant_failed"),
    (
        "codex",
        0,
        '{"type":"thread.started","thread_id":"t1"}\n'
        '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `m` not found"}}\n'
        '{"type":"turn.started"}\n'
        '{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Fixed."}}\n'
        '{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":0,"output_tokens":30}}\n',
        True,
        None,
    ),
    (
        "codex",
        1,
        '{"type":"turn.started"}\n'
        '{"type":"error","message":"unexpected status 502 Bad Gateway: upstream unreachable"}\n'
        '{"type":"turn.failed","error":{"message":"unexpected status 502 Bad Gateway: upstream unreachable"}}\n',
        False,
        "unreachable",
    ),
    (
        "codex",
        None,
        '{"type":"turn.started"}\n'
        '{"type":"error","message":"Reconnecting... waiting for network (Connection failed: error sending request)"}\n',
        False,
        "unreachable",
    ),
    ("codex", 0, '{"type":"thread.started","thread_id":"t1"}\n{"type":"turn.started"}\n', False, "assistant_failed"),
    (
        "opencode",
        0,
        '{"type":"text","part":{"type":"text","text":"Fixed."}}\n'
        '{"type":"step_finish","part":{"reason":"stop","tokens":{"input":100,"output":10,"reasoning":0,'
        '"cache":{"read":0,"write":0}},"cost":0}}\n',
        True,
        None,
    ),
    (
        "opencode",
        1,
        '{"type":"error","error":{"name":"APIError","data":{"message":"upstream unreachable (benchtui gateway)",'
        '"statusCode":502,"isRetryable":true}}}\n',
        False,
        "unreachable",
    ),
    (
        "claude-code",
        0,
        '{"type":"result","subtype":"success","is_error":false,"num_turns":3,"result":"Fixed.",'
        '"session_id":"s","total_cost_usd":0.00225,"usage":{"input_tokens":300,"output_tokens":30}}',
        True,
        None,
    ),
    (
        "claude-code",
        1,
        '{"type":"result","subtype":"success","is_error":true,"num_turns":1,'
        '"result":"API Error: Unable to connect to API (ConnectionRefused)","usage":{"input_tokens":0}}',
        False,
        "unreachable",
    ),
    (
        "claude-code",
        1,
        '{"type":"result","subtype":"success","is_error":true,"api_error_status":400,'
        '"result":"API Error: 400 invalid request","usage":{}}',
        False,
        "assistant_failed",
    ),
    ("claude-code", -9, "", False, "assistant_crashed"),
    ("opencode", None, "", False, None),
]


@pytest.mark.parametrize(("name", "returncode", "stdout", "ok", "kind"), OUTCOMES)
def test_outcome_reads_what_the_program_printed(
    name: str, returncode: int | None, stdout: str, ok: bool, kind: str | None, tmp_path: Path
) -> None:
    outcome = _adapter(name).outcome(_context(tmp_path), returncode, stdout, "")
    assert (outcome.ok, outcome.error_kind) == (ok, kind), outcome
    if ok:
        assert outcome.own_tokens or name == "continue"


def test_continue_reads_its_tokens_from_its_session_file(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    sessions = ctx.home / ".continue" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "sessions.json").write_text("[]")
    (sessions / "abc.json").write_text(
        json.dumps({"usage": {"promptTokens": 1807, "completionTokens": 13, "totalCost": 0.01}})
    )
    outcome = _adapter("continue").outcome(ctx, 0, '{"response":"ok","status":"success"}', "")
    assert outcome.own_tokens == {"prompt_tokens": 1807, "completion_tokens": 13, "session": "abc"}


def test_version_is_read_from_the_package_the_executable_belongs_to(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "@openai" / "codex"
    (package / "bin").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@openai/codex", "version": "0.171.0"}))
    (package / "bin" / "codex.js").write_text("")
    (tmp_path / "node_modules" / ".bin").mkdir()
    link = tmp_path / "node_modules" / ".bin" / "codex"
    link.symlink_to("../@openai/codex/bin/codex.js")
    assert npm_common.package_version(link, "@openai/codex") == "0.171.0"
    assert npm_common.package_version(link, "@continuedev/cli") is None
