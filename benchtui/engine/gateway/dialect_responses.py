"""OpenAI Responses in and out (Codex CLI speaks only this: its ``wire_api = "chat"`` is gone).

Reading turns ``instructions`` and the ``input`` items (messages, ``function_call``,
``function_call_output``) into chat messages; reasoning items and tools other than functions (web
search, namespaces, freeform "custom" tools) have no chat equivalent and are left out.

Writing follows the API's event sequence (``response.created``, ``response.output_item.added`` /
``.done`` around each item, ``response.output_text.delta``, ``response.function_call_arguments.delta``),
with one deliberate difference: a reply cut at the token limit ends with ``response.completed`` carrying
``status: "incomplete"`` rather than a ``response.incomplete`` event. Codex reads only
``response.completed`` as the end of a turn; any other ending is to it a broken stream, which it
retries, sending the model the same request again and again.
"""

from __future__ import annotations

import secrets as random_ids
import time
from typing import Any

from benchtui.engine.gateway import sse
from benchtui.engine.gateway.canonical import (
    LENGTH,
    BadRequest,
    ModelRequest,
    Outcome,
    Tool,
    ToolCall,
    as_dict,
    as_list,
    positive_int,
    text_of,
)

NAME = "openai-responses"


def _assistant(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The assistant turn a function call belongs to: the last message if it is one still open."""
    if messages and messages[-1]["role"] == "assistant":
        return messages[-1]
    turn: dict[str, Any] = {"role": "assistant", "content": None}
    messages.append(turn)
    return turn


def parse(body: dict[str, Any]) -> ModelRequest:
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": text_of(body["instructions"])})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    if not isinstance(items, list):
        raise BadRequest("'input' must be a string or a list of items")
    for raw in items:
        item = as_dict(raw)
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            role = {"developer": "system"}.get(str(item.get("role")), str(item.get("role")))
            if role not in ("system", "user", "assistant"):
                raise BadRequest(f"unknown message role {role!r}")
            messages.append({"role": role, "content": text_of(item.get("content"))})
        elif kind == "function_call":
            _assistant(messages).setdefault("tool_calls", []).append(
                {
                    "id": str(item.get("call_id") or item.get("id") or ""),
                    "type": "function",
                    "function": {"name": str(item.get("name") or ""), "arguments": str(item.get("arguments") or "{}")},
                }
            )
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": str(item.get("call_id") or ""),
                    "content": output if isinstance(output, str) else text_of(output),
                }
            )
        # reasoning, web_search_call and other item kinds carry nothing a chat model can read back.
    if not messages:
        raise BadRequest("the request has no input")
    tools = [
        Tool(name=t["name"], description=str(t.get("description") or ""), parameters=as_dict(t.get("parameters")))
        for t in map(as_dict, as_list(body.get("tools")))
        if t.get("type") == "function" and isinstance(t.get("name"), str)
    ]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    params: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p") if k in body}
    return ModelRequest(
        dialect=NAME,
        body=body,
        messages=messages,
        tools=tools,
        tool_choice=choice,
        max_tokens=positive_int(body.get("max_output_tokens")),
        stream=bool(body.get("stream")),
        params=params,
    )


def _usage(outcome: Outcome) -> dict[str, Any] | None:
    if outcome.prompt_tokens is None or outcome.completion_tokens is None:
        # Codex requires every field of a usage object it is given: none at all is the honest answer.
        return None
    return {
        "input_tokens": outcome.prompt_tokens,
        "input_tokens_details": {"cached_tokens": outcome.cached_tokens or 0},
        "output_tokens": outcome.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
    }


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else []
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def _call_item(call: ToolCall, status: str = "completed") -> dict[str, Any]:
    return {
        "id": f"fc_{call.id}",
        "type": "function_call",
        "status": status,
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments if status == "completed" else "",
    }


def _response(response_id: str, model: str, created: int, outcome: Outcome | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "model": model,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "output": [],
        "usage": None,
    }
    if outcome is not None:
        truncated = outcome.finish_reason == LENGTH
        body["status"] = "incomplete" if truncated else "completed"
        body["incomplete_details"] = {"reason": "max_output_tokens"} if truncated else None
        output = [_message_item(f"msg_{response_id}", outcome.text, "completed")] if outcome.text else []
        body["output"] = output + [_call_item(c) for c in outcome.tool_calls]
        body["usage"] = _usage(outcome)
    return body


def render(outcome: Outcome, model: str) -> dict[str, Any]:
    return _response(f"resp_{random_ids.token_hex(8)}", model, int(time.time()), outcome)


def error_body(status: int, kind: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": kind}}


class Encoder:
    """One streamed reply as Responses API events."""

    def __init__(self, model: str, request: ModelRequest) -> None:
        self.model = model
        self.id = f"resp_{random_ids.token_hex(8)}"
        self.created = int(time.time())
        self._sequence = 0
        self._index = 0
        self._text: list[str] | None = None  # the open message item's text, while one is open

    def _event(self, name: str, **payload: Any) -> bytes:
        self._sequence += 1
        return sse.named(name, {"type": name, "sequence_number": self._sequence, **payload})

    def start(self) -> bytes:
        shell = _response(self.id, self.model, self.created, None)
        return self._event("response.created", response=shell) + self._event("response.in_progress", response=shell)

    @property
    def _message_id(self) -> str:
        return f"msg_{self.id}"

    def text(self, piece: str) -> bytes:
        out = b""
        if self._text is None:
            self._text = []
            item = _message_item(self._message_id, "", "in_progress")
            part = {"type": "output_text", "text": "", "annotations": []}
            out += self._event("response.output_item.added", output_index=self._index, item=item)
            out += self._event(
                "response.content_part.added",
                item_id=self._message_id,
                output_index=self._index,
                content_index=0,
                part=part,
            )
        self._text.append(piece)
        return out + self._event(
            "response.output_text.delta",
            item_id=self._message_id,
            output_index=self._index,
            content_index=0,
            delta=piece,
        )

    def _close_text(self) -> bytes:
        if self._text is None:
            return b""
        text, self._text = "".join(self._text), None
        common = {"item_id": self._message_id, "output_index": self._index, "content_index": 0}
        part = {"type": "output_text", "text": text, "annotations": []}
        out = self._event("response.output_text.done", **common, text=text)
        out += self._event("response.content_part.done", **common, part=part)
        out += self._event(
            "response.output_item.done",
            output_index=self._index,
            item=_message_item(self._message_id, text, "completed"),
        )
        self._index += 1
        return out

    def tool_call(self, call: ToolCall) -> bytes:
        out = self._close_text()
        item = _call_item(call)
        out += self._event("response.output_item.added", output_index=self._index, item=_call_item(call, "in_progress"))
        out += self._event(
            "response.function_call_arguments.delta", item_id=item["id"], output_index=self._index, delta=call.arguments
        )
        out += self._event(
            "response.function_call_arguments.done",
            item_id=item["id"],
            output_index=self._index,
            arguments=call.arguments,
        )
        out += self._event("response.output_item.done", output_index=self._index, item=item)
        self._index += 1
        return out

    def finish(self, outcome: Outcome) -> bytes:
        out = self._close_text()
        response = _response(self.id, self.model, self.created, outcome)  # its message item is _message_id
        return out + self._event("response.completed", response=response)

    def fail(self, status: int, kind: str, message: str) -> bytes:
        response = _response(self.id, self.model, self.created, None)
        response["status"] = "failed"
        response["error"] = {"code": kind, "message": message}
        return self._event("response.failed", response=response)
