"""The one shape a request and a reply take inside the gateway, whatever dialect the client spoke.

A request is held as OpenAI chat messages (system/user/assistant/tool roles, ``tool_calls`` on assistant
turns, ``tool_call_id`` on results) because that is the dialect every upstream but Anthropic speaks, so
only Anthropic needs a second translation. The client's own body is kept beside it: an upstream of the
client's own dialect is sent that body (model, cap and stream replaced), losing nothing the translation
does not model (cache marks, images).

A reply is a stream of three events: a text piece, a complete tool call, the end with the server's
figures. Tool calls travel whole, not as argument fragments: every client accumulates fragments into the
same object anyway, and whole calls let each dialect's encoder open and close its blocks in order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DIALECTS = ("openai-chat", "openai-responses", "anthropic")

# The finish reasons in the gateway's vocabulary (OpenAI chat's); each encoder maps them to its own words.
STOP = "stop"
LENGTH = "length"
TOOL_CALLS = "tool_calls"


class BadRequest(Exception):
    """The client's body is not a request this dialect understands (answered 400, never forwarded)."""


@dataclass(frozen=True)
class Tool:
    """A function tool the client offered: its name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class ModelRequest:
    """One client request, read."""

    dialect: str
    body: dict[str, Any]
    messages: list[dict[str, Any]]
    tools: list[Tool]
    # OpenAI chat's words: "auto", "none", "required" or {"type": "function", "function": {"name": ...}}.
    tool_choice: Any = None
    # The output limit the client asked for (None: it asked for none).
    max_tokens: int | None = None
    stream: bool = False
    # Sampling settings in OpenAI chat's names (temperature, top_p, stop as a list, seed).
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextPiece:
    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as OpenAI sends it


@dataclass
class Outcome:
    """A finished reply: what it said, why it stopped and what the server reported about it."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    repaired: int = 0


def text_of(content: Any) -> str:
    """The text of a message content in any dialect: a string, or a list of text parts/blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict):
                value = block.get("text")
                if isinstance(value, str):
                    parts.append(value)
                elif block.get("type") in ("tool_result", "function_call_output"):
                    parts.append(text_of(block.get("content") or block.get("output")))
        return "".join(parts)
    return str(content)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def arguments_object(arguments: str) -> dict[str, Any]:
    """A call's JSON arguments as an object ({} when they are not one)."""
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
