"""The run result: its type, its one list of keys, the empty result and the run id.

Result keys are an API (design §5): scripts and other tools read the JSON files, so the keys are
declared once, in ``RunResult``; ``RESULT_KEYS`` (the CSV's columns, in order) is read off it and
``empty_result`` builds every one of them. A metric that could not be measured is ``None``, never 0.

``RunResult`` is a TypedDict rather than a dataclass because results are stored as JSON and read back
as plain dicts by the store, the reports and other tools: a TypedDict types them without a conversion
at every boundary. It is ``total=False`` because a result read back from a batch written by an older
benchtui lacks the keys added since (``tokens_per_s_source``, ``truncated_replies``,
``history_dropped``, ``queue_time_s``, ...), so a reader must ``.get()`` a figure; only the keys that
identify a run (``task_id``, ``model``, ``status``) are Required: the store skips a file without them.
A result benchtui builds now always has every key (``empty_result``; tests hold it to RESULT_KEYS).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, Required, TypedDict, get_args

from benchtui import __version__
from benchtui.engine import prompts
from benchtui.engine.models import ModelSpec
from benchtui.engine.tasks import Task

RunStatus = Literal["passed", "failed", "timeout", "error", "cancelled"]
STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
FINISHED_STATUSES: tuple[RunStatus, ...] = ("passed", "failed", "timeout", "error")


class RunResult(TypedDict, total=False):
    """One run's result, keys in the order of the CSV's columns (docs/METRICS.md says what each means).

    New keys go at the end (append-only: the CSV's columns keep their places) and into empty_result."""

    task_id: Required[str]
    model: Required[str]
    repeat: int
    status: Required[RunStatus]
    error: str | None
    error_message: str | None
    completion_time_s: float
    model_time_s: float | None
    check_time_s: float | None
    ttft_s: float | None
    load_time_s: float | None
    tokens_per_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    prompts_sent: int
    human_interventions: int
    hints_given: int
    typed_interventions: int
    malformed_replies: int | None
    files_modified: int
    lines_added: int
    lines_removed: int
    turns: int
    request_attempts: int
    sandbox: str | None
    check_output: str
    check_truncated: bool
    resource_limit: str | None
    diff: str
    transcript_file: str | None
    fingerprint: str | None
    prompt_version: str
    benchtui_version: str
    started_at: str
    finished_at: str
    tokens_per_s_source: str | None
    truncated_replies: int
    history_dropped: int | None
    queue_time_s: float | None
    cached_prompt_tokens: int | None
    prompt_eval_s: float | None
    runaway_replies: int | None
    seed: int | None
    assistant: str | None
    assistant_version: str | None
    assistant_sandbox: str | None
    repaired_tool_calls: int | None
    model_requests: int | None
    endpoint: str | None
    cache_write_tokens: int | None


# Declaration order is kept by __annotations__ (a dict), so the CSV's column order is RunResult's.
RESULT_KEYS: tuple[str, ...] = tuple(RunResult.__annotations__)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def empty_result(task: Task, spec: ModelSpec, repeat: int) -> RunResult:
    """A result with every key of design §5: counts at 0, unmeasured figures None."""
    now = now_iso()
    # The order is the run files' order since the first release (JSON keeps it); RESULT_KEYS is the CSV's.
    return {
        "task_id": task.id,
        "model": spec.key,
        "repeat": repeat,
        "status": "error",
        "error": None,
        "error_message": None,
        "completion_time_s": 0.0,
        "model_time_s": None,
        "check_time_s": None,
        "ttft_s": None,
        "load_time_s": None,
        "tokens_per_s": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "cost_usd": None,
        "prompts_sent": 0,
        "human_interventions": 0,
        "hints_given": 0,
        "typed_interventions": 0,
        "malformed_replies": 0,
        "files_modified": 0,
        "lines_added": 0,
        "lines_removed": 0,
        "turns": 0,
        "request_attempts": 0,
        "sandbox": None,
        "check_output": "",
        "check_truncated": False,
        "resource_limit": None,
        "diff": "",
        "transcript_file": None,
        "fingerprint": None,
        "prompt_version": prompts.PROMPT_VERSION,
        "benchtui_version": __version__,
        "started_at": now,
        "finished_at": now,
        "tokens_per_s_source": None,
        "truncated_replies": 0,
        "history_dropped": 0,
        "queue_time_s": None,
        "cached_prompt_tokens": None,
        "prompt_eval_s": None,
        "runaway_replies": 0,
        "seed": None,
        "assistant": spec.assistant or "benchtui",
        "assistant_version": spec.assistant_version,
        "assistant_sandbox": None,
        "repaired_tool_calls": None,
        "model_requests": None,
        "endpoint": None,
        "cache_write_tokens": None,
    }


def run_id(task_id: str, model_key: str, repeat: int) -> str:
    """The one run-id format: ``task::model::repeat``."""
    return f"{task_id}::{model_key}::{repeat}"


def result_run_id(result: Mapping[str, Any]) -> str:
    """The run id of a result (a RunResult, or a dict read back from any benchtui's JSON)."""
    return run_id(str(result["task_id"]), str(result["model"]), int(result.get("repeat", 1)))
