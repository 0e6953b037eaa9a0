"""Turning a tool call a model wrote as text into a real one (per model, off by default).

Small local models often know which tool to call but write the call into their answer, e.g.
Qwen2.5-Coder-1.5B under llama.cpp answering ```` ```json {"name": "edit", "arguments": {...}} ``` ````,
which the server does not turn into ``tool_calls``; without help such a model can never take part in an
agent loop. The repair accepts a reply only when the *whole* reply is one such call (fenced, bare, or in
Hermes/Qwen ``<tool_call>`` tags), names a tool the client offered, and has arguments that fit that
tool's schema: every required key present, and every argument whose type the schema states of that
type. Anything else stays text, and every repair is counted (``repaired_tool_calls``), so a model that
needs it is never mistaken for one that does not.
"""

from __future__ import annotations

import json
import re
import secrets as random_ids
from typing import Any

from benchtui.engine.gateway.canonical import Tool, ToolCall, as_dict

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(?P<inner>.*?)\n?[ \t]*```", re.DOTALL)
_TAGGED = re.compile(r"<tool_call>(?P<inner>.*?)</tool_call>", re.DOTALL)
# How a reply that will turn out to be a call can begin: text that cannot is streamed at once.
_OPENINGS = ("```", "{", "<tool_call>")

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def could_be_call(text: str) -> bool:
    """Whether a reply beginning with ``text`` might still turn out to be a written tool call."""
    start = text.lstrip()
    return not start or any(start.startswith(o) or o.startswith(start) for o in _OPENINGS)


def written_call(text: str, tools: list[Tool]) -> ToolCall | None:
    """The tool call the whole of ``text`` spells, or None when it is not exactly one valid call."""
    body = text.strip()
    for pattern in (_FENCE, _TAGGED):
        match = pattern.fullmatch(body)
        if match:
            body = match.group("inner").strip()
            break
    if not body.startswith("{"):
        return None
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    # {"name", "arguments"} (Qwen, Hermes), "parameters" (Llama 3), or OpenAI's {"function": {...}}.
    function = as_dict(value.get("function")) or value
    name = function.get("name")
    arguments: Any = next((function[k] for k in ("arguments", "parameters", "input") if k in function), {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return None
    tool = next((t for t in tools if t.name == name), None)
    if tool is None or not isinstance(arguments, dict) or not fits(arguments, tool.parameters):
        return None
    return ToolCall(id=f"call_{random_ids.token_hex(6)}", name=tool.name, arguments=json.dumps(arguments))


def fits(arguments: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Arguments against an object schema: required keys present, stated types right, no stray keys
    where the schema forbids them. Deeper constraints (enums, nested shapes) are the tool's to check."""
    properties = as_dict(schema.get("properties"))
    required = schema.get("required") or []
    if any(key not in arguments for key in required if isinstance(key, str)):
        return False
    if schema.get("additionalProperties") is False and any(key not in properties for key in arguments):
        return False
    for key, value in arguments.items():
        stated = as_dict(properties.get(key)).get("type")
        if stated is None:
            continue
        names = stated if isinstance(stated, list) else [stated]
        if not any(_is(value, str(n)) for n in names):
            return False
    return True


def _is(value: Any, type_name: str) -> bool:
    types = _JSON_TYPES.get(type_name)
    if types is None:
        return True  # a type this check does not know: not a reason to refuse
    if isinstance(value, bool) and type_name in ("integer", "number"):
        return False  # JSON's true is no number, though Python's bool is an int
    return isinstance(value, types)
