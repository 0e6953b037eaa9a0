"""OpenAI-compatible chat completions: OpenAI itself, vLLM, LM Studio, OpenRouter, Groq, llama.cpp.

Streams ``/chat/completions`` with ``stream_options.include_usage`` so token counts come from the
server; llama.cpp's extra ``timings`` object, when present, gives the server's own decode speed, its
prompt-processing time and the prompt tokens it reused from its cache (``cache_n``; OpenAI's own API says
``usage.prompt_tokens_details.cached_tokens``). ``base_url`` includes the version prefix
(``https://api.openai.com/v1``).

To benchtui's own llama.cpp servers (``provider: embedded``) it also sends ``cache_prompt`` (reuse the
slot's cached prefix: each turn re-sends the whole conversation, so only the new turn is processed) and
``timings_per_token`` (timings on every chunk, so a reply stopped as a runaway still has the server's
counts). Both are llama.cpp's own fields; OpenAI's API refuses unknown ones, so no other server gets them.
"""

from __future__ import annotations

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
    TokenCallback,
    as_float,
    as_int,
    decode_json_line,
    error_message,
    iter_lines_guarded,
)

_PASSED_SETTINGS = ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")


class OpenAIProvider(Provider):
    dialect = "openai"

    def __init__(self, spec: ModelSpec, *, base_url: str, policy: RetryPolicy | None = None) -> None:
        super().__init__(spec, base_url=base_url, policy=policy)
        self.llama_cpp = spec.provider == "embedded"
        # Whether an embedded server reuses its cached prompt prefix (off only to measure what it saves).
        self.cache_prompt = True

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.spec.api_key:
            headers["authorization"] = f"Bearer {self.spec.api_key}"
        return headers

    def _classify_status(self, response: httpx.Response) -> ProviderError:
        error = super()._classify_status(response)
        message = error_message(response).lower()
        if response.status_code == 429 and (
            "insufficient_quota" in message
            or "exceeded your current quota" in message
            or "insufficient_quota" in response.text
        ):
            # Out of credit, not out of breath: no wait makes this succeed.
            return ProviderError("rate_limited", f"{error.message} (quota exhausted: not retried)", status=429)
        if response.status_code == 400 and (
            "context length" in message
            or "context_length" in message
            or "too many tokens" in message
            or "exceeds the" in message
        ):
            return ProviderError("context_truncated", error.message, status=400)
        if response.status_code == 404 and "model" not in message:
            return ProviderError("model_not_found", f"{error.message} (is base_url right? {self.base_url})", status=404)
        return error

    def _attempt(
        self, messages: list[ChatMessage], on_token: TokenCallback | None, guard: RequestGuard, seed: int | None
    ) -> ChatReply:
        settings = dict(self.spec.settings)
        body: dict[str, Any] = {
            "model": self.spec.name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        body.update({k: settings[k] for k in _PASSED_SETTINGS if k in settings})
        if "max_completion_tokens" in settings:
            # OpenAI's reasoning models refuse max_tokens and want this one instead.
            body["max_completion_tokens"] = settings["max_completion_tokens"]
        else:
            body["max_tokens"] = self.output_cap()
        if seed is not None:
            body["seed"] = seed  # OpenAI's and llama.cpp's field: each repeat a new sample
        if self.llama_cpp:
            body["cache_prompt"] = self.cache_prompt
            body["timings_per_token"] = True
        meter = self.meter(on_token)
        usage: dict[str, Any] = {}
        timings: dict[str, Any] = {}
        finish_reason: str | None = None
        done = False
        with self.stream("/chat/completions", body, guard) as response:
            for line in iter_lines_guarded(response, guard):
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                chunk = decode_json_line(data, "the server")
                if "error" in chunk:
                    raise _stream_error(chunk["error"])
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    meter.piece(delta.get("content") or "")
                    finish_reason = choice.get("finish_reason") or finish_reason
                if isinstance(chunk.get("usage"), dict):
                    usage = chunk["usage"]
                if isinstance(chunk.get("timings"), dict):
                    timings = chunk["timings"]
                if meter.runaway is not None:
                    break  # leaving the stream closes the connection: llama.cpp stops generating
        if not done and meter.runaway is None:
            raise ProviderError("bad_response", "the stream ended before [DONE]", retryable=True)
        predicted_ms = as_float(timings.get("predicted_ms"))
        prompt_ms = as_float(timings.get("prompt_ms"))
        # llama.cpp's timings: its own count and clock of the decode loop and of the prompt. They also stand
        # in for the usage a reply stopped as a runaway never received.
        prompt_tokens = as_int(usage.get("prompt_tokens"))
        if prompt_tokens is None and as_int(timings.get("prompt_n")) is not None:
            prompt_tokens = (as_int(timings.get("prompt_n")) or 0) + (as_int(timings.get("cache_n")) or 0)
        completion_tokens = as_int(usage.get("completion_tokens"))
        if completion_tokens is None:
            completion_tokens = as_int(timings.get("predicted_n"))
        return meter.reply(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            server_tokens=as_int(timings.get("predicted_n")),
            server_s=predicted_ms / 1000 if predicted_ms else None,
            finish_reason=finish_reason,
            raw_usage={"usage": usage, "timings": timings} if timings else {"usage": usage},
            cached_prompt_tokens=cached_tokens(usage, timings),
            prompt_eval_s=prompt_ms / 1000 if prompt_ms is not None else None,
        )


def cached_tokens(usage: dict[str, Any], timings: dict[str, Any]) -> int | None:
    """Prompt tokens served from the cache: OpenAI's ``prompt_tokens_details.cached_tokens`` (llama.cpp sends
    it too), else llama.cpp's ``timings.cache_n``; None when the server says neither."""
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and as_int(details.get("cached_tokens")) is not None:
        return as_int(details.get("cached_tokens"))
    return as_int(timings.get("cache_n"))


def _stream_error(error: Any) -> ProviderError:
    message = error.get("message") if isinstance(error, dict) else str(error)
    kind = str(error.get("type") or "") if isinstance(error, dict) else ""
    if "rate" in kind:
        return ProviderError("rate_limited", str(message), retryable=True)
    return ProviderError("server_error", f"error mid-stream: {message}", retryable=True)


def list_models(client: httpx.Client, base_url: str, api_key: str | None) -> list[str]:
    """``GET /models``: the model ids an OpenAI-compatible server offers."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    response = client.get(f"{base_url.rstrip('/')}/models", headers=headers)
    response.raise_for_status()
    data = response.json().get("data") or []
    return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")]
