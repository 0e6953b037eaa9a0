"""Anthropic's Messages API: streaming ``POST /v1/messages`` (server-sent events), plus ``GET /v1/models``.

Spoken by api.anthropic.com and by llama.cpp's server (the embedded models), so the same class runs a
commercial Claude model and a local one. The dialect's particulars:

* the system prompt is a top-level ``system`` field, not a message; ``max_tokens`` is mandatory;
* auth is ``x-api-key`` plus a pinned ``anthropic-version`` header;
* a request can fail *after* its 200 status: the stream then carries ``event: error`` (overloaded,
  rate limited, internal), which is typed like the matching HTTP status so the shared retry layer
  treats both the same way;
* the answer is complete only at ``message_stop``; a stream that ends before it is retried whole.

``base_url`` is the API root (``https://api.anthropic.com``); a trailing ``/v1`` is accepted too, since
OpenAI-style base URLs carry one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import (
    ChatMessage,
    ChatReply,
    Provider,
    ProviderError,
    RequestGuard,
    RetryPolicy,
    StreamMeter,
    TokenCallback,
    as_int,
    decode_json_line,
    error_message,
)

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
# Anthropic's stop reasons in the vocabulary the other dialects use, so results compare across providers.
_FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
# In-stream error types -> (error kind, retryable), mirroring the HTTP statuses they stand for
# (overloaded_error is HTTP 529, rate_limit_error 429, api_error 500, timeout_error 504).
_STREAM_ERRORS: dict[str, tuple[str, bool]] = {
    "overloaded_error": ("server_error", True),
    "rate_limit_error": ("rate_limited", True),
    "api_error": ("server_error", True),
    "timeout_error": ("timeout", True),
    "authentication_error": ("auth", False),
    "permission_error": ("auth", False),
    "not_found_error": ("model_not_found", False),
    "invalid_request_error": ("bad_request", False),
    "request_too_large": ("bad_request", False),
}


def api_root(base_url: str) -> str:
    """``https://api.anthropic.com`` from either that or ``https://api.anthropic.com/v1``."""
    root = base_url.rstrip("/")
    return root.removesuffix("/v1")


def auth_headers(api_key: str | None) -> dict[str, str]:
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return headers


def to_anthropic(messages: list[ChatMessage]) -> tuple[str | None, list[dict[str, str]]]:
    """Split a conversation into Anthropic's top-level ``system`` and its alternating ``messages``.

    System messages are pulled out (joined when there are several); consecutive messages of the same
    role are merged, since the API wants user and assistant turns to alternate."""
    system: list[str] = []
    turns: list[dict[str, str]] = []
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "system":
            system.append(content)
            continue
        role = "assistant" if role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + content
        else:
            turns.append({"role": role, "content": content})
    if turns and turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(continue)"})
    return ("\n\n".join(system) if system else None), turns


def request_body(spec: ModelSpec, messages: list[ChatMessage]) -> dict[str, Any]:
    settings = dict(spec.settings)
    system, turns = to_anthropic(messages)
    body: dict[str, Any] = {
        "model": spec.name,
        "max_tokens": int(settings.get("max_tokens") or DEFAULT_MAX_TOKENS),
        "messages": turns,
        "stream": True,
    }
    if system is not None:
        body["system"] = system
    for key in ("temperature", "top_p", "top_k"):
        if key in settings:
            body[key] = settings[key]
    stop = settings.get("stop")
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    return body


