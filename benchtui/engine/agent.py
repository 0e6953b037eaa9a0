"""One run: the turn loop of design §5 for one task on one model.

prompt -> model reply -> edits applied -> hidden check -> feedback (check output, failed edits, the next
scripted hint when the turn made no progress, any message a person typed) -> ... until the check
passes, the turns run out, the time runs out, the run is cancelled or the model fails. Whatever
happens, the run ends as a result dict; a failing model is data, never an exception.
"""

from __future__ import annotations

import math
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchtui.engine import checkoutput, prompts, secrets
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import ChatMessage, ChatReply, Provider, ProviderError
from benchtui.engine.results import RunResult, RunStatus, empty_result, now_iso
from benchtui.engine.tasks import Task
from benchtui.engine.textsafety import strip_control
from benchtui.engine.workspace import DiffStats, Workspace

CHECK_OUTPUT_TAIL_LINES = 40
CHECK_OUTPUT_TAIL_CHARS = 3000
STORED_CHECK_OUTPUT_CHARS = 8000
# The prompt budget of a model whose context size benchtui does not know (no settings.num_ctx): history
# beyond it is dropped, but the run is never failed for it.
DEFAULT_CONTEXT_CHARS = 14000
# An embedded model's context when its spec does not say (embedded.DEFAULT_CONTEXT).
EMBEDDED_CONTEXT_TOKENS = 4096
# The reply's room when a model sets no max_tokens (Anthropic's own default is the same).
DEFAULT_REPLY_TOKENS = 1024
# Characters per token before the server has counted a prompt. Measured with the embedded SmolLM2's own
# tokenizer on the 13 shipped tasks' first prompts: 2.96 (JavaScript) to 3.60; 2.8 errs towards sending
# less. The server's own counts then replace it, less LEARN_MARGIN (later turns hold other text).
CHARS_PER_TOKEN = 2.8
LEARN_MARGIN = 0.95
MESSAGE_OVERHEAD_TOKENS = 8  # the chat template's role markers around each message
DEFAULT_CHECK_TIMEOUT_S = 300.0
ProgressCallback = Callable[[dict[str, Any]], None]


@dataclass
class RunControl:
    """How the outside world steers a run: its cancel Event and the messages a person typed."""

    cancel: threading.Event = field(default_factory=threading.Event)
    human_messages: queue.SimpleQueue[str] = field(default_factory=queue.SimpleQueue)

    def drain_messages(self) -> list[str]:
        messages = []
        while True:
            try:
                messages.append(self.human_messages.get_nowait())
            except queue.Empty:
                return messages


def tail(text: str, lines: int = CHECK_OUTPUT_TAIL_LINES, chars: int = CHECK_OUTPUT_TAIL_CHARS) -> str:
    """What a check's output feeds back: node's TAP as its failing tests and their assertions (its own tail is
    stack frames and counts), anything else its last lines."""
    summary = checkoutput.summarise_tap(text, lines)
    if summary is not None:
        return summary[:chars]
    kept = "\n".join(text.rstrip().splitlines()[-lines:])
    return kept[-chars:]


def last_line(text: str) -> str | None:
    summary = checkoutput.summarise_tap(text, 1)
    if summary is not None:  # "node --test: 7 of 9 tests failed", not "# duration_ms 80.4"
        return summary.splitlines()[0]
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()[:200]
    return None


_VOLATILE = re.compile(r"\d+(\.\d+)?s\b|0x[0-9a-f]+|\d+")


def _normalised(output: str) -> str:
    """Check output with timings and addresses masked, to tell 'no progress' from progress."""
    return _VOLATILE.sub("#", output)


