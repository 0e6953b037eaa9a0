"""The body sent upstream: the client's request in the upstream's dialect, with benchtui's rules applied.

Two upstream dialects exist: OpenAI chat (OpenAI, OpenAI-compatible servers, the embedded llama.cpp
servers, and Ollama through its OpenAI-compatible ``/v1/chat/completions``) and Anthropic messages. A
client of the upstream's own dialect has its body forwarded (only the fields the dialect defines, so a
client's private extras never reach the server); any other is translated from the gateway's chat shape.

Whatever the client asked, the upstream body always:
* names the contestant's model (``spec.name``): the client's model field is ignored;
* streams (``stream_options.include_usage`` for chat), so the gateway times the first token and can cut
  the request at the deadline, whether or not the client streams;
* carries an output limit no higher than the run's cap: the client's own, clamped, or the cap when it
  asked for none (aider and Codex send none; Claude Code sends 32000);
* takes the model's configured sampling settings (``settings:`` in models_config.yaml) where the client
  set none of its own: the assistant's choices are part of the assistant being measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from benchtui.engine.gateway.canonical import ModelRequest, arguments_object, as_dict, positive_int, text_of
from benchtui.engine.gateway.dialect_anthropic import NAME as ANTHROPIC
from benchtui.engine.gateway.dialect_chat import NAME as CHAT

CHAT_FIELDS = (
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
    "reasoning_effort",
    "logit_bias",
)
ANTHROPIC_FIELDS = (
    "messages",
    "system",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
)
CHAT_SETTINGS = ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")
ANTHROPIC_SETTINGS = ("temperature", "top_p", "top_k")


def clamp(asked: int | None, cap: int) -> int:
    """The output limit sent upstream: the client's, but never above the cap; the cap when it set none."""
    return min(asked, cap) if asked is not None else cap


def chat_body(request: ModelRequest, *, model: str, cap: int, settings: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any]
    if request.dialect == CHAT:
        body = {k: request.body[k] for k in CHAT_FIELDS if k in request.body}
    else:
        body = {"messages": _system_first(request.messages), **request.params}
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters or _EMPTY},
                }
                for t in request.tools
            ]
            if request.tool_choice is not None:
                body["tool_choice"] = request.tool_choice
    for key in CHAT_SETTINGS:
        if key in settings and key not in body:
            body[key] = settings[key]
    # OpenAI's reasoning models refuse max_tokens and want max_completion_tokens: keep the client's word
    # for it, or the model's configured one.
    wants_completion = "max_completion_tokens" in settings or (
        request.dialect == CHAT and positive_int(request.body.get("max_completion_tokens")) is not None
    )
    body["max_completion_tokens" if wants_completion else "max_tokens"] = clamp(request.max_tokens, cap)
    body.update(model=model, stream=True, stream_options={"include_usage": True})
    return body


_EMPTY: dict[str, Any] = {"type": "object", "properties": {}}


def anthropic_body(request: ModelRequest, *, model: str, cap: int, settings: Mapping[str, Any]) -> dict[str, Any]:
    limit = clamp(request.max_tokens, cap)
    body: dict[str, Any]
    if request.dialect == ANTHROPIC:
        body = {k: request.body[k] for k in ANTHROPIC_FIELDS if k in request.body}
        _system_messages_to_system(body)
        budget = positive_int(as_dict(body.get("thinking")).get("budget_tokens"))
        if budget is not None and budget >= limit:
            # The API wants the thinking budget below max_tokens; under the cap it cannot be, so no thinking.
            del body["thinking"]
    else:
        system, turns = anthropic_messages(request.messages)
        body = {"messages": turns}
        if system:
            body["system"] = system
        for key in ("temperature", "top_p"):
            if key in request.params:
                body[key] = request.params[key]
        if request.params.get("stop"):
            body["stop_sequences"] = list(request.params["stop"])
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters or _EMPTY}
                for t in request.tools
            ]
            choice = anthropic_tool_choice(request.tool_choice)
            if choice is not None:
                body["tool_choice"] = choice
    for key in ANTHROPIC_SETTINGS:
        if key in settings and key not in body:
            body[key] = settings[key]
    body.update(model=model, max_tokens=limit, stream=True)
    return body


def anthropic_tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    name = as_dict(as_dict(choice).get("function")).get("name")
    return {"type": "tool", "name": name} if isinstance(name, str) else None


def anthropic_messages(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """Chat messages as Anthropic's ``system`` and alternating user/assistant turns of content blocks.

    Tool results become ``tool_result`` blocks of a user turn, tool calls ``tool_use`` blocks of an
    assistant turn; consecutive turns of one role are merged, as the API wants them to alternate."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for message in messages:
        role = message.get("role")
        text = text_of(message.get("content"))
        if role == "system":
            system.append(text)
        elif role == "tool":
            block = {"type": "tool_result", "tool_use_id": str(message.get("tool_call_id") or ""), "content": text}
            add("user", [block])
        elif role == "assistant":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text.strip() else []
            for call in message.get("tool_calls") or []:
                function = as_dict(as_dict(call).get("function"))
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": str(as_dict(call).get("id") or ""),
                        "name": str(function.get("name") or ""),
                        "input": arguments_object(_arguments_text(function.get("arguments"))),
                    }
                )
            add("assistant", blocks)
        elif text.strip():  # Anthropic refuses empty text blocks
            add("user", [{"type": "text", "text": text}])
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continue)"}]})
    return ("\n\n".join(s for s in system if s) or None), turns


def _arguments_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments or {})


def _system_messages_to_system(body: dict[str, Any]) -> None:
    """Move ``system``-role messages (Claude Code sends some) into the top-level ``system``, the only
    place the Messages API takes system text."""
    messages = [as_dict(m) for m in body.get("messages") or []]
    extra = [text_of(m.get("content")) for m in messages if m.get("role") == "system"]
    if not extra:
        return
    body["messages"] = [m for m in messages if m.get("role") != "system"]
    system = body.get("system")
    if isinstance(system, list):
        body["system"] = [*system, *({"type": "text", "text": t} for t in extra)]
    else:
        body["system"] = "\n\n".join([t for t in [text_of(system), *extra] if t])


def _system_first(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One system message, first: the other dialects' system text is the conversation's preamble (Anthropic
    has only a top-level one; Claude Code adds more as messages), and many local models' chat templates
    refuse a system message anywhere but at the start."""
    system = [text_of(m.get("content")) for m in messages if m.get("role") == "system"]
    rest = [m for m in messages if m.get("role") != "system"]
    joined = "\n\n".join(t for t in system if t)
    return [{"role": "system", "content": joined}, *rest] if joined else rest
