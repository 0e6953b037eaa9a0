"""Server-sent event framing for the gateway's replies (the reading side is the providers')."""

from __future__ import annotations

import json
from typing import Any


def data(payload: Any) -> bytes:
    """An unnamed event (OpenAI chat's ``data: {...}``)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def named(event: str, payload: dict[str, Any]) -> bytes:
    """A named event (Anthropic's and the Responses API's ``event: NAME`` then ``data: {...}``)."""
    return f"event: {event}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()
