"""mini-swe-agent (``mini-swe-agent`` on PyPI, in its own venv), headless against the run's gateway.

It speaks OpenAI chat completions through litellm (``-m openai/<name>`` with ``api_base`` and
``api_key`` in ``model.model_kwargs``) and runs one ``bash`` tool in the workspace. ``MSWEA_CONFIGURED``
skips its first-run setup, ``MSWEA_SILENT_STARTUP`` its banner, ``MSWEA_COST_TRACKING=ignore_errors``
its price lookup (the cost is benchtui's, from the gateway); its global config lives in the run's home.

Its exit code is 0 even when it gave up (``RepeatedFormatError``), so the outcome comes from the
trajectory it writes (``-o``): ``info.exit_status`` ``Submitted`` is a finished run. It keeps no session
to resume: a continuation starts it again in the same workspace with the task and the continuation.
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

OPTIONS = {
    "step_limit": "most steps (model calls) per invocation (default 30)",
    "textbased": "true: the text-based config (a model that cannot call tools)",
}
DEFAULT_STEP_LIMIT = 30


class MiniSweAgent:
    name = "mini-swe-agent"
    dialect: Dialect = "openai-chat"
    install = InstallSpec("pypi", "mini-swe-agent", "2.4.6", "mini")
    options = OPTIONS

    def locate(self, assistants_dir: Path) -> Path | None:
        return installed_executable(assistants_dir, self.name, self.install)

    def version(self, exe: Path) -> str | None:
        return version_beside(exe, self.install)

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        return self._invocation(exe, prompt, ctx)

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        # No session to continue: the task again, what happened, in the workspace as it was left.
        task = ctx.task_prompt.strip()
        return self._invocation(exe, f"{task}\n\n{message}" if task else message, ctx)

    def _invocation(self, exe: Path, task: str, ctx: RunContext) -> Invocation:
        textbased = bool(ctx.options.get("textbased"))
        steps = int(ctx.options.get("step_limit") or DEFAULT_STEP_LIMIT)
        argv = [
            str(exe),
            "-y",
            "--exit-immediately",
            "-t",
            task,
            "-m",
            f"openai/{ctx.model_name}",
            "-c",
            "mini_textbased.yaml" if textbased else "mini.yaml",
            "-c",
            f"model.model_kwargs.api_base={ctx.openai_base_url}",
            "-c",
            f"model.model_kwargs.api_key={ctx.token}",
            "-c",
            f"model.model_kwargs.max_tokens={ctx.output_cap}",
            "-c",
            f"agent.step_limit={steps}",
            "-c",
            "agent.cost_limit=0",
            "-o",
            str(_trajectory(ctx)),
        ]
        if textbased:
            argv += ["--model-class", "litellm_textbased"]
        env = {
            **ctx.base_env,
            "MSWEA_CONFIGURED": "true",
            "MSWEA_SILENT_STARTUP": "1",
            "MSWEA_COST_TRACKING": "ignore_errors",
            "MSWEA_GLOBAL_CONFIG_DIR": str(ctx.home / ".config" / "mini-swe-agent"),
            "MSWEA_MODEL_RETRY_STOP_AFTER_ATTEMPT": "2",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        return Invocation(argv=argv, env=env, files={".config/mini-swe-agent/.env": ""})

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        trajectory = _read(_trajectory(ctx))
        found = trajectory.get("info")
        info: dict[str, Any] = found if isinstance(found, dict) else {}
        status = str(info.get("exit_status") or "") or None
        tokens = _tokens(trajectory)
        if returncode is None:
            return AssistantOutcome(False, "timeout", "killed at the deadline", tokens)
        if status == "Submitted":
            return AssistantOutcome(True, None, status, tokens)
        if status is None:
            tail = "\n".join((stderr or stdout).strip().splitlines()[-5:])
            kind = "assistant_crashed" if returncode != 0 else "assistant_failed"
            return AssistantOutcome(False, kind, f"no trajectory (exit {returncode}): {tail}", tokens)
        kind = "unreachable" if "Connection" in status or "ServiceUnavailable" in status else "assistant_failed"
        return AssistantOutcome(False, kind, f"exit_status {status}", tokens)


def _trajectory(ctx: RunContext) -> Path:
    return ctx.home / f"trajectory-{ctx.attempt}.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _tokens(trajectory: dict[str, Any]) -> dict[str, Any] | None:
    """What the raw responses in the trajectory say they used (for the transcript)."""
    prompt = completion = calls = 0
    for message in trajectory.get("messages") or []:
        extra = message.get("extra") if isinstance(message, dict) else None
        response = extra.get("response") if isinstance(extra, dict) else None
        usage = response.get("usage") if isinstance(response, dict) else None
        if isinstance(usage, dict):
            calls += 1
            prompt += int(usage.get("prompt_tokens") or 0)
            completion += int(usage.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "calls": calls} if calls else None


ADAPTER = MiniSweAgent()
