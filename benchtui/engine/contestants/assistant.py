"""A real coding assistant as a contestant: one (task, assistant · model, repeat) run.

The assistant (aider, Claude Code, ...; an adapter in engine/assistants/) works in a private copy of the
task's workspace made a git repo with one commit, with a private HOME, stdin closed, confined like a
check (assistants/confine.py), and reaches the model only through the run's gateway (engine/gateway/),
which holds the real key, meters every request and enforces the deadline and the output cap. When it
exits, benchtui's hidden check decides (the same ``Workspace.run_check`` as the edit loop's) and the diff
is benchtui's. When the check fails and turns remain, the session continues (``adapter.resume``) with
the check's output, the next scripted hint when the turn made no progress, and what a person typed:
each continuation is a prompt, each hint and typed message an intervention, as in the edit loop.

The figures (tokens, first-token time, tokens/s, cost, truncations, repaired tool calls) are the
gateway's; what the assistant says of itself goes to the transcript only. An assistant that hangs is
killed with its whole tree at the deadline; one whose model keeps failing (the gateway saw a dead,
unauthorised or missing model) is killed at once and the run ends with that typed error, since the
assistant's own retries (aider's litellm waits 80 s) would only burn the batch's time.

Over ~400 lines because it is one loop's steps on one run's state, like edit_loop.py; the process control
lives in assistants/confine.py, the texts in assistants/texts.py, each program's knowledge in its adapter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from benchtui.engine import secrets
from benchtui.engine.assistants import confine, registry, texts
from benchtui.engine.assistants.base import Adapter, AssistantOutcome, Invocation, RunContext, install_dir
from benchtui.engine.contestants.base import ProgressCallback, RunControl, Transcript
from benchtui.engine.contestants.tally import last_line, normalised, slot, tail
from benchtui.engine.events import RunProgress
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import Provider
from benchtui.engine.results import RunResult, RunStatus, empty_result, now_iso
from benchtui.engine.sandbox import CheckOutcome
from benchtui.engine.sandbox.process import build_env
from benchtui.engine.tasks import Task
from benchtui.engine.textsafety import strip_control
from benchtui.engine.workspace import DiffStats, Workspace

STORED_CHECK_OUTPUT_CHARS = 8000
STORED_STREAM_CHARS = 6000
DEFAULT_CHECK_TIMEOUT_S = 300.0
DEFAULT_OUTPUT_CAP = 1024
PROGRESS_INTERVAL_S = 0.25
# The gateway saw the model fail like this: the provider already retried, every later request would fail too.
FATAL_GATEWAY_ERRORS = ("unreachable", "auth", "model_not_found")
# An assistant that ended like this (and changed nothing) cannot be continued usefully.
BROKEN_KINDS = ("assistant_crashed", "unreachable", "auth", "model_not_found")


class GatewayLike(Protocol):
    """What the run needs of engine/gateway's Gateway (a context manager)."""

    @property
    def token(self) -> str: ...
    @property
    def model_name(self) -> str: ...
    @property
    def openai_base_url(self) -> str: ...
    @property
    def anthropic_base_url(self) -> str: ...

    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: object) -> Any: ...
    def usage(self) -> Any: ...


GatewayFactory = Callable[..., GatewayLike]


def _default_gateway(spec: ModelSpec, provider: Provider, **kwargs: Any) -> GatewayLike:
    from benchtui.engine.gateway import Gateway

    gateway: GatewayLike = Gateway(spec, provider, **kwargs)
    return gateway


