"""OpenAI's Codex CLI (``@openai/codex`` on npm, a native binary inside the package), headless against the
run's gateway in the OpenAI **Responses** dialect.

Command: ``codex exec --json --strict-config --skip-git-repo-check -o HOME/codex-last-N.txt PROMPT`` in the
workspace, stdin closed, ``CODEX_HOME=HOME/.codex``; a continuation is ``codex exec resume --last ...
MESSAGE``: the newest session of this CODEX_HOME (the run's own), whose whole history goes to the model
again with the new message.

* Config: ``$CODEX_HOME/config.toml`` (``config_toml``) names one provider, ``wire_api = "responses"``
  (``"chat"`` is refused as "no longer supported" since 0.1xx), ``base_url`` the gateway's OpenAI URL and
  ``env_key`` the variable holding the run's token (its name contains TOKEN, so Codex's default shell
  policy keeps it out of the commands it runs). ``--strict-config`` makes a key this version does not know
  an error instead of a silent no-op: the file is checked against the pinned version.
* Git: it refuses to run outside a git repo ("Not inside a trusted directory", exit 1) unless
  ``--skip-git-repo-check``; the runtime's workspace is a repo, the flag keeps a configured executable or
  another runtime working too.
* ``sandbox_mode = "danger-full-access"``: its own sandbox (bwrap plus a ``codex-linux-sandbox`` helper it
  links into CODEX_HOME) fails whenever CODEX_HOME is under TMPDIR: it refuses to create the helper there
  ("Refusing to create helper binaries under temporary dir") and every command then exits 1 ("bwrap:
  execvp codex-linux-sandbox: No such file or directory"); where it works it also needs user namespaces
  inside benchtui's own bwrap. benchtui confines the whole process like a check, which is the sandbox that
  holds everywhere, and the other assistants' shell tools run under it alone too.
  ``approval_policy = "never"``: nobody is there to approve.
* Offline and quiet: ``[features] plugins/apps/remote_plugin = false`` stop its fetches of github.com,
  api.github.com and chatgpt.com (seen with strace: none left), and with ``goals``, ``image_generation``,
  ``[agents] enabled = false`` and ``web_search = "disabled"`` its 9 tools become 4 (exec_command,
  write_stdin, request_user_input, view_image: less prompt for a small model). ``[analytics]`` and
  ``[feedback]`` off, ``check_for_update_on_startup = false``, ``[history] persistence = "none"``.
  ``model_reasoning_summary = "none"`` stops the ``reasoning.summary`` request field.
* Retries: ``request_max_retries = 1`` and ``stream_max_retries = 1``. By default it sent 30 requests over
  25 s to a server answering 502; with these, 4 requests in 1 s, then ``turn.failed`` and exit 1. A server
  it cannot connect to at all it never gives up on (``{"type":"error","message":"Reconnecting... waiting
  for network ..."}`` forever, whatever the retry settings): the gateway is always there for it, and the
  runtime kills it at the deadline or as soon as the gateway saw the upstream dead.
* On the wire: ``POST /v1/responses``, streaming, ``input`` with a ``developer`` message (its 4.5k-token
  instructions), ``tools`` as Responses function tools, ``store: false``, ``include:
  ["reasoning.encrypted_content"]``, ``prompt_cache_key``, no ``max_output_tokens`` (the output cap is the
  gateway's alone: config has no key for it); ``authorization: Bearer <token>``, user agent
  ``codex_exec/0.171.0``. It edits by running shell commands (``exec_command{cmd}``).
* Outcome: ``--json`` prints JSONL: ``thread.started``, ``turn.started``, ``item.*`` (agent_message,
  command_execution with exit_code, error), then ``turn.completed`` with ``usage{input_tokens,
  cached_input_tokens, output_tokens, reasoning_output_tokens}`` (the thread's total so far: a resumed
  turn counts the earlier ones again) or ``turn.failed{error.message}``. An ``error`` item saying
  "Model metadata for `NAME` not found" is a warning for every non-OpenAI model and is ignored.
"""

from __future__ import annotations

import json
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

OPTIONS: dict[str, str] = {}
TOKEN_VARIABLE = "BENCHTUI_GATEWAY_TOKEN"
PROVIDER_ID = "benchtui"


