"""Continue's CLI (``@continuedev/cli`` on npm, command ``cn``), headless against the run's gateway.

Command: ``cn -p PROMPT --config HOME/cn-config.yaml --auto --format json`` in the workspace, stdin
closed; a continuation adds ``--resume`` (the last session of this HOME: the run's own, since the home
is private), which sends the whole earlier conversation again followed by the new message (seen on the
wire with 1.5.47: the resumed request carries the first prompt, every tool call and result, then the
check's output).

* ``-p`` (print mode) is the headless mode; ``--auto`` allows every tool without asking (nobody could
  answer); ``--format json`` prints one object ``{"response", "status": "success"|"error", "message"}``
  on stdout: ``status`` is what ``outcome`` reads, with the exit code (0, or 1 on an error such as
  ``{"status":"error","message":"Connection error."}`` about 3 s after the model could not be reached:
  it retries twice).
* The config file (``--config``, YAML, schema v1) names one model: ``provider: openai`` with ``apiBase``
  the gateway's OpenAI URL, ``apiKey`` the run's token (the only credential it ever gets) and
  ``defaultCompletionOptions.maxTokens`` the run's output cap (it sends ``max_tokens``; the gateway
  clamps anyway). No hub, no login: with a local config file it needs neither.
* On the wire: ``POST /v1/chat/completions``, streaming with ``stream_options.include_usage``, 11 tools
  (Read, Write, List, Bash, Fetch, Checklist, CheckBackgroundJob, AskQuestion, Edit, Exit, Skills);
  ``Read{filepath}``, ``Edit{file_path, old_string, new_string}``, ``Write{filepath, content}``;
  headers ``authorization: Bearer <token>``, user agent ``ls/JS 5.23.2`` (OpenAI's JS SDK).
* Offline and quiet: its metrics are OpenTelemetry, on only when ``OTEL_EXPORTER_OTLP_*`` is set (never,
  the environment is allowlisted); ``CONTINUE_METRICS_ENABLED=0`` and ``CONTINUE_CLI_ENABLE_TELEMETRY=0``
  say so anyway. ``CONTINUE_CLI_AUTO_UPDATED=1`` is the variable its self-update sets to stop itself
  updating twice: it stops it updating at all. What no switch stops: at start it fetches
  ``https://api.continue.dev/cn/info`` for the latest version (one DNS lookup that fails at once offline;
  the run goes on). ``CONTINUE_GLOBAL_DIR`` pins its folder (sessions, logs, permissions.yaml) inside
  the run's home, where ``outcome`` reads the tokens.
* Tokens: not on stdout. ``~/.continue/sessions/<id>.json`` has ``usage.promptTokens`` and
  ``completionTokens`` for the session (so after a resume, the total so far); its ``totalCost`` uses a
  built-in cloud price and is never used (benchtui prices from the gateway's tokens).
* Known leak it has and benchtui cannot switch off: it loads a ``.env`` file from the working directory
  into its own environment (dotenv), so a task shipping ``.env`` would configure it.
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
CONFIG_FILE = "cn-config.yaml"
DEFAULT_CONTEXT_TOKENS = 32768


class ContinueCli:
    name = "continue"
    dialect: Dialect = "openai-chat"
    install = InstallSpec("npm", "@continuedev/cli", "1.5.47", "cn")
    options = OPTIONS

    def locate(self, assistants_dir: Path) -> Path | None:
        return installed_executable(assistants_dir, self.name, self.install)

    def version(self, exe: Path) -> str | None:
        return npm_common.package_version(exe, self.install.package)

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        return self._invocation(exe, prompt, ctx, resume=False)

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        if not _sessions(_global_dir(ctx)):
            # Nothing stored to resume (the first invocation ended before it saved its session): ``--resume``
            # would start an empty conversation, which needs the task's prompt.
            return self._invocation(exe, npm_common.with_task(ctx, message), ctx, resume=False)
        return self._invocation(exe, message, ctx, resume=True)

    def _invocation(self, exe: Path, message: str, ctx: RunContext, *, resume: bool) -> Invocation:
        argv = [
            str(exe),
            "-p",
            npm_common.positional(message),
            "--config",
            str(ctx.home / CONFIG_FILE),
            "--auto",
            "--format",
            "json",
        ]
        if resume:
            argv.append("--resume")
        env = {
            **ctx.base_env,
            "CONTINUE_GLOBAL_DIR": str(_global_dir(ctx)),
            "CONTINUE_METRICS_ENABLED": "0",
            "CONTINUE_CLI_ENABLE_TELEMETRY": "0",
            "CONTINUE_CLI_AUTO_UPDATED": "1",
        }
        return Invocation(argv=argv, env=env, files={CONFIG_FILE: render_config(ctx)})

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        tokens = session_tokens(_global_dir(ctx))
        badly = npm_common.ended_badly(returncode, stdout, stderr, tokens)
        if badly is not None:
            return badly
        result = npm_common.last_json_object(stdout)
        status = result.get("status") if result else None
        if status == "success" and returncode == 0:
            assert result is not None
            return AssistantOutcome(True, None, _short(result.get("response")), tokens)
        if status == "error":
            assert result is not None
            message = str(result.get("message") or result.get("response") or "it reported an error")
            return AssistantOutcome(False, npm_common.error_kind(message), message, tokens)
        tail = npm_common.last_lines(stderr or stdout)
        return AssistantOutcome(False, "assistant_failed", f"exit {returncode}, no JSON result: {tail}".strip(), tokens)


def _global_dir(ctx: RunContext) -> Path:
    return ctx.home / ".continue"


def render_config(ctx: RunContext) -> str:
    """cn's config.yaml. Every value is written as a JSON string or number, which YAML reads as the same
    scalar, so a model name or URL with YAML's special characters cannot change the file's shape."""

    def q(value: str) -> str:
        return json.dumps(value)

    return "\n".join(
        [
            "name: benchtui",
            "version: 0.0.1",
            "schema: v1",
            "models:",
            f"  - name: {q(ctx.model_name)}",
            "    provider: openai",
            f"    model: {q(ctx.model_name)}",
            f"    apiBase: {q(ctx.openai_base_url)}",
            f"    apiKey: {q(ctx.token)}",
            "    roles: [chat, edit, apply]",
            "    defaultCompletionOptions:",
            f"      maxTokens: {int(ctx.output_cap)}",
            f"      contextLength: {int(ctx.context_tokens or DEFAULT_CONTEXT_TOKENS)}",
            "",
        ]
    )


def session_tokens(global_dir: Path) -> dict[str, Any] | None:
    """The tokens cn recorded for its newest session (the run's: its home is private)."""
    sessions = _sessions(global_dir)
    if not sessions:
        return None
    newest = max(sessions, key=lambda p: p.stat().st_mtime)
    data = npm_common.read_json(newest)
    usage = data.get("usage") if data else None
    if not isinstance(usage, dict):
        return None
    return {
        "prompt_tokens": usage.get("promptTokens"),
        "completion_tokens": usage.get("completionTokens"),
        "session": newest.stem,
    }


def _sessions(global_dir: Path) -> list[Path]:
    return [p for p in (global_dir / "sessions").glob("*.json") if p.name != "sessions.json"]


def _short(value: Any, limit: int = 500) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:limit]


ADAPTER = ContinueCli()
