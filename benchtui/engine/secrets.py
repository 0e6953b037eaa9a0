"""Keeping API keys out of everything benchtui writes or prints.

Every key resolved from the environment is registered here; ``redact`` replaces those values (and any
value after a credential header name or a ``key=`` URL parameter) before text reaches a result file, a
report, a log or the terminal.
"""

from __future__ import annotations

import re
import threading

REDACTED = "[REDACTED]"
SECRET_HEADERS = ("authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key")
# A credential header followed by its value, as an HTTP header, JSON or a Python dict repr writes it.
_HEADER_PATTERN = re.compile(
    r"(?i)\b(" + "|".join(re.escape(h) for h in SECRET_HEADERS) + r")"
    r"([\"']?\s*[:=]\s*[\"']?)((?:bearer|basic|token|key)\s+)?([^\s\"',}]+)"
)
_BEARER_PATTERN = re.compile(r"(?i)\b(bearer\s+)(?!\[REDACTED\])([A-Za-z0-9._~+/=-]{8,})")
_URL_KEY_PATTERN = re.compile(r"(?i)([?&](?:api[_-]?key|key|access[_-]?token|token)=)[^&\s\"']+")

_lock = threading.Lock()
_known: set[str] = set()


def register(value: str | None) -> None:
    """Remember a secret value so every later ``redact`` call hides it. Short values are ignored:
    redacting a 3-character string would shred ordinary text."""
    if value and len(value) >= 8:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """The text with every registered secret, credential header value and URL key replaced."""
    if not text:
        return text
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    text = _HEADER_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{REDACTED}", text)
    text = _BEARER_PATTERN.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _URL_KEY_PATTERN.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
