"""Forwarding one request to the contestant's model through its benchtui provider, with retries.

The provider supplies what it already owns: the httpx client, the auth headers (the real key lives only
here, in the upstream request), the typed classification of HTTP failures (``Provider.stream`` and
``http_error``), the retry policy and the request watchdog (``RequestGuard``: a socket shut down at the
deadline or on cancel). What is new is the body (tools and all, which ``Provider.chat`` has no room for)
and the reading of tool calls from the stream, so this module sits beside ``Provider.chat`` rather than
changing it.

The retry rules are ``Provider.chat``'s, with one more: once the first byte of a streamed reply has gone
to the client, a failure can no longer be retried (the client holds half an answer); the caller says so
through ``committed``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from benchtui.engine.gateway.canonical import LENGTH, STOP, TOOL_CALLS, TextPiece, ToolCall
from benchtui.engine.providers.anthropic import iter_sse, stream_error
from benchtui.engine.providers.base import (
    ChatReply,
    Provider,
    ProviderError,
    RequestGuard,
    StreamMeter,
    as_float,
    as_int,
    decode_json_line,
    iter_lines_guarded,
)
from benchtui.engine.providers.openai import cached_tokens

Event = TextPiece | ToolCall
Emit = Callable[[Event], None]
CHAT = "chat"
ANTHROPIC = "anthropic"
_ANTHROPIC_FINISH = {"end_turn": STOP, "stop_sequence": STOP, "max_tokens": LENGTH, "tool_use": TOOL_CALLS}


def route(provider: Provider) -> tuple[str, str]:
    """(path, upstream dialect) for a provider: Anthropic speaks messages, every other one OpenAI chat."""
    if provider.dialect == "anthropic":
        return "/v1/messages", ANTHROPIC
    if provider.dialect == "ollama":
        return "/v1/chat/completions", CHAT  # Ollama's OpenAI-compatible API: tools and all
    return "/chat/completions", CHAT  # OpenAI-style base URLs include /v1


@dataclass
class Figures:
    """What the server said about one reply, besides its content."""

    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None  # Anthropic's cache_creation_input_tokens; None elsewhere
    prompt_eval_s: float | None = None
    server_tokens: int | None = None
    server_s: float | None = None


@dataclass
class Forwarded:
    reply: ChatReply  # its cached_prompt_tokens and prompt_eval_s are the server's, as in benchtui's loop
    attempts: int
    attempt_errors: list[str]
    queue_s: float


class UpstreamFailure(Exception):
    """A request that failed for good: the last typed error, and the kinds of every failed attempt."""

    def __init__(self, error: ProviderError, attempt_errors: list[str], queue_s: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempt_errors = attempt_errors
        self.queue_s = queue_s


class _Either(threading.Event):
    """Set when either of two events is: the run's cancel or this request's client going away."""

    def __init__(self, outer: threading.Event) -> None:
        super().__init__()
        self.outer = outer

    def is_set(self) -> bool:
        return super().is_set() or self.outer.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        until = time.monotonic() + (timeout or 0.0)
        while not self.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return False
            super().wait(min(left, 0.05))
        return True


def request_cancel(run_cancel: threading.Event) -> threading.Event:
    return _Either(run_cancel)


def read_chat(response: httpx.Response, guard: RequestGuard, meter: StreamMeter, emit: Emit) -> Figures:
    """An OpenAI chat completions stream: text pieces live, tool calls assembled and emitted whole."""
    figures = Figures()
    calls: dict[int, dict[str, Any]] = {}
    usage: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    done = False
    for line in iter_lines_guarded(response, guard):
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            break
        chunk = decode_json_line(data, "the server")
        if "error" in chunk:
            raise _chat_stream_error(chunk["error"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            piece = delta.get("content")
            if isinstance(piece, str) and piece:
                meter.piece(piece)
                emit(TextPiece(piece))
            reasoning = delta.get("reasoning_content")
            if isinstance(reasoning, str):
                meter.piece(reasoning)  # generated tokens too (first-token time), but not the answer
            for fragment in delta.get("tool_calls") or []:
                index = as_int(fragment.get("index")) or 0
                call = calls.setdefault(index, {"id": None, "name": "", "arguments": []})
                call["id"] = fragment.get("id") or call["id"]
                function = fragment.get("function") or {}
                if function.get("name"):
                    call["name"] += str(function["name"])
                    meter.piece(str(function["name"]))
                if function.get("arguments"):
                    call["arguments"].append(str(function["arguments"]))
                    meter.piece(str(function["arguments"]))
            figures.finish_reason = choice.get("finish_reason") or figures.finish_reason
        if isinstance(chunk.get("usage"), dict):
            usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):  # llama.cpp's own counts and clocks, on its last chunk
            timings = chunk["timings"]
    if not done:
        raise ProviderError("bad_response", "the stream ended before [DONE]", retryable=True)
    figures.prompt_tokens = as_int(usage.get("prompt_tokens"))
    figures.completion_tokens = as_int(usage.get("completion_tokens"))
    # The prompt cache and the prompt's processing time read as benchtui's own loop reads them
    # (providers/openai.py): OpenAI's cached_tokens, else llama.cpp's cache_n; llama.cpp's prompt_ms.
    figures.cached_tokens = cached_tokens(usage, timings)
    prompt_ms = as_float(timings.get("prompt_ms"))
    figures.prompt_eval_s = prompt_ms / 1000 if prompt_ms is not None else None
    figures.server_tokens = as_int(timings.get("predicted_n"))
    predicted_ms = as_float(timings.get("predicted_ms"))
    figures.server_s = predicted_ms / 1000 if predicted_ms else None
    for index in sorted(calls):
        call = calls[index]
        emit(
            ToolCall(
                id=call["id"] or f"call_{index}_{id(call):x}",
                name=call["name"],
                arguments="".join(call["arguments"]) or "{}",
            )
        )
    return figures


def _chat_stream_error(error: Any) -> ProviderError:
    message = error.get("message") if isinstance(error, dict) else str(error)
    kind = str(error.get("type") or "") if isinstance(error, dict) else ""
    if "rate" in kind:
        return ProviderError("rate_limited", str(message), retryable=True)
    return ProviderError("server_error", f"error mid-stream: {message}", retryable=True)


def read_anthropic(response: httpx.Response, guard: RequestGuard, meter: StreamMeter, emit: Emit) -> Figures:
    """An Anthropic messages stream: text pieces live, each tool_use block emitted when it closes."""
    figures = Figures()
    usage: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    stopped = False
    for event, data in iter_sse(response, guard):
        kind = str(data.get("type") or event)
        if kind == "error" or event == "error":
            raise stream_error(data.get("error"))
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                usage.update(message["usage"])
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                blocks[as_int(data.get("index")) or 0] = {"id": block.get("id"), "name": block.get("name"), "json": []}
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                meter.piece(delta["text"])
                emit(TextPiece(delta["text"]))
            elif delta.get("type") == "input_json_delta":
                piece = str(delta.get("partial_json") or "")
                meter.piece(piece)
                block = blocks.get(as_int(data.get("index")) or 0)
                if block is not None:
                    block["json"].append(piece)
            elif delta.get("type") == "thinking_delta":
                meter.piece(str(delta.get("thinking") or ""))
        elif kind == "content_block_stop":
            block = blocks.pop(as_int(data.get("index")) or 0, None)
            if block is not None:
                emit(ToolCall(id=str(block["id"]), name=str(block["name"]), arguments="".join(block["json"]) or "{}"))
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                reason = str(delta["stop_reason"])
                figures.finish_reason = _ANTHROPIC_FINISH.get(reason, reason)
            if isinstance(data.get("usage"), dict):
                usage.update({k: v for k, v in data["usage"].items() if v is not None})
        elif kind == "message_stop":
            stopped = True
            break
    if not stopped:
        raise ProviderError("bad_response", "the stream ended before message_stop", retryable=True)
    base = as_int(usage.get("input_tokens"))
    if base is not None:
        # Every prompt token the model read: uncached input plus cache writes and reads.
        figures.cache_write_tokens = as_int(usage.get("cache_creation_input_tokens"))
        figures.cached_tokens = as_int(usage.get("cache_read_input_tokens"))
        figures.prompt_tokens = base + (figures.cache_write_tokens or 0) + (figures.cached_tokens or 0)
    figures.completion_tokens = as_int(usage.get("output_tokens"))
    return figures


READERS = {CHAT: read_chat, ANTHROPIC: read_anthropic}


def forward(
    provider: Provider,
    path: str,
    body: dict[str, Any],
    reader: Callable[[httpx.Response, RequestGuard, StreamMeter, Emit], Figures],
    *,
    emit: Emit,
    restart: Callable[[], None],
    committed: Callable[[], bool],
    cancel: threading.Event,
    deadline: float | None,
    slots: threading.Semaphore | None,
) -> Forwarded:
    """Send ``body`` and read the reply into ``emit``, retrying as ``Provider.chat`` does.

    ``restart`` is called before each attempt (the caller drops what a failed attempt emitted);
    ``committed`` says whether the client already has part of the reply (no retry then)."""
    policy = provider.policy
    attempt = 0
    queue_s = 0.0
    failed: list[str] = []

    def fail(error: ProviderError) -> UpstreamFailure:
        error.attempts = max(attempt, 1)
        failed.append(error.kind)
        return UpstreamFailure(error, failed, queue_s)

    while True:
        attempt += 1
        if cancel.is_set():
            raise fail(ProviderError("cancelled", "cancelled before the request"))
        request_deadline = time.monotonic() + policy.request_deadline_s
        if deadline is not None:
            request_deadline = min(request_deadline, deadline)
        if request_deadline <= time.monotonic():
            raise fail(ProviderError("timeout", "the run's deadline has passed: no time left for a request"))
        waited = time.monotonic()
        if slots is not None and not _acquire(slots, cancel, request_deadline):
            queue_s += time.monotonic() - waited
            kind = "cancelled" if cancel.is_set() else "timeout"
            raise fail(ProviderError(kind, "no request slot of the model's server came free before the deadline"))
        queue_s += time.monotonic() - waited
        try:
            restart()
            meter = StreamMeter(None)
            with RequestGuard(cancel, request_deadline) as guard, provider.stream(path, body, guard) as response:
                figures = reader(response, guard, meter, emit)
            reply = meter.reply(
                prompt_tokens=figures.prompt_tokens,
                completion_tokens=figures.completion_tokens,
                server_tokens=figures.server_tokens,
                server_s=figures.server_s,
                finish_reason=figures.finish_reason,
                cached_prompt_tokens=figures.cached_tokens,
                cache_write_tokens=figures.cache_write_tokens,
                prompt_eval_s=figures.prompt_eval_s,
            )
            reply.attempts = attempt
            return Forwarded(reply, attempt, failed, queue_s)
        except ProviderError as error:
            if committed() or (error.kind in ("cancelled", "timeout") and not error.retryable):
                raise fail(error) from None
            if attempt > policy.max_retries or not provider.should_retry(error):
                raise fail(error) from None
            delay = policy.backoff(attempt)
            if error.retry_after_s is not None:
                if error.retry_after_s > policy.max_retry_after_s:
                    raise fail(
                        error.with_note(
                            f"the server asked to retry after {error.retry_after_s:g} s, "
                            f"above the {policy.max_retry_after_s:g} s cap"
                        )
                    ) from None
                delay = max(delay, error.retry_after_s)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise fail(error) from None
            failed.append(error.kind)
            if cancel.wait(delay):
                raise fail(ProviderError("cancelled", "cancelled during a retry wait")) from None
        finally:
            if slots is not None:
                slots.release()


def _acquire(slots: threading.Semaphore, cancel: threading.Event, until: float) -> bool:
    while not cancel.is_set():
        left = until - time.monotonic()
        if left <= 0:
            return False
        if slots.acquire(timeout=min(left, 0.1)):
            return True
    return False