class AnthropicProvider(Provider):
    dialect = "anthropic"

    def __init__(self, spec: ModelSpec, *, base_url: str, policy: RetryPolicy | None = None) -> None:
        super().__init__(spec, base_url=api_root(base_url), policy=policy)

    def headers(self) -> dict[str, str]:
        return {**super().headers(), **auth_headers(self.spec.api_key)}

    def _classify_status(self, response: httpx.Response) -> ProviderError:
        error = super()._classify_status(response)
        message = error_message(response).lower()
        if response.status_code in (400, 413) and (
            "prompt is too long" in message or "too many tokens" in message or "context window" in message
        ):
            return ProviderError("context_truncated", error.message, status=response.status_code)
        return error

    def _attempt(
        self, messages: list[ChatMessage], on_token: TokenCallback | None, guard: RequestGuard, seed: int | None
    ) -> ChatReply:
        del seed  # the Messages API takes no seed (engine/seeds.py records null for these runs)
        body = request_body(self.spec, messages)
        meter = StreamMeter(on_token)
        usage: dict[str, Any] = {}
        stop_reason: str | None = None
        stopped = False
        with self.stream("/v1/messages", body, guard) as response:
            for event, data in iter_sse(response, guard):
                kind = str(data.get("type") or event)
                if kind == "error" or event == "error":
                    raise stream_error(data.get("error"))
                if kind == "message_start":
                    message = data.get("message")
                    if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                        usage.update(message["usage"])
                elif kind == "content_block_delta":
                    delta = data.get("delta") or {}
                    piece = delta.get("text") if isinstance(delta, dict) else None
                    if isinstance(piece, str):
                        meter.piece(piece)
                elif kind == "message_delta":
                    delta = data.get("delta") or {}
                    if isinstance(delta, dict) and delta.get("stop_reason"):
                        stop_reason = str(delta["stop_reason"])
                    if isinstance(data.get("usage"), dict):
                        # Cumulative counts; newer servers repeat input_tokens here too.
                        usage.update({k: v for k, v in data["usage"].items() if v is not None})
                elif kind == "message_stop":
                    stopped = True
                    break
                # ping, content_block_start/stop and unknown future events carry nothing we need.
        if not stopped:
            raise ProviderError("bad_response", "the stream ended before message_stop", retryable=True)
        # Anthropic's API reports no timings (neither does llama.cpp's /v1/messages): the client clock only.
        return meter.reply(
            prompt_tokens=_prompt_tokens(usage),
            completion_tokens=as_int(usage.get("output_tokens")),
            finish_reason=_FINISH_REASONS.get(stop_reason or "", stop_reason),
            raw_usage={"usage": usage, "stop_reason": stop_reason},
        )


def iter_sse(response: httpx.Response, guard: RequestGuard) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-sent events as (event name, decoded JSON data), checking the guard between lines."""
    event = ""
    data: list[str] = []
    for line in response.iter_lines():
        guard.check()
        if not line:
            if data:
                yield event or "message", decode_json_line("\n".join(data), "the server")
            event, data = "", []
        elif line.startswith(":"):
            continue  # an SSE comment (keep-alive)
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    guard.check()
    if data:
        yield event or "message", decode_json_line("\n".join(data), "the server")


def stream_error(error: Any) -> ProviderError:
    """An ``event: error`` under a 200 status, typed like the HTTP status it stands for."""
    error_type = str(error.get("type") or "") if isinstance(error, dict) else ""
    message = str(error.get("message") or error_type) if isinstance(error, dict) else str(error)
    kind, retryable = _STREAM_ERRORS.get(error_type, ("server_error", True))
    if error_type == "invalid_request_error" and "prompt is too long" in message.lower():
        kind = "context_truncated"
    return ProviderError(kind, f"error mid-stream ({error_type or 'unknown'}): {message}", retryable=retryable)


def _prompt_tokens(usage: dict[str, Any]) -> int | None:
    """Every prompt token the model read: uncached input plus cache writes and reads."""
    base = as_int(usage.get("input_tokens"))
    if base is None:
        return None
    cached = sum(as_int(usage.get(k)) or 0 for k in ("cache_creation_input_tokens", "cache_read_input_tokens"))
    return base + cached


def list_models(client: httpx.Client, base_url: str, api_key: str | None) -> list[str]:
    """``GET /v1/models``: the model ids the server offers (first page, up to 1000)."""
    response = client.get(f"{api_root(base_url)}/v1/models", params={"limit": 1000}, headers=auth_headers(api_key))
    response.raise_for_status()
    data = response.json().get("data") or []
    return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")]
