"""Escaping and number formatting for the HTML report: the only way data reaches the page.

Every string that came from a model, a task, a config or the environment goes through :func:`esc`
(control characters stripped, then ``html.escape(..., quote=True)``), so it is inert both as element text
and inside a quoted attribute. Numbers are formatted here too, deterministically (no locale), so two
renders of the same batch are byte-identical.
"""

from __future__ import annotations

import html
import math
from typing import Any

from benchtui.engine.textsafety import strip_control

DASH = "—"


def esc(value: Any) -> str:
    """``value`` as HTML text that is safe in element content and in a double-quoted attribute."""
    if value is None:
        return ""
    return html.escape(strip_control(str(value)), quote=True)


def number(value: Any) -> float | None:
    """A finite float, or None for anything that is not a measured number (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def sort_key(value: Any) -> str:
    """The ``data-v`` attribute of a sortable cell: a plain decimal, or empty for a missing value."""
    n = number(value)
    return "" if n is None else repr(n)


def seconds(value: Any) -> str:
    n = number(value)
    if n is None:
        return DASH
    if abs(n) >= 3600:
        hours, rest = divmod(round(abs(n)), 3600)
        return f"{'-' if n < 0 else ''}{hours} h {rest // 60:02d} min"
    if abs(n) >= 60:
        minutes, rest = divmod(round(abs(n)), 60)
        return f"{'-' if n < 0 else ''}{minutes} min {rest:02d} s"
    if abs(n) >= 10:
        return f"{n:.1f} s"
    return f"{n:.2f} s"


def decimal(value: Any, digits: int = 2) -> str:
    """Up to ``digits`` decimals, trailing zeros dropped: 2, 2.5, 2.33."""
    n = number(value)
    if n is None:
        return DASH
    text = f"{n:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def integer(value: Any) -> str:
    n = number(value)
    return DASH if n is None else f"{n:,.0f}"


def percent(value: Any) -> str:
    n = number(value)
    return DASH if n is None else f"{n * 100:.0f} %"


def money(value: Any) -> str:
    n = number(value)
    if n is None:
        return DASH
    sign = "−" if n < 0 else ""
    return f"{sign}${abs(n):.4f}" if abs(n) < 1 else f"{sign}${abs(n):,.2f}"


def rate(value: Any) -> str:
    n = number(value)
    return DASH if n is None else f"{n:,.1f}"


def plural(count: float, word: str) -> str:
    return word if count == 1 else word + "s"


def quantity(value: Any, unit: str) -> str:
    """A ranking value with its unit from ``rankings.RANKINGS`` ("s", "prompts", "interventions")."""
    n = number(value)
    if n is None:
        return DASH
    if unit == "s":
        return seconds(n)
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{decimal(n)} {plural(n, singular)}"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