class AssistantContestant:
    """Every assistant pair's runs (``spec.assistant`` names the adapter). Keeps no per-run state."""

    def __init__(
        self,
        *,
        assistants_dir: Path | None = None,
        gateway_factory: GatewayFactory | None = None,
        adapters: Mapping[str, Adapter] | None = None,
    ) -> None:
        self.assistants_dir = assistants_dir
        self.gateway_factory = gateway_factory or _default_gateway
        self.adapters = adapters

    def run(
        self,
        task: Task,
        spec: ModelSpec,
        provider: Provider,
        *,
        repeat: int = 1,
        timeout_s: float = 1800.0,
        control: RunControl | None = None,
        on_progress: ProgressCallback | None = None,
        check_slots: threading.Semaphore | None = None,
        request_slots: threading.Semaphore | None = None,
    ) -> tuple[RunResult, Transcript]:
        """See base.Contestant.run."""
        from benchtui.engine.assistants import install

        adapters = self.adapters if self.adapters is not None else registry.adapters()
        return _AssistantRun(
            task,
            spec,
            provider,
            adapter=adapters.get(spec.assistant or ""),
            assistants_dir=self.assistants_dir or install.default_dir(),
            gateway_factory=self.gateway_factory,
            repeat=repeat,
            timeout_s=timeout_s,
            control=control or RunControl(),
            on_progress=on_progress,
            check_slots=check_slots,
            request_slots=request_slots,
        ).run()


def init_repo(root: Path, home: Path) -> str | None:
    """Make ``root`` a git repo with one commit of its files; the error when git cannot."""
    git = shutil.which("git")
    if git is None:
        return "git is not installed: an assistant's workspace is a git repo"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "benchtui",
        "GIT_AUTHOR_EMAIL": "benchtui@localhost",
        "GIT_COMMITTER_NAME": "benchtui",
        "GIT_COMMITTER_EMAIL": "benchtui@localhost",
    }
    for argv in (
        [git, "init", "-q", "-b", "main"],
        [git, "add", "-A"],
        [git, "commit", "-q", "--no-verify", "--allow-empty", "-m", "The task's starting files"],
    ):
        done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False, timeout=60)
        if done.returncode != 0:
            return f"{' '.join(argv[1:3])} failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


def _count(value: Any) -> int:
    """How many errors a usage's ``errors`` field holds (a count, a list or a kind -> count mapping)."""
    if isinstance(value, Mapping):
        return sum(int(v) for v in value.values())
    if isinstance(value, list | tuple):
        return len(value)
    return int(value or 0)