class _Meter:
    """Running totals over the model's replies."""

    def __init__(self) -> None:
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.model_time_s = 0.0
        self.generation_s: float | None = None
        self.gen_tokens = 0
        self.client_rates: list[float] = []
        self.ttfts: list[float] = []
        self.load_time_s: float | None = None
        self.attempts = 0
        self.streamed_tokens = 0
        self.truncated_replies = 0

    def add(self, reply: ChatReply) -> None:
        if reply.prompt_tokens is not None:
            self.prompt_tokens = (self.prompt_tokens or 0) + reply.prompt_tokens
        if reply.completion_tokens is not None:
            self.completion_tokens = (self.completion_tokens or 0) + reply.completion_tokens
        # The provider decided whether a reply's rate means anything (base.decode_rate); a reply whose
        # rate is None adds nothing, so one burst cannot drag a run's figure anywhere.
        if reply.tokens_per_s_source == "server" and reply.generation_s and reply.completion_tokens:
            self.generation_s = (self.generation_s or 0.0) + reply.generation_s
            self.gen_tokens += reply.completion_tokens
        elif reply.tokens_per_s_source == "client" and reply.tokens_per_s:
            self.client_rates.append(reply.tokens_per_s)
        self.truncated_replies += reply.truncated
        if reply.ttft_s is not None:
            self.ttfts.append(reply.ttft_s)
        if reply.load_time_s is not None:
            self.load_time_s = (self.load_time_s or 0.0) + reply.load_time_s

    @property
    def tokens_per_s(self) -> float | None:
        if self.generation_s:
            return round(self.gen_tokens / self.generation_s, 3)
        if self.client_rates:
            return round(sum(self.client_rates) / len(self.client_rates), 3)
        return None

    @property
    def tokens_per_s_source(self) -> str | None:
        """Where ``tokens_per_s`` came from: the server's timings win over the client clock, as above."""
        if self.generation_s:
            return "server"
        return "client" if self.client_rates else None


