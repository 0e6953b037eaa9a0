"""OpenAI-compatible chat completions: OpenAI itself, vLLM, LM Studio, OpenRouter, Groq, llama.cpp.

Streams ``/chat/completions`` with ``stream_options.include_usage`` so token counts come from the
server; llama.cpp's extra ``timings`` object, when present, gives the server's own decode speed.
``base_url`` includes the version prefix (``https://api.openai.com/v1``).
"""

from __future__ import annotations

from typing import Any

import httpx

from benchtui.engine.providers.base import (
    ChatMessage,
    ChatReply,
    Provider,
    ProviderError,
    RequestGuard,
    StreamMeter,
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
        elif "max_tokens" in settings:
            body["max_tokens"] = settings["max_tokens"]
        if seed is not None:
            body["seed"] = seed  # OpenAI's and llama.cpp's field: each repeat a new sample
        meter = StreamMeter(on_token)
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
        if not done:
            raise ProviderError("bad_response", "the stream ended before [DONE]", retryable=True)
        predicted_ms = as_float(timings.get("predicted_ms"))
        # llama.cpp's timings: its own count and clock of the decode loop.
        return meter.reply(
            prompt_tokens=as_int(usage.get("prompt_tokens")),
            completion_tokens=as_int(usage.get("completion_tokens")),
            server_tokens=as_int(timings.get("predicted_n")),
            server_s=predicted_ms / 1000 if predicted_ms else None,
            finish_reason=finish_reason,
            raw_usage={"usage": usage, "timings": timings} if timings else {"usage": usage},
        )


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
