"""Anthropic's Claude Code (``@anthropic-ai/claude-code`` on npm; the native binary comes with the optional
dependency ``@anthropic-ai/claude-code-linux-x64``), headless against the run's gateway in the Anthropic
messages dialect.

Command: ``claude -p PROMPT --output-format json --permission-mode acceptEdits --allowedTools Bash
--session-id UUID`` in the workspace, stdin closed; a continuation is the same with ``--resume UUID``. The
UUID is derived from the run's home (``npm_common.session_uuid``), so the first invocation names the
session and every continuation resumes exactly that one, with its whole conversation (its transcript is
``~/.claude/projects/<workspace>/<UUID>.jsonl``; where the first invocation stored none, a continuation
starts that session afresh with the task's prompt and the message, as ``--resume`` would only fail).

* Model and key are environment variables: ``ANTHROPIC_BASE_URL`` (the gateway's root; it appends
  ``/v1/messages?beta=true``), ``ANTHROPIC_API_KEY`` (the run's token, sent as ``x-api-key``: with it set,
  ``-p`` needs no login and no onboarding), ``ANTHROPIC_MODEL`` and every model role it may pick for a side
  job (haiku, sonnet, opus, small-fast, subagent) set to the one model, so no request names a model the
  gateway does not serve.
* ``CLAUDE_CODE_MAX_OUTPUT_TOKENS``: without it every request asks ``max_tokens: 32000``, and a server
  whose own limit only caps requests without ``max_tokens`` (llama.cpp's ``n_predict``) lets a small model
  run to thousands of tokens; with it, requests carry the run's cap (the gateway clamps anyway).
* ``CLAUDE_CODE_MAX_RETRIES=1``: by default it retried a server it could not reach for 171 s; with 1, it
  gave up in about 1 s (``is_error``, ``API Error: Unable to connect to API (ConnectionRefused)``) and
  after 2 requests to a server answering 502.
* Permissions: ``acceptEdits`` lets it edit files without asking; ``--allowedTools Bash`` lets it run
  commands (tests, sed) too, as the other assistants do; ``bypassPermissions`` is refused as root unless
  ``IS_SANDBOX=1``, which benchtui does not claim. Both are options (``permission_mode``,
  ``allowed_tools``).
* Offline and quiet: ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` (strace: only the gateway is
  contacted, no DNS lookup at all), and ``DISABLE_TELEMETRY``, ``DISABLE_AUTOUPDATER``,
  ``DISABLE_ERROR_REPORTING``, ``DISABLE_COST_WARNINGS`` each said too.
* On the wire: a ``HEAD /`` probe at start (any answer will do), then ``POST /v1/messages?beta=true``,
  streaming, ``anthropic-version: 2023-06-01``, an ``anthropic-beta`` list, 24 tools (Read, Edit, Write,
  Bash, ...: ``Read{file_path}``, ``Edit{file_path, old_string, new_string}``, absolute paths), a 3-block
  ``system``, ``thinking: {type: adaptive}``, ``context_management``, ``output_config.effort``,
  ``metadata.user_id``; user agent ``claude-cli/2.1.197``.
* Outcome: ``--output-format json`` prints one object: ``is_error``, ``result`` (the last text or the
  error), ``api_error_status``, ``num_turns``, ``terminal_reason``, ``session_id``, ``usage`` (input,
  output, cache read/creation tokens). Its ``total_cost_usd`` uses Anthropic's prices whatever the model
  and is never used. Exit code 0, or 1 with ``is_error``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchtui.engine.assistants import npm_common
from benchtui.engine.assistants.base import (
    AssistantOutcome,
    Dialect,
    InstallSpec,
    Invocation,
    RunContext,
    installed_executable,
)

OPTIONS = {
    "permission_mode": "its --permission-mode (default acceptEdits)",
    "allowed_tools": "tools allowed without asking, a list (default [Bash])",
}
DEFAULT_PERMISSION_MODE = "acceptEdits"
DEFAULT_ALLOWED_TOOLS = ("Bash",)
_MODEL_VARIABLES = (
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "CLAUDE_CODE_SUBAGENT_MODEL",
)


class ClaudeCode:
    name = "claude-code"
    dialect: Dialect = "anthropic"
    install = InstallSpec("npm", "@anthropic-ai/claude-code", "2.1.197", "claude")
    options = OPTIONS

    def locate(self, assistants_dir: Path) -> Path | None:
        return installed_executable(assistants_dir, self.name, self.install)

    def version(self, exe: Path) -> str | None:
        return npm_common.package_version(exe, self.install.package)

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        return self._invocation(exe, prompt, ctx, ["--session-id", npm_common.session_uuid(ctx.home)])

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        session = npm_common.session_uuid(ctx.home)
        if not any((ctx.home / ".claude" / "projects").glob(f"*/{session}.jsonl")):
            # The first invocation ended before it stored the session (killed, or it failed to start):
            # ``--resume`` would only say "No conversation found" and exit 1. A new session with the task
            # and the message does what the continuation means.
            return self._invocation(exe, npm_common.with_task(ctx, message), ctx, ["--session-id", session])
        return self._invocation(exe, message, ctx, ["--resume", session])

    def _invocation(self, exe: Path, message: str, ctx: RunContext, session: list[str]) -> Invocation:
        allowed = ctx.options.get("allowed_tools")
        tools = [str(t) for t in allowed] if isinstance(allowed, list) else list(DEFAULT_ALLOWED_TOOLS)
        argv = [
            str(exe),
            # The prompt first: --allowedTools takes every following word up to the next option.
            "-p",
            npm_common.positional(message),
            "--output-format",
            "json",
            "--permission-mode",
            str(ctx.options.get("permission_mode") or DEFAULT_PERMISSION_MODE),
        ]
        if tools:
            argv += ["--allowedTools", *tools]
        argv += session
        env = {
            **ctx.base_env,
            "ANTHROPIC_BASE_URL": ctx.anthropic_base_url,
            "ANTHROPIC_API_KEY": ctx.token,
            **{variable: ctx.model_name for variable in _MODEL_VARIABLES},
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS": str(int(ctx.output_cap)),
            "CLAUDE_CODE_MAX_RETRIES": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_COST_WARNINGS": "1",
        }
        return Invocation(argv=argv, env=env)

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        result = npm_common.last_json_object(stdout)
        tokens = _tokens(result)
        badly = npm_common.ended_badly(returncode, stdout, stderr, tokens)
        if badly is not None:
            return badly
        if result is None or result.get("type") != "result":
            tail = npm_common.last_lines(stderr or stdout)
            return AssistantOutcome(False, "assistant_failed", f"exit {returncode}, no JSON result: {tail}", tokens)
        text = str(result.get("result") or "")
        if result.get("is_error") or returncode != 0:
            message = text or str(result.get("subtype") or f"exit {returncode}")
            return AssistantOutcome(False, npm_common.error_kind(message), message[:500], tokens)
        return AssistantOutcome(True, None, text[:500] or None, tokens)


def _tokens(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if not result:
        return None
    usage = result.get("usage")
    if not isinstance(usage, dict):
        return None
    return {
        "input_tokens": usage.get("input_tokens"),
        "output_tokens": usage.get("output_tokens"),
        "cache_read_input_tokens": usage.get("cache_read_input_tokens"),
        "cache_creation_input_tokens": usage.get("cache_creation_input_tokens"),
        "num_turns": result.get("num_turns"),
        "terminal_reason": result.get("terminal_reason"),
        "session": result.get("session_id"),
    }


ADAPTER = ClaudeCode()
