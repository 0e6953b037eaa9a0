"""benchtui's own contestant: the turn loop of design §5 for one task on one model.

prompt -> model reply -> edits applied -> hidden check -> feedback (check output, failed edits, the next
scripted hint when the turn made no progress, any message a person typed) -> ... until the check
passes, the turns run out, the time runs out, the run is cancelled or the model fails. Whatever
happens, the run ends as a result; a failing model is data, never an exception.

``EditLoop`` is what the runner holds (it keeps no per-run state, so one serves every worker thread);
each run is an ``_EditRun`` whose methods are the loop's steps: fit the conversation to the context,
request, apply the edits, run the check, the stop rules, the feedback with its hints, the result's
figures. A new stop rule or metric is a change to one of them.

Just over ~400 lines: one method per step of one loop; the context fitting and the reply tally already
live in ``context.py`` and ``tally.py``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from benchtui.engine import prompts, secrets, seeds
from benchtui.engine.contestants.base import ProgressCallback, RunControl, Transcript
from benchtui.engine.contestants.context import DEFAULT_CONTEXT_CHARS, Window, fit
from benchtui.engine.contestants.tally import ReplyTally, last_line, normalised, slot, tail
from benchtui.engine.edits import ApplyReport
from benchtui.engine.events import RunProgress
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import ChatMessage, ChatReply, Provider, ProviderError
from benchtui.engine.results import RunResult, RunStatus, empty_result, now_iso
from benchtui.engine.sandbox import CheckOutcome
from benchtui.engine.tasks import Task
from benchtui.engine.textsafety import strip_control
from benchtui.engine.workspace import DiffStats, Workspace

STORED_CHECK_OUTPUT_CHARS = 8000
DEFAULT_CHECK_TIMEOUT_S = 300.0
PROGRESS_INTERVAL_S = 0.1  # unforced snapshots (a streamed token) at most this often


class EditLoop:
    """The edit loop as a Contestant: ``context_chars`` is the prompt budget of a model whose context size
    is unknown (context.DEFAULT_CONTEXT_CHARS)."""

    def __init__(self, *, context_chars: int = DEFAULT_CONTEXT_CHARS) -> None:
        self.context_chars = context_chars

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
        return _EditRun(
            task,
            spec,
            provider,
            repeat=repeat,
            timeout_s=timeout_s,
            control=control or RunControl(),
            on_progress=on_progress,
            context_chars=self.context_chars,
            check_slots=check_slots,
            request_slots=request_slots,
        ).run()


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
) -> tuple[RunResult, Transcript]:
    """One edit-loop run: ``EditLoop(context_chars=...).run(...)`` (the entry tests and scripts call)."""
    return EditLoop(context_chars=context_chars).run(
        task,
        spec,
        provider,
        repeat=repeat,
        timeout_s=timeout_s,
        control=control,
        on_progress=on_progress,
        check_slots=check_slots,
        request_slots=request_slots,
    )


class _EditRun:
    """One run of the edit loop: its state, and one method per step."""

    def __init__(
        self,
        task: Task,
        spec: ModelSpec,
        provider: Provider,
        *,
        repeat: int,
        timeout_s: float,
        control: RunControl,
        on_progress: ProgressCallback | None,
        context_chars: int,
        check_slots: threading.Semaphore | None,
        request_slots: threading.Semaphore | None,
    ) -> None:
        self.task, self.spec, self.provider, self.repeat = task, spec, provider, repeat
        self.seed = seeds.run_seed(spec, repeat)
        self.control, self.on_progress = control, on_progress
        self.check_slots, self.request_slots = check_slots, request_slots
        # The run's clock; both move on by the time it waits in a queue (see _waited).
        self.started = time.monotonic()
        self.started_at = now_iso()
        self.deadline = self.started + min(timeout_s, task.timeout_s)
        self.tally = ReplyTally()
        self.transcript: Transcript = []
        self.window = Window.of(spec, context_chars)
        self.messages: list[ChatMessage] = []
        # The feedback prompts with their file dumps left out, by index in messages (see context.fit).
        self.slim: dict[int, str] = {}
        self.hints = list(task.hints)
        # What the views are shown (RunProgress).
        self.phase = "starting"
        self.turn = 0
        self.prompts_sent = 0
        self.hints_given = 0
        self.typed_interventions = 0
        self.last_check_line: str | None = None
        self.last_progress = 0.0
        # What the result says.
        self.status: RunStatus = "failed"
        self.error_kind: str | None = None
        self.error_message: str | None = None
        self.malformed_replies = 0
        self.check_time_s = 0.0
        self.queue_time_s = 0.0
        self.history_dropped = 0
        self.last_check: CheckOutcome | None = None
        # Between turns: the last check's output and the tree it ran on, the diff after the last edits.
        self.previous_output: str | None = None
        self.checked_tree: str | None = None
        self.last_stats: DiffStats | None = None
        self.workspace = Workspace(task)

    def run(self) -> tuple[RunResult, Transcript]:
        try:
            self.open_conversation()
            for turn in range(1, self.task.max_turns + 1):
                if not self.play_turn(turn):
                    break
            # Only apply() changes the workspace: the diff taken after the last one still holds.
            stats = self.last_stats if self.last_stats is not None else self.workspace.diff_stats()
        finally:
            self.workspace.close()
        return self.finish(stats), self.transcript

    def play_turn(self, turn: int) -> bool:
        """One turn, start to end; False when the run stops here (``status`` says why)."""
        self.turn = turn
        if not self.may_start_turn():
            return False
        self.show("prompting")
        sent = self.fit_context()
        if sent is None:
            return False
        reply = self.request(sent)
        if reply is None:
            return False
        report = self.apply_edits(reply)
        same = self.check()
        if same is None or turn == self.task.max_turns:
            return False
        self.give_feedback(reply, report, same)
        return True

    # The steps

    def open_conversation(self) -> None:
        system = prompts.system_prompt(self.spec.edit_format)
        first = prompts.first_prompt(self.task.prompt, self.workspace.show_all(), self.spec.edit_format)
        self.messages = [{"role": "system", "content": system}, {"role": "user", "content": first}]
        self.record("system", "system", system)
        self.record("prompt", "user", first)

    def fit_context(self) -> list[ChatMessage] | None:
        """The conversation to send, fitted to the model's context; None when even its core cannot fit."""
        sent, dropped, fits = fit(
            self.messages,
            self.window,
            self.slim,
            lambda: prompts.first_prompt(
                self.task.prompt, self.workspace.text_files(), self.spec.edit_format, refreshed=True
            ),
        )
        if not fits and self.window.context is not None:
            # A prompt that cannot fit would be cut by the server or leave no room for the reply.
            message = self.window.exhausted(sent)
            self.record("error", None, message, error="context_exhausted", attempts=0)
            self.stop("error", "context_exhausted", message)
            return None
        self.history_dropped += dropped
        return sent

    def request(self, sent: list[ChatMessage]) -> ChatReply | None:
        """Ask the model, holding one of the endpoint's request slots; None when the run stops."""
        with slot(self.request_slots, self.control.cancel, self.queued) as waited:
            if waited is None:
                self.stop("cancelled")
                return None
            self._waited(waited, "prompting")
            self.prompts_sent += 1
            asked = time.monotonic()
            try:
                reply = self.provider.chat(
                    sent, cancel=self.control.cancel, on_token=self.on_token, deadline=self.deadline, seed=self.seed
                )
            except ProviderError as error:
                self.tally.model_time_s += time.monotonic() - asked
                self.tally.attempts += error.attempts
                self.record("error", None, error.message, error=error.kind, attempts=error.attempts)
                self.model_failed(error)
                return None
            self.tally.model_time_s += time.monotonic() - asked
        self.tally.attempts += reply.attempts
        self.tally.add(reply)
        self.window.learn(sent, reply.prompt_tokens)
        self.record(
            "reply",
            "assistant",
            reply.text,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            duration_s=round(reply.duration_s, 3),
            tokens_per_s=reply.tokens_per_s,
            finish_reason=reply.finish_reason,
            cached_prompt_tokens=reply.cached_prompt_tokens,
            prompt_eval_s=round(reply.prompt_eval_s, 4) if reply.prompt_eval_s is not None else None,
            **({"cache_write_tokens": reply.cache_write_tokens} if reply.cache_write_tokens is not None else {}),
            **({"runaway": reply.runaway.describe()} if reply.runaway is not None else {}),
        )
        self.messages.append({"role": "assistant", "content": reply.text})
        return reply

    def apply_edits(self, reply: ChatReply) -> ApplyReport:
        self.phase = "applying"
        report = self.workspace.apply(reply.text, self.spec.edit_format)
        if report.malformed:
            self.malformed_replies += 1
        summary = "\n".join(report.failures) or (
            f"applied to {', '.join(report.applied)}" if report.applied else "no edit blocks found"
        )
        if report.changed_nothing:
            summary += " (no file changed)"
        self.record(
            "edits",
            None,
            summary,
            applied=report.applied,
            failed=len(report.failures),
            parsed=report.parsed,
            changed_nothing=report.changed_nothing,
        )
        return report

    def check(self) -> bool | None:
        """Run the hidden check on the edited tree, holding a check slot: whether its output is the same as
        last turn's (an unchanged tree is not checked again: the same); None when the run stops here."""
        self.last_stats = self.workspace.diff_stats()
        tree = self.last_stats.diff
        if self.checked_tree is not None and tree == self.checked_tree and self.previous_output is not None:
            return True
        self.show("checking")
        with slot(self.check_slots, self.control.cancel, self.queued) as waited:
            if waited is None:
                self.stop("cancelled")
                return None
            # Waiting for a CPU behind other runs' checks is queue time too, as for a request slot.
            self._waited(waited, "checking")
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.stop("timeout")
                return None
            limit = self.task.check_timeout_s or DEFAULT_CHECK_TIMEOUT_S
            outcome = self.workspace.run_check(min(remaining, limit), self.control.cancel)
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
        if self.check_ends_run(outcome):
            return None
        same = self.previous_output is not None and normalised(outcome.output) == normalised(self.previous_output)
        self.previous_output = outcome.output
        return same

    def give_feedback(self, reply: ChatReply, report: ApplyReport, same: bool) -> None:
        """The next prompt: what went wrong, the files that changed, a hint when the turn made no progress,
        and whatever a person typed since."""
        stuck = not report.applied or report.changed_nothing or same
        hint = self.hints.pop(0) if stuck and self.hints else None
        typed = self.control.drain_messages()
        if hint:
            self.hints_given += 1
            self.record("hint", "user", hint)
        for message in typed:
            self.typed_interventions += 1
            self.record("human", "user", message)
        changed = self.workspace.changed_since_shown()
        feedback = prompts.feedback_prompt(
            check_output=tail(self.previous_output) if self.previous_output is not None else None,
            edit_failures=report.failures,
            no_edits=report.parsed == 0,
            changed_nothing=report.changed_nothing,
            changed_files=changed,
            hint=hint,
            human_messages=typed,
            edit_format=self.spec.edit_format,
        )
        if reply.truncated:
            limit = self.spec.settings.get("max_completion_tokens") or self.spec.settings.get("max_tokens")
            feedback = prompts.truncated_reply_note(self.spec.edit_format, limit) + "\n\n" + feedback
        if reply.runaway is not None:
            feedback = prompts.runaway_reply_note(self.spec.edit_format, reply.runaway.copies) + "\n\n" + feedback
        self.slim[len(self.messages)] = prompts.without_files(feedback, changed)
        self.messages.append({"role": "user", "content": feedback})
        self.record("prompt", "user", feedback)

    # The stop rules

    def may_start_turn(self) -> bool:
        if self.control.cancel.is_set():
            self.stop("cancelled")
        elif time.monotonic() >= self.deadline:
            self.stop("timeout")
        else:
            return True
        return False

    def model_failed(self, error: ProviderError) -> None:
        if error.kind == "cancelled":
            self.stop("cancelled")
        elif error.kind == "timeout" and time.monotonic() >= self.deadline - 0.5:
            self.stop("timeout", "timeout", error.message)
        else:
            self.stop("error", error.kind, error.message)

    def check_ends_run(self, outcome: CheckOutcome) -> bool:
        if outcome.passed:
            self.stop("passed")
        elif self.control.cancel.is_set():
            self.stop("cancelled")
        elif outcome.timed_out and time.monotonic() >= self.deadline - 0.5:
            self.stop("timeout")
        else:
            return False
        return True

    def stop(self, status: RunStatus, error_kind: str | None = None, error_message: str | None = None) -> None:
        """End the run with ``status``: the step that calls it returns at once."""
        self.status, self.error_kind, self.error_message = status, error_kind, error_message

    # The figures

    def finish(self, stats: DiffStats) -> RunResult:
        elapsed = time.monotonic() - self.started
        self.show(self.status)
        tally, check = self.tally, self.last_check
        result = empty_result(self.task, self.spec, self.repeat)
        result.update(
            {
                "status": self.status,
                "error": self.error_kind,
                "error_message": self.error_message,
                "completion_time_s": round(elapsed, 4),
                "model_time_s": round(tally.model_time_s, 4) if self.prompts_sent else None,
                "check_time_s": round(self.check_time_s, 4) if check is not None else None,
                "ttft_s": tally.ttft_s,
                "load_time_s": round(tally.load_time_s, 4) if tally.load_time_s is not None else None,
                "tokens_per_s": tally.tokens_per_s,
                "prompt_tokens": tally.prompt_tokens,
                "completion_tokens": tally.completion_tokens,
                # The cache's reads and writes at their own rates (models.Pricing): the run's totals price
                # as its replies one by one would, the cost being linear in the counts.
                "cost_usd": self.spec.cost(
                    tally.prompt_tokens, tally.completion_tokens, tally.cached_prompt_tokens, tally.cache_write_tokens
                ),
                "prompts_sent": self.prompts_sent,
                "human_interventions": self.hints_given + self.typed_interventions,
                "hints_given": self.hints_given,
                "typed_interventions": self.typed_interventions,
                "malformed_replies": self.malformed_replies,
                "files_modified": stats.files_modified,
                "lines_added": stats.lines_added,
                "lines_removed": stats.lines_removed,
                "turns": self.turn,
                "request_attempts": tally.attempts,
                "sandbox": check.sandbox if check is not None else None,
                "resource_limit": check.resource_limit if check is not None else None,
                "check_output": secrets.redact(
                    strip_control(check.output[-STORED_CHECK_OUTPUT_CHARS:] if check is not None else "")
                ),
                "check_truncated": check.truncated if check is not None else False,
                "diff": secrets.redact(stats.diff),
                "started_at": self.started_at,
                "tokens_per_s_source": tally.tokens_per_s_source,
                "truncated_replies": tally.truncated_replies,
                "history_dropped": self.history_dropped,
                "queue_time_s": round(self.queue_time_s, 4),
                "cached_prompt_tokens": tally.cached_prompt_tokens,
                "prompt_eval_s": round(tally.prompt_eval_s, 4) if tally.prompt_eval_s is not None else None,
                "runaway_replies": tally.runaway_replies,
                # Null when no request went out: the seed was never sent.
                "seed": self.seed if self.prompts_sent else None,
                "cache_write_tokens": tally.cache_write_tokens,
            }
        )
        return result

    # Bookkeeping

    def show(self, phase: str) -> None:
        """Enter ``phase`` and tell the views at once."""
        self.phase = phase
        self.progress(force=True)

    def progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.on_progress is None or (not force and now - self.last_progress < PROGRESS_INTERVAL_S):
            return
        self.last_progress = now
        self.on_progress(
            RunProgress(
                phase=self.phase,
                turn=self.turn,
                max_turns=self.task.max_turns,
                prompts_sent=self.prompts_sent,
                human_interventions=self.hints_given + self.typed_interventions,
                completion_tokens=self.tally.completion_tokens or self.tally.streamed_tokens,
                tokens_per_s=self.tally.tokens_per_s,
                elapsed_s=now - self.started,
                last_check_line=self.last_check_line,
                hints_given=self.hints_given,
                typed_interventions=self.typed_interventions,
            )
        )

    def queued(self) -> None:
        self.show("queued")

    def _waited(self, seconds: float, phase: str) -> None:
        """Time queued behind other runs (for a request or a check slot) is not this run's: its clock and
        its deadline stop while it waits."""
        self.started += seconds
        self.deadline += seconds
        self.queue_time_s += seconds
        if seconds:
            self.show(phase)

    def on_token(self, piece: str) -> None:
        self.tally.streamed_tokens += 1
        self.progress()

    def record(self, kind: str, role: str | None, content: str, **meta: Any) -> None:
        entry: dict[str, Any] = {"turn": self.turn, "kind": kind, "at_s": round(time.monotonic() - self.started, 3)}
        if role:
            entry["role"] = role
        entry["content"] = secrets.redact(strip_control(content))
        entry.update(meta)
        self.transcript.append(entry)
