"""What the gateway measured over one run: one record per request, and the run's totals from them.

The totals keep benchtui's rule that a figure it could not measure is None, never 0: the token counts
are the upstream's own (summed over the replies), and None as soon as one reply came without them, or
when requests were made and none completed (a failed request may have cost tokens nobody reported).
The prompt cache's tokens (read, and Anthropic's written) and the prompt's processing time are summed
over the replies whose server reported them, and None when none did, as benchtui's own loop sums them.
Tokens per second are the run's generated tokens over its decode time (each reply's tokens over its
rate), marked "server" only when every reply's rate was the server's own timing, else "client".
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from benchtui.engine.models import ModelSpec


@dataclass(frozen=True)
class CallRecord:
    """One request the client made to the gateway, as it ended."""

    dialect: str
    stream: bool
    status: int
    attempts: int
    duration_s: float
    queue_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    prompt_eval_s: float | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    tokens_per_s_source: str | None = None
    finish_reason: str | None = None
    tool_calls: int = 0
    repaired_tool_calls: int = 0
    # Every failed upstream attempt's kind (retried ones too), then the final error's, if it failed.
    attempt_errors: tuple[str, ...] = ()
    error_kind: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None


@dataclass(frozen=True)
class GatewayUsage:
    """A snapshot of one run's model use through the gateway."""

    requests: int = 0
    completed: int = 0
    rejected: int = 0  # requests refused for a wrong or missing token (never forwarded)
    upstream_attempts: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_prompt_tokens: int | None = None
    prompt_eval_s: float | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    tokens_per_s_source: str | None = None
    cost_usd: float | None = None
    truncated_replies: int = 0
    tool_calls: int = 0
    repaired_tool_calls: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    last_error_kind: str | None = None
    last_error: str | None = None
    model_time_s: float = 0.0
    queue_time_s: float = 0.0
    calls: tuple[CallRecord, ...] = ()
    cache_write_tokens: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _total(values: list[int | None], requests: int) -> int | None:
    if not values:
        return 0 if requests == 0 else None
    if any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


def _reported(values: list[Any]) -> Any:
    """A total over the replies whose server said, None until one did: the prompt cache and the prompt's
    processing time, which servers report or not (Ollama never does) whatever else they count. The same
    rule as benchtui's own loop (``contestants.tally.ReplyTally``), so the two kinds of run compare."""
    said = [v for v in values if v is not None]
    return sum(said) if said else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class Meter:
    """Thread-safe: each request's handler thread records into it; ``usage`` reads a snapshot."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._calls: list[CallRecord] = []
        self._rejected = 0

    def record(self, call: CallRecord) -> None:
        with self._lock:
            self._calls.append(call)

    def reject(self) -> None:
        with self._lock:
            self._rejected += 1

    def usage(self) -> GatewayUsage:
        with self._lock:
            calls = tuple(self._calls)
            rejected = self._rejected
        done = [c for c in calls if c.ok]
        prompt = _total([c.prompt_tokens for c in done], len(calls))
        completion = _total([c.completion_tokens for c in done], len(calls))
        cached = _reported([c.cached_tokens for c in done])
        written = _reported([c.cache_write_tokens for c in done])
        prompt_eval = _reported([c.prompt_eval_s for c in done])
        timed = [c for c in done if c.tokens_per_s and c.completion_tokens]
        decode_s = sum((c.completion_tokens or 0) / (c.tokens_per_s or 1) for c in timed)
        rate = sum(c.completion_tokens or 0 for c in timed) / decode_s if decode_s > 0 else None
        source = None
        if rate is not None:
            source = "server" if all(c.tokens_per_s_source == "server" for c in timed) else "client"
        errors: Counter[str] = Counter()
        for c in calls:
            errors.update(c.attempt_errors)
        failed = [c for c in calls if not c.ok]
        return GatewayUsage(
            requests=len(calls),
            completed=len(done),
            rejected=rejected,
            upstream_attempts=sum(c.attempts for c in calls),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_prompt_tokens=cached,
            prompt_eval_s=prompt_eval,
            # Rounded as benchtui's loop rounds its own (contestants.tally): the CSV's rows then read alike.
            ttft_s=_round(done[0].ttft_s if done else None, 4),
            tokens_per_s=_round(rate, 3),
            tokens_per_s_source=source,
            # From the run's totals: the cost is linear in the counts, so this is the sum of each request's.
            cost_usd=self.spec.cost(prompt, completion, cached, written),
            truncated_replies=sum(1 for c in done if c.finish_reason == "length"),
            tool_calls=sum(c.tool_calls for c in done),
            repaired_tool_calls=sum(c.repaired_tool_calls for c in done),
            errors=dict(errors),
            last_error_kind=failed[-1].error_kind if failed else None,
            last_error=failed[-1].error if failed else None,
            model_time_s=sum(c.duration_s for c in calls),
            queue_time_s=sum(c.queue_s for c in calls),
            calls=calls,
            cache_write_tokens=written,
        )