class Codex:
    name = "codex"
    dialect: Dialect = "openai-responses"
    install = InstallSpec("npm", "@openai/codex", "0.171.0", "codex")
    options = OPTIONS

    def locate(self, assistants_dir: Path) -> Path | None:
        return installed_executable(assistants_dir, self.name, self.install)

    def version(self, exe: Path) -> str | None:
        return npm_common.package_version(exe, self.install.package)

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        return self._invocation(exe, ["exec"], prompt, ctx)

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        if not any((ctx.home / ".codex" / "sessions").glob("**/rollout-*.jsonl")):
            # Nothing stored to resume (the first invocation ended before it saved its rollout): ``resume
            # --last`` would start an empty conversation, which needs the task's prompt.
            return self._invocation(exe, ["exec"], npm_common.with_task(ctx, message), ctx)
        return self._invocation(exe, ["exec", "resume", "--last"], message, ctx)

    def _invocation(self, exe: Path, command: list[str], message: str, ctx: RunContext) -> Invocation:
        argv = [
            str(exe),
            *command,
            "--json",
            "--strict-config",
            "--skip-git-repo-check",
            "-o",
            str(_last_message(ctx)),
            npm_common.positional(message),
        ]
        env = {**ctx.base_env, "CODEX_HOME": str(ctx.home / ".codex"), TOKEN_VARIABLE: ctx.token}
        return Invocation(argv=argv, env=env, files={".codex/config.toml": config_toml(ctx)})

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        events = npm_common.json_objects(stdout)
        tokens = _tokens(events)
        reconnecting = [str(e.get("message")) for e in events if e.get("type") == "error" and _reconnecting(e)]
        if returncode is None and reconnecting:
            return AssistantOutcome(
                False, "unreachable", f"killed by benchtui, still trying to connect: {reconnecting[-1]}", tokens
            )
        badly = npm_common.ended_badly(returncode, stdout, stderr, tokens)
        if badly is not None:
            return badly
        failed = [e for e in events if e.get("type") == "turn.failed"]
        if failed:
            error = failed[-1].get("error")
            message = str(error.get("message") if isinstance(error, dict) else error or "turn failed")
            return AssistantOutcome(False, npm_common.error_kind(message), message, tokens)
        completed = any(e.get("type") == "turn.completed" for e in events)
        if completed and returncode == 0:
            return AssistantOutcome(True, None, _last_text(events), tokens)
        if reconnecting:
            return AssistantOutcome(False, "unreachable", reconnecting[-1], tokens)
        tail = npm_common.last_lines(stderr or stdout)
        return AssistantOutcome(False, "assistant_failed", f"exit {returncode} without turn.completed: {tail}", tokens)


def _last_message(ctx: RunContext) -> Path:
    return ctx.home / f"codex-last-{ctx.attempt}.txt"


def config_toml(ctx: RunContext) -> str:
    """``$CODEX_HOME/config.toml`` for the run (see the module's docstring for why each key is there).
    Strings are written as JSON strings, which TOML reads as the same basic strings."""

    def q(value: str) -> str:
        return json.dumps(value)

    lines = [
        f"model = {q(ctx.model_name)}",
        f"model_provider = {q(PROVIDER_ID)}",
        'approval_policy = "never"',
        'sandbox_mode = "danger-full-access"',
        "check_for_update_on_startup = false",
        'web_search = "disabled"',
        'model_reasoning_summary = "none"',
    ]
    if ctx.context_tokens:
        lines.append(f"model_context_window = {int(ctx.context_tokens)}")
    lines += [
        "",
        f"[model_providers.{PROVIDER_ID}]",
        'name = "benchtui gateway"',
        f"base_url = {q(ctx.openai_base_url)}",
        f"env_key = {q(TOKEN_VARIABLE)}",
        'wire_api = "responses"',
        "request_max_retries = 1",
        "stream_max_retries = 1",
        "",
        "[features]",
        "plugins = false",
        "apps = false",
        "remote_plugin = false",
        "goals = false",
        "image_generation = false",
        "",
        "[agents]",
        "enabled = false",
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[feedback]",
        "enabled = false",
        "",
        "[history]",
        'persistence = "none"',
        "",
    ]
    return "\n".join(lines)


def _reconnecting(event: dict[str, Any]) -> bool:
    return "reconnecting" in str(event.get("message", "")).lower()


def _tokens(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    completed = [e for e in events if e.get("type") == "turn.completed" and isinstance(e.get("usage"), dict)]
    if not completed:
        return None
    usage: dict[str, Any] = dict(completed[-1]["usage"])
    threads = [e.get("thread_id") for e in events if e.get("type") == "thread.started"]
    if threads:
        usage["thread"] = threads[-1]
    return usage


def _last_text(events: list[dict[str, Any]]) -> str | None:
    for event in reversed(events):
        item = event.get("item")
        if event.get("type") == "item.completed" and isinstance(item, dict) and item.get("type") == "agent_message":
            return str(item.get("text") or "")[:500]
    return None


ADAPTER = Codex()
