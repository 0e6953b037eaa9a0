"""Ollama's native API: streaming ``/api/chat`` (NDJSON), plus ``/api/tags`` and ``/api/show`` for discovery.

Native rather than Ollama's ``/v1``: only the native API honours ``options.num_ctx`` and reports the
server's own nanosecond timings (load, prompt eval, eval) in the final ``done`` chunk.
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
    as_int,
    decode_json_line,
    error_message,
    iter_lines_guarded,
)

NS = 1e9
# No tokenizer maps fewer than this many bytes of ordinary text or code to one token (real ones average
# 3 to 4.5), so ``bytes / 8`` is a safe lower bound on a prompt's token count.
MAX_BYTES_PER_TOKEN = 8


def ollama_options(settings: dict[str, Any]) -> dict[str, Any]:
    """Map benchtui's generation settings to Ollama ``options``."""
    options: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "max_tokens":
            options["num_predict"] = value
        elif key in ("temperature", "top_p", "top_k", "seed", "num_ctx", "stop", "repeat_penalty"):
            options[key] = value
    return options


class OllamaProvider(Provider):
    dialect = "ollama"

    def _classify_status(self, response: httpx.Response) -> ProviderError:
        error = super()._classify_status(response)
        message = error_message(response)
        if response.status_code == 500 and "more system memory" in message:
            # The host cannot load the model: an infrastructure limit, retrying will not help.
            return ProviderError("server_error", f"HTTP 500: {message}", status=500)
        return error

    def _attempt(
        self, messages: list[ChatMessage], on_token: TokenCallback | None, guard: RequestGuard, seed: int | None
    ) -> ChatReply:
        options = ollama_options(dict(self.spec.settings))
        if seed is not None:
            options["seed"] = seed  # each repeat a new sample
        body = {"model": self.spec.name, "messages": messages, "stream": True, "options": options}
        meter = StreamMeter(on_token)
        final: dict[str, Any] | None = None
        with self.stream("/api/chat", body, guard) as response:
            for line in iter_lines_guarded(response, guard):
                if not line.strip():
                    continue
                chunk = decode_json_line(line, "Ollama")
                if "error" in chunk:
                    raise _stream_error(str(chunk["error"]))
                meter.piece((chunk.get("message") or {}).get("content") or "")
                if chunk.get("done"):
                    final = chunk
                    break
        if final is None:
            raise ProviderError("bad_response", "the stream ended before Ollama's final done chunk", retryable=True)
        truncated = prompt_truncation(messages, self.spec.settings.get("num_ctx"), final.get("prompt_eval_count"))
        if truncated is not None:
            raise ProviderError("context_truncated", truncated)
        eval_count = as_int(final.get("eval_count"))
        eval_ns = as_int(final.get("eval_duration"))
        load_ns = as_int(final.get("load_duration"))
        return meter.reply(
            prompt_tokens=as_int(final.get("prompt_eval_count")),
            completion_tokens=eval_count,
            server_tokens=eval_count,
            server_s=eval_ns / NS if eval_ns else None,
            load_time_s=load_ns / NS if load_ns is not None else None,
            finish_reason=final.get("done_reason"),
            raw_usage={
                k: final.get(k)
                for k in (
                    "total_duration",
                    "load_duration",
                    "prompt_eval_count",
                    "prompt_eval_duration",
                    "eval_count",
                    "eval_duration",
                )
                if k in final
            },
        )


def prompt_truncation(messages: list[ChatMessage], num_ctx: Any, prompt_eval_count: Any) -> str | None:
    """Why Ollama must have cut the prompt (it does so silently, with 200 OK), or None.

    Only claimed on proof: ``num_ctx`` is set in the model's settings and even the most generous
    tokenisation of the prompt (``MAX_BYTES_PER_TOKEN``) needs more tokens than that, and the server's
    ``prompt_eval_count`` does not contradict it. Without a configured ``num_ctx`` nothing is claimed:
    the server's runtime context (4k to 256k by VRAM, or a Modelfile value) is not visible to the client,
    and ``prompt_eval_count`` alone cannot tell, as it leaves out the prefix reused from the KV cache, so
    a long conversation evaluates few new tokens without being truncated.
    """
    if isinstance(num_ctx, bool) or not isinstance(num_ctx, int) or num_ctx <= 0:
        return None
    size = sum(len(m["content"].encode("utf-8")) for m in messages)
    at_least = size // MAX_BYTES_PER_TOKEN
    if at_least <= num_ctx:
        return None
    evaluated = as_int(prompt_eval_count)
    if evaluated is not None and evaluated >= at_least:
        return None
    return (
        f"the prompt ({size} bytes, at least {at_least} tokens) does not fit num_ctx={num_ctx}; Ollama "
        f"evaluated {evaluated if evaluated is not None else 'an unknown number of'} prompt tokens and "
        "dropped the rest (raise settings.num_ctx)"
    )


def _stream_error(message: str) -> ProviderError:
    """An ``{"error": ...}`` line under a 200 status: classify by its text."""
    lowered = message.lower()
    if "not found" in lowered:
        return ProviderError("model_not_found", message)
    if "busy" in lowered or "try again" in lowered:
        return ProviderError("server_error", message, retryable=True)
    return ProviderError("server_error", f"Ollama error mid-stream: {message}", retryable=True)


def list_models(client: httpx.Client, host: str) -> list[dict[str, Any]]:
    """``GET /api/tags``: the models installed on an Ollama server."""
    response = client.get(f"{host}/api/tags")
    response.raise_for_status()
    models = response.json().get("models") or []
    return [m for m in models if isinstance(m, dict) and m.get("name")]


def show_model(client: httpx.Client, host: str, name: str) -> dict[str, Any]:
    """``POST /api/show``: family, parameter size, quantization of one model ({} when unknown)."""
    response = client.post(f"{host}/api/show", json={"model": name})
    if response.status_code != 200:
        return {}
    body = response.json()
    return body if isinstance(body, dict) else {}


def server_version(client: httpx.Client, host: str) -> str | None:
    try:
        response = client.get(f"{host}/api/version")
        version = response.json().get("version") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return str(version) if version else None
