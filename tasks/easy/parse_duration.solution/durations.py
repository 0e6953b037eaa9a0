"""Helpers for human-friendly durations like "1h30m"."""
import re

UNITS = {"h": 3600, "m": 60, "s": 1}

_PATTERN = re.compile(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")


def parse_duration(text):
    """Convert a duration like "1h30m", "45s" or "2h" into seconds (int).

    Rules:
    - the units are h, m and s; each may appear at most once, in that order
    - each unit is preceded by a non-negative whole number
    - whitespace around the duration is ignored; anything else is invalid
    - invalid input raises ValueError
    """
    match = _PATTERN.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        raise ValueError(f"invalid duration: {text!r}")
    total = 0
    for value, size in zip(match.groups(), UNITS.values()):
        if value is not None:
            total += int(value) * size
    return total


def format_duration(seconds):
    """Inverse of parse_duration: 5400 -> "1h30m", 0 -> "0s"."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in UNITS.items():
        value, seconds = divmod(seconds, size)
        if value:
            parts.append(f"{value}{unit}")
    return "".join(parts)