def run_task(
    task: Task,
    spec: ModelSpec,
    provider: Provider,
    *,
    repeat: int = 1,
    timeout_s: float = 1800.0,
    control: RunControl | None = None,
    on_progress: ProgressCallback | None = None,
    context_chars: int = DEFAULT_CONTEXT_CHARS,
    check_slots: threading.Semaphore | None = None,
    request_slots: threading.Semaphore | None = None,
) -> tuple[RunResult, list[dict[str, Any]]]:
    """Run ``task`` on one model; returns (result dict with the design §5 keys, transcript).

    ``check_slots`` caps the checks running at once (they need CPU); ``request_slots`` caps the requests
    in flight to the model's endpoint, so that runs sharing it can check while another one asks. Time spent
    waiting for either is ``queue_time_s``: the run's clock and deadline stop while it waits."""
    control = control or RunControl()
    started = time.monotonic()
    started_at = now_iso()
    budget = min(timeout_s, task.timeout_s)
    deadline = started + budget
    meter = _Meter()
    transcript: list[dict[str, Any]] = []
    state: dict[str, Any] = {
        "phase": "starting", "turn": 0, "prompts_sent": 0, "interventions": 0, "last_check_line": None,
    }
    counts = {"hints": 0, "typed": 0, "malformed": 0}
    check_time = 0.0
    queue_time = 0.0
    status: RunStatus = "failed"
    error_kind: str | None = None
    error_message: str | None = None
    check_output = ""
    check_truncated = False
    sandbox_mode: str | None = None
    resource_limit: str | None = None
    last_progress = 0.0
    window = _Window.of(spec, context_chars)
    history_dropped = 0
    # The feedback prompts with their file dumps left out, by index in messages (see _fit).
    slim: dict[int, str] = {}

    def progress(force: bool = False) -> None:
        nonlocal last_progress
        now = time.monotonic()
        if on_progress is None or (not force and now - last_progress < 0.1):
            return
        last_progress = now
        on_progress({
            **state,
            "hints_given": counts["hints"],
            "typed_interventions": counts["typed"],
            "max_turns": task.max_turns,
            "completion_tokens": meter.completion_tokens or meter.streamed_tokens,
            "tokens_per_s": meter.tokens_per_s,
            "elapsed_s": now - started,
        })

    def queued() -> None:
        state["phase"] = "queued"
        progress(force=True)

    def on_token(piece: str) -> None:
        meter.streamed_tokens += 1
        progress()

    def record(kind: str, role: str | None, content: str, **meta: Any) -> None:
        entry: dict[str, Any] = {"turn": state["turn"], "kind": kind, "at_s": round(time.monotonic() - started, 3)}
        if role:
            entry["role"] = role
        entry["content"] = secrets.redact(strip_control(content))
        entry.update(meta)
        transcript.append(entry)

    workspace = Workspace(task)
    try:
        system = prompts.system_prompt(spec.edit_format)
        first = prompts.first_prompt(task.prompt, workspace.show_all(), spec.edit_format)
        messages: list[ChatMessage] = [
            {"role": "system", "content": system},
            {"role": "user", "content": first},
        ]
        record("system", "system", system)
        record("prompt", "user", first)
        hints = list(task.hints)
        previous_output: str | None = None
        checked_tree: str | None = None
        last_stats: DiffStats | None = None
        for turn in range(1, task.max_turns + 1):
            state["turn"] = turn
            if control.cancel.is_set():
                status = "cancelled"
                break
            if time.monotonic() >= deadline:
                status = "timeout"
                break
            state["phase"] = "prompting"
            progress(force=True)
            sent, dropped, fits = _fit(messages, window, slim, lambda: prompts.first_prompt(
                task.prompt, workspace.text_files(), spec.edit_format, refreshed=True))
            if not fits and window.context is not None:
                # A prompt that cannot fit would be cut by the server or leave no room for the reply.
                status, error_kind, error_message = "error", "context_exhausted", window.exhausted(sent)
                record("error", None, error_message, error=error_kind, attempts=0)
                break
            history_dropped += dropped
            with _slot(request_slots, control.cancel, queued) as waited:
                if waited is None:
                    status = "cancelled"
                    break
                # Time queued behind other runs' requests to the same endpoint is not this run's:
                # its clock and its deadline stop while it waits.
                started += waited
                deadline += waited
                queue_time += waited
                if waited:
                    state["phase"] = "prompting"
                    progress(force=True)
                state["prompts_sent"] += 1
                asked = time.monotonic()
                try:
                    reply = provider.chat(sent, cancel=control.cancel, on_token=on_token, deadline=deadline)
                except ProviderError as error:
                    meter.model_time_s += time.monotonic() - asked
                    meter.attempts += error.attempts
                    record("error", None, error.message, error=error.kind, attempts=error.attempts)
                    if error.kind == "cancelled":
                        status = "cancelled"
                    elif error.kind == "timeout" and time.monotonic() >= deadline - 0.5:
                        status, error_kind, error_message = "timeout", "timeout", error.message
                    else:
                        status, error_kind, error_message = "error", error.kind, error.message
                    break
                meter.model_time_s += time.monotonic() - asked
            meter.attempts += reply.attempts
            meter.add(reply)
            window.learn(sent, reply.prompt_tokens)
            record("reply", "assistant", reply.text, prompt_tokens=reply.prompt_tokens,
                   completion_tokens=reply.completion_tokens, duration_s=round(reply.duration_s, 3),
                   tokens_per_s=reply.tokens_per_s, finish_reason=reply.finish_reason)
            messages.append({"role": "assistant", "content": reply.text})

            state["phase"] = "applying"
            report = workspace.apply(reply.text, spec.edit_format)
            if report.malformed:
                counts["malformed"] += 1
            summary = "\n".join(report.failures) or (
                f"applied to {', '.join(report.applied)}" if report.applied else "no edit blocks found")
            if report.changed_nothing:
                summary += " (no file changed)"
            record("edits", None, summary,
                   applied=report.applied, failed=len(report.failures), parsed=report.parsed,
                   changed_nothing=report.changed_nothing)

            last_stats = workspace.diff_stats()
            tree = last_stats.diff
            if checked_tree is None or tree != checked_tree or previous_output is None:
                state["phase"] = "checking"
                progress(force=True)
                with _slot(check_slots, control.cancel, queued) as waited:
                    if waited is None:
                        status = "cancelled"
                        break
                    # Waiting for a CPU behind other runs' checks is queue time too, as for a request slot.
                    started += waited
                    deadline += waited
                    queue_time += waited
                    if waited:
                        state["phase"] = "checking"
                        progress(force=True)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        status = "timeout"
                        break
                    outcome = workspace.run_check(min(remaining, DEFAULT_CHECK_TIMEOUT_S), control.cancel)
                check_time += outcome.duration_s
                sandbox_mode = outcome.sandbox
                resource_limit = outcome.resource_limit
                check_output = outcome.output
                check_truncated = outcome.truncated
                checked_tree = tree
                state["last_check_line"] = strip_control(last_line(outcome.output) or "")
                record("check", None, tail(outcome.output), exit_code=outcome.exit_code,
                       timed_out=outcome.timed_out, duration_s=round(outcome.duration_s, 3))
                if outcome.passed:
                    status = "passed"
                    break
                if control.cancel.is_set():
                    status = "cancelled"
                    break
                if outcome.timed_out and time.monotonic() >= deadline - 0.5:
                    status = "timeout"
                    break
                same = previous_output is not None and _normalised(outcome.output) == _normalised(previous_output)
                previous_output = outcome.output
            else:
                same = True
            if turn == task.max_turns:
                break
            stuck = not report.applied or report.changed_nothing or same
            hint = hints.pop(0) if stuck and hints else None
            typed = control.drain_messages()
            if hint:
                counts["hints"] += 1
                record("hint", "user", hint)
            for message in typed:
                counts["typed"] += 1
                record("human", "user", message)
            state["interventions"] = counts["hints"] + counts["typed"]
            changed = workspace.changed_since_shown()
            feedback = prompts.feedback_prompt(
                check_output=tail(previous_output or "") if previous_output is not None else None,
                edit_failures=report.failures,
                no_edits=report.parsed == 0,
                changed_nothing=report.changed_nothing,
                changed_files=changed,
                hint=hint,
                human_messages=typed,
                edit_format=spec.edit_format,
            )
            if reply.truncated:
                limit = spec.settings.get("max_completion_tokens") or spec.settings.get("max_tokens")
                feedback = prompts.truncated_reply_note(spec.edit_format, limit) + "\n\n" + feedback
            slim[len(messages)] = prompts.without_files(feedback, changed)
            messages.append({"role": "user", "content": feedback})
            record("prompt", "user", feedback)
        # Only apply() changes the workspace: the diff taken after the last one still holds.
        stats = last_stats if last_stats is not None else workspace.diff_stats()
    finally:
        workspace.close()

    elapsed = time.monotonic() - started
    state["phase"] = status
    progress(force=True)
    result = empty_result(task, spec, repeat)
    result.update({
        "status": status,
        "error": error_kind,
        "error_message": error_message,
        "completion_time_s": round(elapsed, 4),
        "model_time_s": round(meter.model_time_s, 4) if state["prompts_sent"] else None,
        "check_time_s": round(check_time, 4) if sandbox_mode is not None else None,
        "ttft_s": round(sum(meter.ttfts) / len(meter.ttfts), 4) if meter.ttfts else None,
        "load_time_s": round(meter.load_time_s, 4) if meter.load_time_s is not None else None,
        "tokens_per_s": meter.tokens_per_s,
        "prompt_tokens": meter.prompt_tokens,
        "completion_tokens": meter.completion_tokens,
        "cost_usd": spec.cost(meter.prompt_tokens, meter.completion_tokens),
        "prompts_sent": state["prompts_sent"],
        "human_interventions": counts["hints"] + counts["typed"],
        "hints_given": counts["hints"],
        "typed_interventions": counts["typed"],
        "malformed_replies": counts["malformed"],
        "files_modified": stats.files_modified,
        "lines_added": stats.lines_added,
        "lines_removed": stats.lines_removed,
        "turns": state["turn"],
        "request_attempts": meter.attempts,
        "sandbox": sandbox_mode,
        "resource_limit": resource_limit,
        "check_output": secrets.redact(strip_control(check_output[-STORED_CHECK_OUTPUT_CHARS:])),
        "check_truncated": check_truncated,
        "diff": secrets.redact(stats.diff),
        "started_at": started_at,
        "tokens_per_s_source": meter.tokens_per_s_source,
        "truncated_replies": meter.truncated_replies,
        "history_dropped": history_dropped,
        "queue_time_s": round(queue_time, 4),
    })
    return result, transcript


