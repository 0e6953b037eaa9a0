"""Text from models and checks is untrusted: strip terminal escapes before it reaches a terminal."""

from __future__ import annotations

import re

# CSI, OSC (terminated by BEL or ST), other two-byte escapes, and C0/C1 controls except \t \n \r.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]"
)


def strip_control(text: str) -> str:
    """The text without ANSI/OSC escape sequences or control characters (newlines and tabs kept)."""
    return _ESCAPES.sub("", text) if text else text
