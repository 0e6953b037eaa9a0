"""A run's running totals over the model's replies, and what it feeds back of a check's output."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from benchtui.engine import checkoutput
from benchtui.engine.providers.base import ChatReply

CHECK_OUTPUT_TAIL_LINES = 40
CHECK_OUTPUT_TAIL_CHARS = 3000


class ReplyTally:
    """Running totals over the model's replies: tokens, model time, rates, first-token times, retries."""

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
        self.cached_prompt_tokens: int | None = None
        self.cache_write_tokens: int | None = None
        self.prompt_eval_s: float | None = None
        self.runaway_replies = 0

    def add(self, reply: ChatReply) -> None:
        if reply.prompt_tokens is not None:
            self.prompt_tokens = (self.prompt_tokens or 0) + reply.prompt_tokens
        # Summed over the replies whose server said; None until one did (never a 0 nobody measured).
        if reply.cached_prompt_tokens is not None:
            self.cached_prompt_tokens = (self.cached_prompt_tokens or 0) + reply.cached_prompt_tokens
        if reply.cache_write_tokens is not None:
            self.cache_write_tokens = (self.cache_write_tokens or 0) + reply.cache_write_tokens
        if reply.prompt_eval_s is not None:
            self.prompt_eval_s = (self.prompt_eval_s or 0.0) + reply.prompt_eval_s
        self.runaway_replies += reply.runaway is not None
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

    @property
    def ttft_s(self) -> float | None:
        return round(sum(self.ttfts) / len(self.ttfts), 4) if self.ttfts else None


def tail(text: str, lines: int = CHECK_OUTPUT_TAIL_LINES, chars: int = CHECK_OUTPUT_TAIL_CHARS) -> str:
    """What a check's output feeds back: the failing tests and their assertions where benchtui reads the
    runner's output (node's TAP, pytest, jest, go test, cargo test, Catch; its own tail is stack frames and
    counts), a compiler's first errors, anything else its last lines."""
    summary = checkoutput.summarise_failures(text, lines)
    if summary is not None:
        return summary[:chars]
    kept = "\n".join(text.rstrip().splitlines()[-lines:])
    return kept[-chars:]


def last_line(text: str) -> str | None:
    summary = checkoutput.summarise_failures(text, 1)
    if summary is not None:  # "node --test: 7 of 9 tests failed", not "# duration_ms 80.4"
        return summary.splitlines()[0]
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()[:200]
    return None


_VOLATILE = re.compile(r"\d+(\.\d+)?s\b|0x[0-9a-f]+|\d+")


def normalised(output: str) -> str:
    """Check output with timings and addresses masked, to tell 'no progress' from progress."""
    return _VOLATILE.sub("#", output)


@contextmanager
def slot(
    slots: threading.Semaphore | None, cancel: threading.Event, on_wait: Callable[[], None]
) -> Iterator[float | None]:
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
