"""OpenAI chat completions in and out (aider, Continue, opencode, mini-swe-agent speak it).

Reading is nearly the identity: the gateway's own shape is this dialect's. Writing streams
``chat.completion.chunk`` events ending in ``data: [DONE]``, with a usage chunk when the client asked for
one (``stream_options.include_usage``) and the upstream reported its counts.
"""

from __future__ import annotations

import secrets as random_ids
import time
from typing import Any

from benchtui.engine.gateway import sse
from benchtui.engine.gateway.canonical import (
    BadRequest,
    ModelRequest,
    Outcome,
    Tool,
    ToolCall,
    as_dict,
    as_list,
    positive_int,
)

NAME = "openai-chat"
PARAMS = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")


def parse(body: dict[str, Any]) -> ModelRequest:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list")
    read: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest("each message must be an object with a 'role'")
        copy = dict(message)
        if copy["role"] == "developer":  # OpenAI's newer name for the system role
            copy["role"] = "system"
        read.append(copy)
    tools = []
    for tool in as_list(body.get("tools")):
        function = as_dict(as_dict(tool).get("function"))
        if as_dict(tool).get("type") == "function" and isinstance(function.get("name"), str):
            tools.append(
                Tool(
                    name=function["name"],
                    description=str(function.get("description") or ""),
                    parameters=as_dict(function.get("parameters")),
                )
            )
    params = {k: body[k] for k in PARAMS if k in body}
    stop = body.get("stop")
    if stop:
        params["stop"] = [stop] if isinstance(stop, str) else list(stop)
    return ModelRequest(
        dialect=NAME,
        body=body,
        messages=read,
        tools=tools,
        tool_choice=body.get("tool_choice"),
        max_tokens=positive_int(body.get("max_completion_tokens")) or positive_int(body.get("max_tokens")),
        stream=bool(body.get("stream")),
        params=params,
    )


def _usage(outcome: Outcome) -> dict[str, Any] | None:
    if outcome.prompt_tokens is None or outcome.completion_tokens is None:
        return None  # unknown stays unknown: no invented zeros for the client either
    usage: dict[str, Any] = {
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
    }
    if outcome.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": outcome.cached_tokens}
    return usage


def _call(call: ToolCall, index: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }
    if index is not None:
        item["index"] = index
    return item


def render(outcome: Outcome, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": outcome.text or None}
    if outcome.tool_calls:
        message["tool_calls"] = [_call(c) for c in outcome.tool_calls]
    body: dict[str, Any] = {
        "id": f"chatcmpl-{random_ids.token_hex(8)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": outcome.finish_reason}],
    }
    usage = _usage(outcome)
    if usage is not None:
        body["usage"] = usage
    return body


def error_body(status: int, kind: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": kind}}


class Encoder:
    """One streamed reply in chat-completion chunks."""

    def __init__(self, model: str, request: ModelRequest) -> None:
        self.model = model
        self.id = f"chatcmpl-{random_ids.token_hex(8)}"
        self.created = int(time.time())
        self.include_usage = bool(as_dict(request.body.get("stream_options")).get("include_usage"))
        self._calls = 0

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse.data(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    def start(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def text(self, piece: str) -> bytes:
        return self._chunk({"content": piece})

    def tool_call(self, call: ToolCall) -> bytes:
        self._calls += 1
        return self._chunk({"tool_calls": [_call(call, self._calls - 1)]})

    def finish(self, outcome: Outcome) -> bytes:
        out = self._chunk({}, outcome.finish_reason)
        usage = _usage(outcome)
        if self.include_usage and usage is not None:
            out += sse.data(
                {
                    "id": self.id,
                    "object": "chat.completion.chunk",
                    "created": self.created,
                    "model": self.model,
                    "choices": [],
                    "usage": usage,
                }
            )
        return out + sse.data("[DONE]")

    def fail(self, status: int, kind: str, message: str) -> bytes:
        # OpenAI's own mid-stream error shape; no [DONE] follows, so no client takes the reply as whole.
        return sse.data(error_body(status, kind, message))
