"""What an assistant adapter is: the shapes between benchtui's assistant runtime and one real program.

An *assistant* is a real coding program (aider, Continue's ``cn``, Codex CLI, opencode, Claude Code,
mini-swe-agent) installed from its registry into benchtui's data folder. An *adapter* is one small module,
``benchtui/engine/assistants/<name>.py``, that knows only that program: how it is installed and found,
the command line, environment and config files that make it run headless, offline and quiet against the
run's gateway, how to continue its session, and how to read its own account of how it ended.

Everything else belongs to the runtime (``contestants/assistant.py``), never to an adapter: the private
workspace (a git repo with one commit), the private HOME, stdin closed, the confinement, the deadline and
the kill of the whole process tree, the hidden check (the verdict), the diff, and every figure (tokens,
time to first token, tokens/s, cost, truncations come from the gateway's usage, not from the assistant).

The flow of one run, as the runtime drives it::

    exe = adapter.locate(assistants_dir)               # None: the run fails "assistant_not_installed"
    inv = adapter.first(exe, task_prompt, ctx)         # then, while the check fails and turns remain:
    inv = adapter.resume(exe, check_output_and_hint, dataclasses.replace(ctx, attempt=n))
    # each Invocation: files written under ctx.home, argv run in inv.cwd or ctx.workspace with inv.env
    # (and nothing else), stdin /dev/null, killed with its tree at the deadline; then
    out = adapter.outcome(ctx, returncode, stdout, stderr)

Rules for adapters:

* ``Invocation.env`` is the COMPLETE environment: start from ``ctx.base_env`` (the runtime's allowlist:
  PATH, HOME=ctx.home, TMPDIR, locale) and add the program's own variables. The only credential an
  adapter may put anywhere is ``ctx.token`` (the gateway's per-run secret); never read ``os.environ``.
* Files go under ``ctx.home`` (``Invocation.files``: path relative to home -> text) or are named by
  absolute path in argv; nothing the adapter writes may land in ``ctx.workspace`` (it would be in the
  diff), so move an assistant's droppings (history files, trajectories) into home with its flags.
* ``outcome`` reports the assistant's own view (``ok`` False with a typed ``error_kind`` when its output
  says every model call failed, or it crashed); ``own_tokens`` is kept in the transcript only.
* ``resume`` continues the same session when the program can (a session id, a history file under
  home); when it cannot, it re-prompts in the same workspace, which keeps the files as they are.

Error kinds an adapter may return in ``AssistantOutcome.error_kind`` (the runtime adds
``assistant_not_installed``, ``timeout`` and the gateway's typed kinds): ``assistant_failed`` (it said it
failed, or exited non-zero without saying why), ``assistant_crashed`` (killed by a signal, a traceback),
``unreachable`` (it could not reach the model), or the gateway's kinds when its output names them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from benchtui.engine.assistants import BUILTIN as BUILTIN  # defined in the package, cheap for pairs.py

Dialect = Literal["openai-chat", "openai-responses", "anthropic"]
Registry = Literal["pypi", "npm"]

ERROR_KINDS = ("assistant_failed", "assistant_crashed", "assistant_not_installed", "unreachable")


@dataclass(frozen=True)
class InstallSpec:
    """Where an assistant comes from: ``registry`` and ``package`` at the pinned ``version``; installing
    it puts ``executable`` under ``<assistants_dir>/<name>/`` (a venv's ``bin/`` for PyPI,
    ``node_modules/.bin/`` for npm). ``extras`` are more requirements installed beside it (pinned too)."""

    registry: Registry
    package: str
    version: str
    executable: str
    extras: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        """What pip or npm is asked for: ``package==version`` or ``package@version``."""
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"


@dataclass(frozen=True)
class RunContext:
    """What an adapter needs to render one invocation of one run.

    ``workspace`` is a git repo with one commit (the task's starting files, as the assistant's edits left
    them so far); ``home`` is the run's private HOME (kept across the run's invocations, so a session
    stored there can be resumed). The model is reached only at ``openai_base_url`` (``.../v1``) or
    ``anthropic_base_url`` with ``token`` as the API key and ``model_name`` as the model. ``output_cap`` is
    the most tokens one reply may have (tell the program, the gateway clamps anyway); ``timeout_s`` is
    what is left of the run for this invocation; ``options`` is the assistant's section of the models
    config (``assistants: NAME: {...}``); ``attempt`` counts invocations in this run (1 = ``first``), so
    per-invocation files (a trajectory, a log) do not overwrite each other; ``base_env`` is the
    allowlisted environment every Invocation.env starts from; ``context_tokens`` is the model's context
    size when known; ``task_prompt`` the task's own prompt (an assistant that cannot resume a session
    re-prompts with it and the continuation)."""

    workspace: Path
    home: Path
    openai_base_url: str
    anthropic_base_url: str
    token: str
    model_name: str
    output_cap: int
    timeout_s: float
    options: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1
    base_env: Mapping[str, str] = field(default_factory=dict)
    context_tokens: int | None = None
    task_prompt: str = ""


@dataclass(frozen=True)
class Invocation:
    """One start of the program: ``argv`` (argv[0] an absolute path), the COMPLETE ``env``, ``files``
    (relative to home -> content) written before the start, ``cwd`` (None: the workspace)."""

    argv: list[str]
    env: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass
class AssistantOutcome:
    """The assistant's own account of one invocation: never the verdict (the hidden check is), kept in
    the transcript and used to type a failure."""

    ok: bool
    error_kind: str | None = None
    message: str | None = None
    own_tokens: dict[str, Any] | None = None


class Adapter(Protocol):
    """One assistant. ``name`` is what ``--assistants`` and the config section say; ``dialect`` the model
    API it speaks (the gateway serves all three on every run; this one names the URL it gets)."""

    name: str
    dialect: Dialect
    install: InstallSpec

    def locate(self, assistants_dir: Path) -> Path | None:
        """The installed executable under ``assistants_dir`` (``paths.assistants_dir()``: benchtui's data
        folder's ``assistants/``, or ``BENCHTUI_ASSISTANTS_DIR``); ``installed_executable`` does the usual."""
        ...

    def version(self, exe: Path) -> str | None:
        """The installed version of ``exe`` (``version_beside`` reads it without running the program)."""
        ...

    def first(self, exe: Path, prompt: str, ctx: RunContext) -> Invocation:
        """The first invocation of a run, with the task's prompt."""
        ...

    def resume(self, exe: Path, message: str, ctx: RunContext) -> Invocation:
        """Continue the run's session with ``message`` (check output, a hint, what a person typed)."""
        ...

    def outcome(self, ctx: RunContext, returncode: int | None, stdout: str, stderr: str) -> AssistantOutcome:
        """Read how the invocation ended; ``returncode`` None when it was killed at the deadline."""
        ...


# The usual answers to locate/version, shared by the adapters.


STAMP = "installed.json"
"""Written last by an install: a folder without it holds an interrupted install, never a usable one."""


def install_dir(assistants_dir: Path, name: str) -> Path:
    """Where one assistant is installed: its own folder, so two never share a venv or node_modules."""
    return assistants_dir / name


def executable_path(assistants_dir: Path, name: str, spec: InstallSpec) -> Path:
    """Where the executable lands once installed (whether it is there or not)."""
    root = install_dir(assistants_dir, name)
    if spec.registry == "pypi":
        return root / "venv" / "bin" / spec.executable
    return root / "node_modules" / ".bin" / spec.executable


def installed_executable(assistants_dir: Path, name: str, spec: InstallSpec) -> Path | None:
    """The executable of a finished install, or None."""
    if not (install_dir(assistants_dir, name) / STAMP).is_file():
        return None
    exe = executable_path(assistants_dir, name, spec)
    return exe if exe.exists() else None


def installed_version(assistants_dir: Path, name: str, spec: InstallSpec) -> str | None:
    """The version of ``spec.package`` as installed (a venv's dist-info, or node_modules' package.json)."""
    root = install_dir(assistants_dir, name)
    if spec.registry == "npm":
        try:
            data = json.loads((root / "node_modules" / spec.package / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        version = data.get("version") if isinstance(data, dict) else None
        return version if isinstance(version, str) else None
    wanted = re.sub(r"[-_.]+", "_", spec.package).lower()
    for info in sorted((root / "venv" / "lib").glob("python*/site-packages/*.dist-info")):
        stem, _, version = info.name[: -len(".dist-info")].rpartition("-")
        if re.sub(r"[-_.]+", "_", stem).lower() == wanted:
            return version
    return None


def version_beside(exe: Path, spec: InstallSpec) -> str | None:
    """The version of ``spec.package`` installed with ``exe`` (``venv/bin/X`` or ``node_modules/.bin/X``),
    wherever that install is: the usual ``Adapter.version``."""
    root = exe.parent.parent.parent  # <assistants_dir>/<name>, above venv/bin or node_modules/.bin
    return installed_version(root.parent, root.name, spec)
