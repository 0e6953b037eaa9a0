"""Anthropic messages in and out (Claude Code speaks it).

Reading: the top-level ``system`` becomes a system message; an assistant turn's ``tool_use`` blocks become
``tool_calls``; a user turn's ``tool_result`` blocks become tool messages, placed before the turn's own
text as the chat dialect wants. Thinking blocks and images have no chat equivalent and are left out of
the translation (an Anthropic upstream is sent the client's own body, which keeps them). Server tools
(web search and the like, which have no ``input_schema``) are not offered to the model.

Writing: ``message_start``, one content block per text run or tool call, ``message_delta`` with the stop
reason and the counts, ``message_stop``; errors mid-stream as ``event: error``.
"""

from __future__ import annotations

import json
import secrets as random_ids
from typing import Any

from benchtui.engine.gateway import sse
from benchtui.engine.gateway.canonical import (
    LENGTH,
    STOP,
    TOOL_CALLS,
    BadRequest,
    ModelRequest,
    Outcome,
    Tool,
    ToolCall,
    arguments_object,
    as_dict,
    as_list,
    positive_int,
    text_of,
)

NAME = "anthropic"
_STOP_REASONS = {STOP: "end_turn", LENGTH: "max_tokens", TOOL_CALLS: "tool_use"}
# The error type Anthropic's clients expect for each status the gateway answers with.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    504: "timeout_error",
}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [as_dict(b) for b in as_list(content)]


def parse(body: dict[str, Any]) -> ModelRequest:
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise BadRequest("'messages' must be a non-empty list")
    messages: list[dict[str, Any]] = []
    system = text_of(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for raw in raw_messages:
        message = as_dict(raw)
        role = message.get("role")
        if role == "system":  # Claude Code sends some (not the API's own shape): they are system text
            messages.append({"role": "system", "content": text_of(message.get("content"))})
            continue
        if role not in ("user", "assistant"):
            raise BadRequest(f"unknown message role {role!r}")
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        for block in _blocks(message.get("content")):
            kind = block.get("type")
            if kind == "text":
                texts.append(str(block.get("text") or ""))
            elif kind == "tool_use" and role == "assistant":
                calls.append(
                    {
                        "id": str(block.get("id") or ""),
                        "type": "function",
                        "function": {
                            "name": str(block.get("name") or ""),
                            "arguments": json.dumps(block.get("input") or {}),
                        },
                    }
                )
            elif kind == "tool_result":
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": str(block.get("tool_use_id") or ""),
                        "content": text_of(block.get("content")),
                    }
                )
        if role == "assistant":
            turn: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
            if calls:
                turn["tool_calls"] = calls
            messages.append(turn)
        elif texts:
            messages.append({"role": "user", "content": "".join(texts)})
    tools = [
        Tool(name=t["name"], description=str(t.get("description") or ""), parameters=as_dict(t.get("input_schema")))
        for t in map(as_dict, as_list(body.get("tools")))
        if isinstance(t.get("name"), str) and "input_schema" in t
    ]
    choice = as_dict(body.get("tool_choice"))
    tool_choice: Any = {"auto": "auto", "any": "required", "none": "none"}.get(str(choice.get("type")))
    if choice.get("type") == "tool":
        tool_choice = {"type": "function", "function": {"name": choice.get("name")}}
    params: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p") if k in body}
    if body.get("stop_sequences"):
        params["stop"] = list(as_list(body["stop_sequences"]))
    return ModelRequest(
        dialect=NAME,
        body=body,
        messages=messages,
        tools=tools,
        tool_choice=tool_choice,
        max_tokens=positive_int(body.get("max_tokens")),
        stream=bool(body.get("stream")),
        params=params,
    )


def _content(outcome: Outcome) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = [{"type": "text", "text": outcome.text}] if outcome.text else []
    for call in outcome.tool_calls:
        content.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": arguments_object(call.arguments)}
        )
    return content


def _usage(outcome: Outcome) -> dict[str, Any]:
    # Anthropic's schema has no "unknown": an upstream that reported no counts is sent 0, and these are
    # the client's figures only (benchtui's own come from the gateway's meter, which keeps None).
    usage: dict[str, Any] = {
        "input_tokens": outcome.prompt_tokens or 0,
        "output_tokens": outcome.completion_tokens or 0,
    }
    if outcome.cached_tokens is not None:
        usage["cache_read_input_tokens"] = outcome.cached_tokens
        usage["input_tokens"] = max(usage["input_tokens"] - outcome.cached_tokens, 0)
    return usage


def render(outcome: Outcome, model: str) -> dict[str, Any]:
    return {
        "id": f"msg_{random_ids.token_hex(12)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _content(outcome),
        "stop_reason": _STOP_REASONS.get(outcome.finish_reason or STOP, outcome.finish_reason),
        "stop_sequence": None,
        "usage": _usage(outcome),
    }


def error_body(status: int, kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}


class Encoder:
    """One streamed reply as Anthropic's named events."""

    def __init__(self, model: str, request: ModelRequest) -> None:
        self.model = model
        self.id = f"msg_{random_ids.token_hex(12)}"
        self._index = 0
        self._text_open = False

    def start(self) -> bytes:
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # The counts are known only at the end (chat upstreams report them last): message_delta has them.
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return sse.named("message_start", {"type": "message_start", "message": message})

    def text(self, piece: str) -> bytes:
        out = b""
        if not self._text_open:
            self._text_open = True
            block = {"type": "text", "text": ""}
            out += sse.named(
                "content_block_start", {"type": "content_block_start", "index": self._index, "content_block": block}
            )
        delta = {"type": "text_delta", "text": piece}
        return out + sse.named(
            "content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta}
        )

    def _close(self) -> bytes:
        out = sse.named("content_block_stop", {"type": "content_block_stop", "index": self._index})
        self._index += 1
        return out

    def tool_call(self, call: ToolCall) -> bytes:
        out = b""
        if self._text_open:
            self._text_open = False
            out += self._close()
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        out += sse.named(
            "content_block_start", {"type": "content_block_start", "index": self._index, "content_block": block}
        )
        delta = {"type": "input_json_delta", "partial_json": call.arguments}
        out += sse.named("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})
        return out + self._close()

    def finish(self, outcome: Outcome) -> bytes:
        out = b""
        if self._text_open:
            self._text_open = False
            out += self._close()
        delta = {
            "stop_reason": _STOP_REASONS.get(outcome.finish_reason or STOP, outcome.finish_reason),
            "stop_sequence": None,
        }
        out += sse.named("message_delta", {"type": "message_delta", "delta": delta, "usage": _usage(outcome)})
        return out + sse.named("message_stop", {"type": "message_stop"})

    def fail(self, status: int, kind: str, message: str) -> bytes:
        return sse.named("error", error_body(status, kind, message))
