"""opencode (``opencode-ai`` on npm, a Bun-compiled binary inside the package), headless against the run's
gateway in the OpenAI chat dialect.

Command: ``opencode run --format json --auto --pure --title benchtui PROMPT`` in the workspace, stdin
closed; a continuation is ``opencode run --format json --auto --pure --continue MESSAGE``: the last session
of this HOME (the run's own), whose whole conversation goes to the model again with the new message.

* Config: ``~/.config/opencode/opencode.json`` in the run's home (its global config) names one provider
  through ``@ai-sdk/openai-compatible`` (bundled: nothing is downloaded for it) with ``baseURL`` the
  gateway's OpenAI URL and ``apiKey`` the run's token, one model with ``tool_call: true`` (or it offers no
  tools), ``limit.output`` the run's output cap (sent as ``max_tokens``) and ``limit.context``, cost 0 (its
  own cost figure is never used). ``enabled_providers`` keeps every other provider out;
  ``OPENCODE_DISABLE_PROJECT_CONFIG=1`` keeps an ``opencode.json`` among the task's files from replacing
  the model or the URL.
* ``--auto`` approves every permission not explicitly denied (nobody could answer); ``--pure`` runs
  without external plugins; ``--title benchtui`` names the session, which saves the separate title
  request (no tools) it otherwise makes first: with a local model each request costs 30-70 s of prompt
  processing, and it is no part of the task.
* Offline and quiet: ``OPENCODE_DISABLE_AUTOUPDATE``, ``OPENCODE_DISABLE_MODELS_FETCH`` (models.dev),
  ``OPENCODE_DISABLE_LSP_DOWNLOAD``, ``OPENCODE_DISABLE_SHARE``, ``OPENCODE_DISABLE_DEFAULT_PLUGINS``,
  ``"autoupdate": false`` and ``"share": "disabled"``. What none of them stops: for every config folder it
  starts a background ``npm install @opencode-ai/plugin`` (seen: 43 MB from registry.npmjs.org into the
  run's home, and 7 s more per run). ``npm_config_registry`` pointing at a closed loopback port makes that
  install fail at once, silently; the run goes on and edits as before.
* On the wire: ``POST /v1/chat/completions``, streaming with ``stream_options.include_usage``,
  ``max_tokens``, ``tool_choice: "auto"``, 10 tools (bash, edit, glob, grep, read, skill, task, todowrite,
  webfetch, write); ``read{filePath}``, ``edit{filePath, oldString, newString}``, ``write{filePath,
  content}``; ``Authorization: Bearer <token>``, user agent ``opencode/1.18.33 ai-sdk/...``.
* Retries: it retries a 429 or 5xx 5 times, waiting 2, 4, 8, 16, 32 s (or what a ``retry-after-ms``
  header says), and ignores ``x-should-retry: false``: 85 s against a server answering 502. No switch
  changes that; the runtime stops it as soon as the gateway saw the upstream dead.
* Outcome: ``--format json`` prints JSONL events: ``step_start``, ``text``, ``tool_use`` (state, input,
  output), ``step_finish`` (``reason`` "tool-calls"/"stop", ``tokens{input, output, reasoning,
  cache{read, write}}``, ``cost``) and ``error`` (``error{name, data{message, statusCode}}``, exit 1).
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
PROVIDER_ID = "benchtui"
CONFIG_FILE = ".config/opencode/opencode.json"
DEFAULT_CONTEXT_TOKENS = 32768
# A loopback port nothing listens on: its background npm install fails at once instead of downloading.
CLOSED_REGISTRY = "http://127.0.0.1:9/"


class Opencode:
    name = "opencode"
    dialect: Dialect = "openai-chat"
    install = InstallSpec("npm", "opencode-ai", "1.18.33", "opencode")
    options = OPTIONS

    def locate(self, assistants_dir: Path) -> Path | None:
        return installed_executable(assistants_dir, self.name, self.install)

    def version(self, exe: Path) -> str | None:
        return npm_common.package_version(exe, self.install.package)

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        return self._invocation(exe, ["--title", "benchtui"], prompt, ctx)

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        return self._invocation(exe, ["--continue"], message, ctx)

    def _invocation(self, exe: Path, session: list[str], message: str, ctx: RunContext) -> Invocation:
        argv = [str(exe), "run", "--format", "json", "--auto", "--pure", *session, npm_common.positional(message)]
        env = {
            **ctx.base_env,
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
            "OPENCODE_DISABLE_SHARE": "1",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
            "OPENCODE_DISABLE_PROJECT_CONFIG": "1",
            "npm_config_registry": CLOSED_REGISTRY,
        }
        return Invocation(argv=argv, env=env, files={CONFIG_FILE: config_json(ctx)})

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        events = npm_common.json_objects(stdout)
        tokens = _tokens(events)
        badly = npm_common.ended_badly(returncode, stdout, stderr, tokens)
        if badly is not None:
            return badly
        errors = [e for e in events if e.get("type") == "error"]
        if errors:
            message = _error_message(errors[-1])
            return AssistantOutcome(False, npm_common.error_kind(message), message, tokens)
        if returncode == 0 and tokens is not None:
            return AssistantOutcome(True, None, _last_text(events), tokens)
        tail = npm_common.last_lines(stderr or stdout)
        return AssistantOutcome(False, "assistant_failed", f"exit {returncode} without a finished step: {tail}", tokens)


def config_json(ctx: RunContext) -> str:
    model = {
        "name": ctx.model_name,
        "tool_call": True,
        "limit": {"context": int(ctx.context_tokens or DEFAULT_CONTEXT_TOKENS), "output": int(ctx.output_cap)},
        "cost": {"input": 0, "output": 0},
    }
    config = {
        "provider": {
            PROVIDER_ID: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "benchtui gateway",
                "options": {"baseURL": ctx.openai_base_url, "apiKey": ctx.token},
                "models": {ctx.model_name: model},
            }
        },
        "model": f"{PROVIDER_ID}/{ctx.model_name}",
        "small_model": f"{PROVIDER_ID}/{ctx.model_name}",
        "enabled_providers": [PROVIDER_ID],
        "autoupdate": False,
        "share": "disabled",
    }
    return json.dumps(config, indent=2) + "\n"


def _tokens(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    steps = [e.get("part") for e in events if e.get("type") == "step_finish"]
    parts = [p for p in steps if isinstance(p, dict)]
    if not parts:
        return None
    total: dict[str, Any] = {"input": 0, "output": 0, "reasoning": 0, "cache_read": 0, "cache_write": 0}
    for part in parts:
        tokens = part.get("tokens")
        if not isinstance(tokens, dict):
            continue
        found = tokens.get("cache")
        cache: dict[str, Any] = found if isinstance(found, dict) else {}
        total["input"] += int(tokens.get("input") or 0)
        total["output"] += int(tokens.get("output") or 0)
        total["reasoning"] += int(tokens.get("reasoning") or 0)
        total["cache_read"] += int(cache.get("read") or 0)
        total["cache_write"] += int(cache.get("write") or 0)
    total["steps"] = len(parts)
    total["last_reason"] = parts[-1].get("reason")
    return total


def _error_message(event: dict[str, Any]) -> str:
    error = event.get("error")
    if not isinstance(error, dict):
        return str(error or "it reported an error")
    found = error.get("data")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    message = str(data.get("message") or error.get("name") or "it reported an error")
    status = data.get("statusCode")
    return f"{error.get('name') or 'error'} {status}: {message}" if status else message


def _last_text(events: list[dict[str, Any]]) -> str | None:
    for event in reversed(events):
        part = event.get("part")
        if event.get("type") == "text" and isinstance(part, dict):
            return str(part.get("text") or "")[:500]
    return None


ADAPTER = Opencode()
