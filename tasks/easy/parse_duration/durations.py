"""Helpers for human-friendly durations like "1h30m"."""

UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_duration(text):
    """Convert a duration like "1h30m", "45s" or "2h" into seconds (int).

    Rules:
    - the units are h, m and s; each may appear at most once, in that order
    - each unit is preceded by a non-negative whole number
    - whitespace around the duration is ignored; anything else is invalid
    - invalid input raises ValueError
    """
    raise NotImplementedError


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
