"""What the four npm assistants' adapters (continue_cli, codex, opencode, claude_code) share: the installed
package's version, reading their JSON output, and the outcomes every one of them types the same way.

Stdlib only (the registry imports the adapters before benchtui's venv exists, see ``registry``).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from benchtui.engine.assistants.base import AssistantOutcome, RunContext

# Words an assistant uses when it could not reach the model (the gateway, or the upstream behind it).
UNREACHABLE_WORDS = (
    "connection error",
    "connection refused",
    "connectionrefused",
    "unable to connect",
    "econnrefused",
    "error sending request",
    "upstream unreachable",
    "unreachable",
)


def package_version(exe: Path, package: str) -> str | None:
    """The version in the ``package.json`` of ``package`` that ``exe`` belongs to.

    ``node_modules/.bin/<exe>`` is a symlink into the package (``@continuedev/cli/dist/cn.js``,
    ``@anthropic-ai/claude-code/bin/claude.exe``, ...), so walking up from its real path finds the package
    wherever it was installed: benchtui's data folder, a global npm prefix, or a configured executable.
    Read, never run: starting a program to ask its version costs seconds and may reach the network."""
    try:
        real = Path(os.path.realpath(exe))
    except OSError:
        return None
    for folder in real.parents:
        manifest = folder / "package.json"
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("name") == package:
            version = data.get("version")
            return version if isinstance(version, str) else None
    return None


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` that is a JSON object (JSONL output among stray log lines)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last JSON object in ``text``: a one-object output (``--format json``) possibly pretty-printed
    over several lines, or the last of several lines."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    objects = json_objects(text)
    return objects[-1] if objects else None


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def last_lines(text: str, count: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def error_kind(message: str) -> str:
    """``unreachable`` when ``message`` says the model could not be reached, else ``assistant_failed``."""
    lowered = message.lower()
    return "unreachable" if any(word in lowered for word in UNREACHABLE_WORDS) else "assistant_failed"


def ended_badly(
    returncode: int | None, stdout: str, stderr: str, tokens: dict[str, Any] | None
) -> AssistantOutcome | None:
    """The outcome when the process did not end on its own with an exit code; None when it did and its own
    output should be read. ``returncode`` None: benchtui killed it (the deadline, a cancel, or a model the
    gateway saw fail for good): the runtime knows which and types the run; this says only what happened."""
    if returncode is None:
        return AssistantOutcome(False, None, "killed by benchtui before it exited", tokens)
    if returncode < 0 or returncode > 128:
        signal = -returncode if returncode < 0 else returncode - 128
        tail = last_lines(stderr or stdout)
        return AssistantOutcome(False, "assistant_crashed", f"killed by signal {signal}: {tail}".strip(), tokens)
    return None


def session_uuid(home: Path) -> str:
    """A session id that is the same for every invocation of one run (its private home is), so the first
    invocation can name the session and a continuation can resume exactly that one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"benchtui-run:{home}"))


def positional(message: str) -> str:
    """``message`` as a positional argument no option parser takes for an option: one starting with ``-``
    gets a leading space (the model reads the same words; ``--`` cannot be used, since the runtime appends
    the ``extra_args`` option after the adapter's argv)."""
    return f" {message}" if message.startswith("-") else message


def with_task(ctx: RunContext, message: str) -> str:
    """A continuation's message for a program that has no session to continue (the first invocation ended
    before it stored one): the task's prompt first, as a fresh start needs it."""
    task = ctx.task_prompt.strip()
    return f"{task}\n\n{message}" if task else message