def _kinds(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [str(k) for k, v in value.items() if v]
    if isinstance(value, list | tuple):
        return [str(getattr(v, "kind", v)) for v in value]
    return []


class _AssistantRun:
    """One run: its state, and one method per step."""

    def __init__(
        self,
        task: Task,
        spec: ModelSpec,
        provider: Provider,
        *,
        adapter: Adapter | None,
        assistants_dir: Path,
        gateway_factory: GatewayFactory,
        repeat: int,
        timeout_s: float,
        control: RunControl,
        on_progress: ProgressCallback | None,
        check_slots: threading.Semaphore | None,
        request_slots: threading.Semaphore | None,
    ) -> None:
        self.task, self.spec, self.provider, self.repeat = task, spec, provider, repeat
        self.adapter, self.assistants_dir, self.gateway_factory = adapter, assistants_dir, gateway_factory
        self.control, self.on_progress = control, on_progress
        self.check_slots, self.request_slots = check_slots, request_slots
        self.started = time.monotonic()
        self.started_at = now_iso()
        self.deadline = self.started + min(timeout_s, task.timeout_s)
        self.transcript: Transcript = []
        self.hints = list(task.hints)
        self.phase = "starting"
        self.turn = 0
        self.prompts_sent = 0
        self.hints_given = 0
        self.typed_interventions = 0
        self.last_check_line: str | None = None
        self.last_progress = 0.0
        self.status: RunStatus = "failed"
        self.error_kind: str | None = None
        self.error_message: str | None = None
        self.check_time_s = 0.0
        self.queue_time_s = 0.0
        self.last_check: CheckOutcome | None = None
        self.previous_output: str | None = None
        self.checked_tree: str | None = None
        self.sandbox_mode: str | None = None
        self.usage: Any = None
        self.gateway: GatewayLike | None = None
        self.options: dict[str, Any] = dict(spec.assistant_options)
        self.workspace = Workspace(task)
        self.run_dir = self.workspace.root.parent
        self.home = self.run_dir / "home"
        self.tmp = self.run_dir / "tmp"

    # The run

    def run(self) -> tuple[RunResult, Transcript]:
        try:
            exe = self.prepare()
            if exe is not None:
                self.play(exe)
            stats = self.workspace.diff_stats()
        finally:
            self.workspace.close()
        return self.finish(stats), self.transcript

    def prepare(self) -> Path | None:
        """The private home and temp folder, the git repo, the executable; None when the run cannot start."""
        self.home.mkdir(mode=0o700)
        self.tmp.mkdir(mode=0o700)
        # An identity for the git repo, so an assistant that commits (or checks it can) has one.
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = benchtui\n\temail = benchtui@localhost\n[safe]\n\tdirectory = *\n", encoding="utf-8"
        )
        if self.adapter is None:
            self.fail("assistant_failed", f"no adapter for assistant {self.spec.assistant!r} in this benchtui")
            return None
        configured = self.options.get("executable")
        exe = Path(str(configured)) if configured else self.adapter.locate(self.assistants_dir)
        if exe is None or not exe.exists():
            where = configured or install_dir(self.assistants_dir, self.adapter.name)
            self.fail(
                "assistant_not_installed",
                f"{self.adapter.name} is not installed ({where}): run benchtui assistants install {self.adapter.name}",
            )
            return None
        problem = init_repo(self.workspace.root, self.home)
        if problem is not None:
            self.fail("assistant_failed", problem)
            return None
        return exe

    def play(self, exe: Path) -> None:
        assert self.adapter is not None
        cap = int(self.spec.settings.get("max_completion_tokens") or self.spec.settings.get("max_tokens") or 0)
        gateway = self.gateway_factory(
            self.spec,
            self.provider,
            deadline=self.deadline,
            output_cap=cap or DEFAULT_OUTPUT_CAP,
            repair_tool_calls=self.spec.repair_tool_calls,
            cancel=self.control.cancel,
            request_slots=self.request_slots,
        )
        with gateway:
            self.gateway = gateway
            message = texts.first_prompt(self.task.prompt)
            for turn in range(1, self.task.max_turns + 1):
                self.turn = turn
                if not self.may_start_turn():
                    break
                if not self.invoke(exe, message, cap or DEFAULT_OUTPUT_CAP):
                    break
                same = self.check()
                if same is None or turn == self.task.max_turns:
                    break
                message = self.continuation(same)
            self.usage = gateway.usage()

    def context(self, cap: int) -> RunContext:
        assert self.gateway is not None and self.adapter is not None
        exe_dirs = [str(self.assistant_bin())]
        return RunContext(
            workspace=self.workspace.root,
            home=self.home,
            openai_base_url=self.gateway.openai_base_url,
            anthropic_base_url=self.gateway.anthropic_base_url,
            token=self.gateway.token,
            model_name=self.gateway.model_name,
            output_cap=cap,
            timeout_s=max(self.deadline - time.monotonic(), 0.0),
            options=dict(self.options),
            attempt=self.turn,
            base_env=build_env(str(self.home), str(self.tmp), exe_dirs),
            context_tokens=self.spec.context,
            task_prompt=self.task.prompt,
        )

    def assistant_bin(self) -> Path:
        assert self.adapter is not None
        configured = self.options.get("executable")
        if configured:
            return Path(str(configured)).parent
        located = self.adapter.locate(self.assistants_dir)
        return located.parent if located is not None else Path(sys.executable).parent

    def invoke(self, exe: Path, message: str, cap: int) -> bool:
        """Start the assistant (first or continued) and wait for it; False when the run stops here."""
        assert self.adapter is not None
        ctx = self.context(cap)
        self.prompts_sent += 1
        self.record("prompt", "user", message)
        try:
            invocation = (
                self.adapter.first(exe, message, ctx) if self.turn == 1 else self.adapter.resume(exe, message, ctx)
            )
            self.write_files(invocation)
        except (OSError, ValueError) as exc:
            self.fail("assistant_failed", f"cannot prepare {self.adapter.name}: {exc}")
            return False
        self.show("prompting")
        extra = [str(a) for a in self.options.get("extra_args") or []]
        ended = confine.run_confined(
            [*invocation.argv, *extra],
            invocation.env,
            cwd=invocation.cwd or self.workspace.root,
            writable=[self.workspace.root, self.home, self.tmp],
            readable=self.readable(exe),
            logs=self.run_dir / "logs" / str(self.turn),
            deadline=self.deadline,
            cancel=self.control.cancel,
            stop=self.fatal_model_error,
            on_tick=self.progress,
            gateway=self.gateway,
        )
        self.sandbox_mode = ended.sandbox
        outcome = self.read_outcome(ctx, ended)
        self.record(
            "assistant",
            "assistant",
            ended.stdout[-STORED_STREAM_CHARS:],
            stderr=self.redact(ended.stderr[-STORED_STREAM_CHARS:]),
            returncode=ended.returncode,
            duration_s=round(ended.duration_s, 3),
            sandbox=ended.sandbox,
            ok=outcome.ok,
            error=outcome.error_kind,
            message=self.redact(outcome.message or "") or None,
            own_tokens=outcome.own_tokens,
            killed_leftovers=ended.leftover_killed,
        )
        if ended.cancelled:
            self.stop("cancelled")
            return False
        fatal = ended.stopped_by
        if fatal is not None:
            self.fail(fatal[0], fatal[1])
            return False
        if ended.timed_out:
            self.stop("timeout", "timeout", f"{self.adapter.name} was still running at the deadline: killed")
            return False
        if not outcome.ok and self.workspace.diff_stats().diff == (self.checked_tree or ""):
            broken = self.broken(outcome)
            if broken is not None:
                self.fail(*broken)
                return False
        # Otherwise the check decides, as for benchtui's loop: a model that made its assistant give up
        # (mini's RepeatedFormatError) failed the task; it did not break the run.
        return True

    def broken(self, outcome: AssistantOutcome) -> tuple[str, str] | None:
        """Why the run cannot go on when the assistant failed and changed nothing: it crashed, or no model
        request of it got an answer; None when the model is to blame (the check decides)."""
        usage = self.gateway.usage() if self.gateway is not None else None
        completed = getattr(usage, "completed", None)
        message = outcome.message or "the assistant failed"
        if completed == 0 and getattr(usage, "requests", 0):
            kind = getattr(usage, "last_error_kind", None) or outcome.error_kind or "assistant_failed"
            return kind, str(getattr(usage, "last_error", None) or message)
        if outcome.error_kind in BROKEN_KINDS or completed == 0:
            return outcome.error_kind or "assistant_failed", message
        return None

    def read_outcome(self, ctx: RunContext, ended: confine.ProcessResult) -> AssistantOutcome:
        assert self.adapter is not None
        try:
            return self.adapter.outcome(ctx, ended.returncode, ended.stdout, ended.stderr)
        except Exception as exc:  # an adapter's parser must cost a line of transcript, never the run
            return AssistantOutcome(False, "assistant_failed", f"could not read its outcome: {exc!r}")

    def readable(self, exe: Path) -> list[Path]:
        assert self.adapter is not None
        paths = [install_dir(self.assistants_dir, self.adapter.name), exe.parent]
        real = Path(os.path.realpath(exe))
        paths.append(real.parent)
        node = shutil.which("node")
        if node:
            paths.append(Path(os.path.realpath(node)).parent)
        return [p for p in dict.fromkeys(paths) if p.exists()]

    def write_files(self, invocation: Invocation) -> None:
        home = self.home.resolve()
        for relative, content in invocation.files.items():
            target = (home / relative).resolve()
            if home not in target.parents:
                raise ValueError(f"an adapter's file {relative!r} is not inside the run's home")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")

    def fatal_model_error(self) -> tuple[str, str] | None:
        """A typed error the gateway saw that every later request would meet too; None while there is none."""
        if self.gateway is None:
            return None
        usage = self.gateway.usage()
        for kind in _kinds(getattr(usage, "errors", None)):
            if kind in FATAL_GATEWAY_ERRORS:
                detail = getattr(usage, "last_error", None) or f"the model failed with {kind}"
                detail = f"{detail} (the assistant was stopped: every later request would fail the same way)"
                return kind, str(detail)
        return None

    def check(self) -> bool | None:
        """The hidden check on the assistant's tree (an unchanged tree is not checked again); whether its
        output is the same as last time; None when the run stops here."""
        tree = self.workspace.diff_stats().diff
        if self.checked_tree is not None and tree == self.checked_tree and self.previous_output is not None:
            return True
        self.show("checking")
        with slot(self.check_slots, self.control.cancel, lambda: self.show("queued")) as waited:
            if waited is None:
                self.stop("cancelled")
                return None
            self.queue_time_s += waited
            self.deadline += waited
            if waited and self.gateway is not None and hasattr(self.gateway, "deadline"):
                self.gateway.deadline = self.deadline  # the gateway's clock stops with the run's
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.stop("timeout")
                return None
            outcome = self.workspace.run_check(min(remaining, DEFAULT_CHECK_TIMEOUT_S), self.control.cancel)
        self.check_time_s += outcome.duration_s
        self.last_check = outcome
        self.checked_tree = tree
        self.last_check_line = strip_control(last_line(outcome.output) or "")
        self.record(
            "check",
            None,
            tail(outcome.output),
            exit_code=outcome.exit_code,
            timed_out=outcome.timed_out,
            duration_s=round(outcome.duration_s, 3),
        )
        if outcome.passed:
            self.stop("passed")
            return None
        if self.control.cancel.is_set():
            self.stop("cancelled")
            return None
        if outcome.timed_out and time.monotonic() >= self.deadline - 0.5:
            self.stop("timeout")
            return None
        same = self.previous_output is not None and normalised(outcome.output) == normalised(self.previous_output)
        self.previous_output = outcome.output
        return same

    def continuation(self, same: bool) -> str:
        """The next message: the check's output, a hint when the turn made no progress, what was typed."""
        hint = self.hints.pop(0) if same and self.hints else None
        typed = self.control.drain_messages()
        if hint:
            self.hints_given += 1
            self.record("hint", "user", hint)
        for message in typed:
            self.typed_interventions += 1
            self.record("human", "user", message)
        output = tail(self.previous_output) if self.previous_output is not None else None
        code = self.last_check.exit_code if self.last_check is not None else None
        return texts.continuation(output, hint, typed, code)

    # The stop rules

    def may_start_turn(self) -> bool:
        if self.control.cancel.is_set():
            self.stop("cancelled")
        elif time.monotonic() >= self.deadline:
            self.stop("timeout")
        else:
            return True
        return False

    def stop(self, status: RunStatus, error_kind: str | None = None, error_message: str | None = None) -> None:
        self.status, self.error_kind, self.error_message = status, error_kind, error_message

    def fail(self, kind: str, message: str) -> None:
        self.record("error", None, message, error=kind)
        self.stop("error", kind, message)

    # The figures

    def finish(self, stats: DiffStats) -> RunResult:
        elapsed = time.monotonic() - self.started
        self.show(self.status)
        usage, check = self.usage, self.last_check

        def figure(name: str) -> Any:
            return getattr(usage, name, None) if usage is not None else None

        requests = figure("requests")
        result = empty_result(self.task, self.spec, self.repeat)
        result.update(
            {
                "status": self.status,
                "error": self.error_kind,
                "error_message": secrets.redact(self.error_message) if self.error_message else None,
                "completion_time_s": round(elapsed, 4),
                "model_time_s": _rounded(figure("model_time_s")) if requests else None,
                "check_time_s": round(self.check_time_s, 4) if check is not None else None,
                "ttft_s": figure("ttft_s"),
                "tokens_per_s": figure("tokens_per_s"),
                "prompt_tokens": figure("prompt_tokens"),
                "completion_tokens": figure("completion_tokens"),
                "cost_usd": figure("cost_usd"),
                "prompts_sent": self.prompts_sent,
                "human_interventions": self.hints_given + self.typed_interventions,
                "hints_given": self.hints_given,
                "typed_interventions": self.typed_interventions,
                "files_modified": stats.files_modified,
                "lines_added": stats.lines_added,
                "lines_removed": stats.lines_removed,
                "turns": self.turn,
                "request_attempts": int(figure("upstream_attempts") or 0),
                "sandbox": check.sandbox if check is not None else None,
                "resource_limit": check.resource_limit if check is not None else None,
                "check_output": secrets.redact(
                    strip_control(check.output[-STORED_CHECK_OUTPUT_CHARS:] if check is not None else "")
                ),
                "check_truncated": check.truncated if check is not None else False,
                "diff": secrets.redact(stats.diff),
                "started_at": self.started_at,
                "tokens_per_s_source": figure("tokens_per_s_source"),
                "truncated_replies": int(figure("truncated_replies") or 0),
                # The checks' queue, and the gateway's: requests waiting for one of the endpoint's slots.
                "queue_time_s": round(self.queue_time_s + float(figure("queue_time_s") or 0.0), 4),
                "assistant_sandbox": self.sandbox_mode,
                # None with the repair off: the gateway never looked, so "0 repaired" would claim a measurement.
                "repaired_tool_calls": figure("repaired_tool_calls") if self.spec.repair_tool_calls else None,
                "model_requests": requests,
                "cached_prompt_tokens": figure("cached_prompt_tokens"),
                "prompt_eval_s": _rounded(figure("prompt_eval_s")),
                "cache_write_tokens": figure("cache_write_tokens"),
                # benchtui's own loop counts these; for an assistant it never sees them happen (the assistant
                # parses its replies, keeps its history, reads its own stream), so "0" would claim a measurement.
                "malformed_replies": None,
                "history_dropped": None,
                "runaway_replies": None,
            }
        )
        return result

    # Bookkeeping

    def show(self, phase: str) -> None:
        self.phase = phase
        self.progress(force=True)

    def progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.on_progress is None or (not force and now - self.last_progress < PROGRESS_INTERVAL_S):
            return
        self.last_progress = now
        usage = self.gateway.usage() if self.gateway is not None else None
        self.on_progress(
            RunProgress(
                phase=self.phase,
                turn=self.turn,
                max_turns=self.task.max_turns,
                prompts_sent=self.prompts_sent,
                human_interventions=self.hints_given + self.typed_interventions,
                completion_tokens=int(getattr(usage, "completion_tokens", None) or 0),
                tokens_per_s=getattr(usage, "tokens_per_s", None),
                elapsed_s=now - self.started,
                last_check_line=self.last_check_line,
                hints_given=self.hints_given,
                typed_interventions=self.typed_interventions,
            )
        )

    def record(self, kind: str, role: str | None, content: str, **meta: Any) -> None:
        entry: dict[str, Any] = {"turn": self.turn, "kind": kind, "at_s": round(time.monotonic() - self.started, 3)}
        if role:
            entry["role"] = role
        entry["content"] = self.redact(content)
        entry.update(meta)
        self.transcript.append(entry)

    def redact(self, text: str) -> str:
        """Registered secrets out, and the gateway's per-run token (worthless once the run ends, but a
        key-shaped string in a transcript would be mistaken for a leak)."""
        cleaned = secrets.redact(strip_control(text))
        if self.gateway is not None and self.gateway.token:
            cleaned = cleaned.replace(self.gateway.token, secrets.REDACTED)
        return cleaned


def _rounded(value: Any) -> float | None:
    return round(float(value), 4) if value is not None else None