@contextmanager
def _slot(slots: threading.Semaphore | None, cancel: threading.Event,
          on_wait: Callable[[], None]) -> Iterator[float | None]:
    """Hold one of ``slots`` (an endpoint's requests, the checks); yields the seconds waited for it, exactly 0
    when one was free (None: cancelled first). ``on_wait`` is called once when the run has to wait."""
    if slots is None or slots.acquire(blocking=False):
        try:
            yield 0.0
        finally:
            if slots is not None:
                slots.release()
        return
    waiting_since = time.monotonic()
    on_wait()
    while not slots.acquire(timeout=0.05):
        if cancel.is_set():
            yield None
            return
    try:
        yield time.monotonic() - waiting_since
    finally:
        slots.release()


@dataclass
class _Window:
    """How much of a model's context a prompt may take, in estimated tokens.

    ``context`` None: the size is unknown, and a character budget stands in for it (a soft limit, never a
    failure). The estimate starts at CHARS_PER_TOKEN and follows what the server counts for each prompt."""

    context: int | None
    reply_tokens: int
    soft_chars: int
    chars_per_token: float = CHARS_PER_TOKEN

    @classmethod
    def of(cls, spec: ModelSpec, soft_chars: int) -> _Window:
        settings = spec.settings
        cap = _count(settings.get("max_tokens")) or _count(settings.get("max_completion_tokens"))
        # An embedded model's context is its server's n_ctx (ModelSpec.context); others may say num_ctx.
        context = spec.context or _count(settings.get("num_ctx"))
        if context is None and spec.provider == "embedded":
            context = EMBEDDED_CONTEXT_TOKENS
        return cls(context, cap or DEFAULT_REPLY_TOKENS, soft_chars)

    def tokens(self, messages: list[ChatMessage]) -> int:
        chars = sum(len(m["content"]) for m in messages)
        return math.ceil(chars / self.chars_per_token) + MESSAGE_OVERHEAD_TOKENS * len(messages)

    def fits(self, messages: list[ChatMessage]) -> bool:
        if self.context is None:
            return sum(len(m["content"]) for m in messages) <= self.soft_chars
        return self.tokens(messages) + self.reply_tokens <= self.context

    def learn(self, sent: list[ChatMessage], prompt_tokens: int | None) -> None:
        """Take the server's token count for ``sent`` as the measure of the next prompts."""
        if not prompt_tokens or prompt_tokens <= 0:
            return
        text_tokens = prompt_tokens - MESSAGE_OVERHEAD_TOKENS * len(sent)
        if text_tokens > 0:
            # Within what tokenizers give: a count cut short by a prompt cache must not make prompts look small.
            measured = sum(len(m["content"]) for m in sent) / text_tokens * LEARN_MARGIN
            self.chars_per_token = min(max(measured, 1.0), 4.5)

    def exhausted(self, sent: list[ChatMessage]) -> str:
        return (f"the task does not fit the model's context: its prompt (system prompt, task, current files and "
                f"the latest feedback) takes about {self.tokens(sent)} tokens and the reply needs "
                f"{self.reply_tokens} (max_tokens), more than the {self.context} tokens of its context (num_ctx)")


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _fit(
    messages: list[ChatMessage], window: _Window, slim: dict[int, str], refreshed: Callable[[], str]
) -> tuple[list[ChatMessage], bool, bool]:
    """The conversation to send: (messages, whether history was dropped, whether they fit).

    Whole when it fits. Otherwise the file dumps go first: the first prompt is sent again with the files as
    they are now (``refreshed``), the later feedback without its dumps (``slim``), and then the oldest
    exchanges go, never the system prompt, the task or the latest feedback. When even those do not fit, the
    smallest conversation is returned with fits False."""
    if window.fits(messages):
        return messages, False, True
    if len(messages) <= 2:
        return messages, False, False
    head: list[ChatMessage] = [messages[0], {"role": "user", "content": refreshed()}]
    rest: list[ChatMessage] = [{"role": m["role"], "content": slim.get(i, m["content"])}
                               for i, m in enumerate(messages) if i >= 2]
    # After the first prompt come (reply, feedback) pairs; dropping whole pairs keeps the turns in order.
    while len(rest) > 2 and not window.fits(head + rest):
        del rest[:2]
    if len(rest) == 2 and not window.fits(head + rest):
        del rest[0]  # the latest reply too: the latest feedback is what the model must answer
    return head + rest, True, window.fits(head + rest)
