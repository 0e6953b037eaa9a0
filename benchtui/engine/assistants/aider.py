"""aider (``aider-chat`` on PyPI, in its own venv), headless against the run's gateway.

It speaks OpenAI chat completions (``--openai-api-base``, model ``openai/<name>``). Offline and quiet:
a ``--model-metadata-file`` entry for the model stops its price-list fetch, ``--analytics-disable``,
``--no-check-update`` and ``--no-show-release-notes`` the rest; ``--env-file`` names a file in the run's
home so a ``.env`` in the task's files is never read. Its droppings (chat and input history) go to the
home, not the workspace (they would be in the diff).

Its exit code is 0 even when every model call failed, so the outcome comes from ``--analytics-log``: a
``message_send`` event is a model call that succeeded (with its tokens), no such event means none did.
Resume: the same chat history file with ``--restore-chat-history``, so the conversation goes on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchtui.engine.assistants.base import (
    AssistantOutcome,
    Dialect,
    InstallSpec,
    Invocation,
    RunContext,
    installed_executable,
    version_beside,
)

OPTIONS = {"edit_format": "aider's edit format: diff (default), whole, udiff, ..."}
_SKIPPED_PARTS = {".git", "__pycache__", "node_modules"}
_MAX_FILES = 50


class Aider:
    name = "aider"
    dialect: Dialect = "openai-chat"
    install = InstallSpec("pypi", "aider-chat", "0.86.2", "aider")
    options = OPTIONS

    def locate(self, assistants_dir: Path) -> Path | None:
        return installed_executable(assistants_dir, self.name, self.install)

    def version(self, exe: Path) -> str | None:
        return version_beside(exe, self.install)

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        return self._invocation(exe, prompt, ctx, restore=False)

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        return self._invocation(exe, message, ctx, restore=True)

    def _invocation(self, exe: Path, message: str, ctx: RunContext, *, restore: bool) -> Invocation:
        model = f"openai/{ctx.model_name}"
        metadata = {
            model: {
                "max_input_tokens": ctx.context_tokens or 32768,
                "max_output_tokens": ctx.output_cap,
                # benchtui prices the run from the gateway's tokens; aider's own figure is not used.
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "litellm_provider": "openai",
                "mode": "chat",
            }
        }
        home = ctx.home
        argv = [
            str(exe),
            "--message",
            message,
            "--yes-always",
            "--no-auto-commits",
            "--no-dirty-commits",
            "--no-gitignore",
            "--openai-api-base",
            ctx.openai_base_url,
            "--openai-api-key",
            ctx.token,
            "--model",
            model,
            "--weak-model",
            model,
            "--editor-model",
            model,
            "--model-metadata-file",
            str(home / "aider-model-metadata.json"),
            "--edit-format",
            str(ctx.options.get("edit_format") or "diff"),
            "--no-show-model-warnings",
            "--analytics-disable",
            "--analytics-log",
            str(home / f"analytics-{ctx.attempt}.jsonl"),
            "--no-check-update",
            "--no-show-release-notes",
            "--no-pretty",
            "--no-stream",
            "--no-fancy-input",
            "--no-detect-urls",
            "--no-auto-lint",
            "--no-auto-test",
            "--map-tokens",
            "0",
            "--chat-history-file",
            str(home / "aider.chat.history.md"),
            "--input-history-file",
            str(home / "aider.input.history"),
            "--llm-history-file",
            str(home / "aider.llm.history"),
            "--env-file",
            str(home / "aider.env"),
            "--restore-chat-history" if restore else "--no-restore-chat-history",
            *_workspace_files(ctx.workspace),
        ]
        env = {**ctx.base_env, "AIDER_ANALYTICS": "false", "AIDER_CHECK_UPDATE": "false"}
        files = {"aider-model-metadata.json": json.dumps(metadata), "aider.env": ""}
        return Invocation(argv=argv, env=env, files=files)

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        events = _events(ctx.home / f"analytics-{ctx.attempt}.jsonl")
        sends = [e.get("properties") or {} for e in events if e.get("event") == "message_send"]
        tokens: dict[str, Any] | None = None
        if sends:
            tokens = {
                "prompt_tokens": sum(int(s.get("prompt_tokens") or 0) for s in sends),
                "completion_tokens": sum(int(s.get("completion_tokens") or 0) for s in sends),
                "calls": len(sends),
            }
        exits = [e.get("properties") or {} for e in events if e.get("event") == "exit"]
        reason = str(exits[-1].get("reason")) if exits else None
        if returncode is None:
            return AssistantOutcome(False, "timeout", "killed at the deadline", tokens)
        if returncode != 0:
            kind = "assistant_crashed" if returncode < 0 or returncode > 128 else "assistant_failed"
            return AssistantOutcome(False, kind, _last_lines(stderr or stdout), tokens)
        if not sends:
            # Exit 0 without a message_send event: every call failed, or the reply was cut at the output
            # limit (aider logs no event then either); the gateway's figures say which.
            why = (
                "a reply was cut at the output limit"
                if "exceeded output limit" in stdout
                else "no model call succeeded"
            )
            return AssistantOutcome(False, "assistant_failed", f"{why}: {_last_lines(stdout)}", None)
        return AssistantOutcome(True, None, reason, tokens)


def _workspace_files(root: Path) -> list[str]:
    """The task's files, added to aider's chat (small tasks: it need not guess which file to edit)."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not _SKIPPED_PARTS & set(relative.parts):
            found.append(relative.as_posix())
    return found[:_MAX_FILES]


def _events(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _last_lines(text: str, count: int = 5) -> str:
    return "\n".join(line for line in text.strip().splitlines()[-count:])


ADAPTER = Aider()
