"""Escaping and number formatting for the HTML report: the only way data reaches the page; and the
small lookups every section shares (a model's shown name, the models' order, a status badge).

Every string that came from a model, a task, a config or the environment goes through :func:`esc`
(control characters stripped, then ``html.escape(..., quote=True)``), so it is inert both as element text
and inside a quoted attribute. Numbers are formatted here too, deterministically (no locale), so two
renders of the same batch are byte-identical.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

from benchtui.engine.metrics import cost_text, repaired_text
from benchtui.engine.results import STATUSES
from benchtui.engine.textsafety import strip_control

DASH = "—"
# Anything esc() would change: the five HTML specials, the ESC of terminal sequences, other controls.
_NEEDS_WORK = re.compile(r"[&<>\"'\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def esc(value: Any) -> str:
    """``value`` as HTML text that is safe in element content and in a double-quoted attribute."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _NEEDS_WORK.search(text) is None:  # the common case, and the hot path of a 10,000-run page
        return text
    return html.escape(strip_control(text), quote=True)


def number(value: Any) -> float | None:
    """A finite float, or None for anything that is not a measured number (bools are not numbers)."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        return float(value)
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
    # A whole number of minutes (or hours) says so: "5 min", not "5 min 00 s" (timeouts, caps).
    sign = "-" if n < 0 else ""
    if abs(n) >= 3600:
        hours, rest = divmod(round(abs(n)), 3600)
        return f"{sign}{hours} h" + (f" {rest // 60:02d} min" if rest // 60 else "")
    if abs(n) >= 60:
        minutes, rest = divmod(round(abs(n)), 60)
        return f"{sign}{minutes} min" + (f" {rest:02d} s" if rest else "")
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
    return cost_text(number(value))


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


def when(value: Any) -> str:
    """An ISO timestamp as ``2025-01-02 03:04:05 UTC`` (the stored text otherwise kept as it is)."""
    if not value:
        return DASH
    text = str(value)
    if len(text) >= 19 and text[10] == "T":
        zone = text[19:]
        return f"{text[:10]} {text[11:19]}" + (" UTC" if zone in ("+00:00", "Z") else (f" {zone}" if zone else ""))
    return text


# Shared by the sections


def status_class(status: Any, known: tuple[str, ...] = STATUSES) -> str:
    """A CSS class from a status, from a fixed list only: a status string never reaches an attribute raw."""
    return f"st-{status}" if status in known else "st-unknown"


def badge(status: Any, known: tuple[str, ...] = STATUSES) -> str:
    return f'<span class="badge {status_class(status, known)}">{esc(status or "unknown")}</span>'


def model_name(models: dict[str, Any], key: str) -> str:
    snapshot = models.get(key) or {}
    return str(snapshot.get("display_name") or snapshot.get("name") or key)


def provider(models: dict[str, Any], key: str) -> str:
    return str((models.get(key) or {}).get("provider") or "")


def model_order(data: dict[str, Any]) -> list[str]:
    """Model keys in leaderboard order (the engine's), then any model the leaderboard lacks."""
    board = (data.get("rankings") or {}).get("leaderboard") or []
    order = [str(entry.get("model")) for entry in board]
    return order + [key for key in (data.get("models") or {}) if key not in order]


REPAIRED_NOTE = (
    "tool calls the model wrote as text, turned into real calls by benchtui's gateway (the model's "
    "repair_tool_calls): its figures are with that help"
)


def repaired_mark(aggregates: dict[str, Any], key: str) -> str:
    """``⚒ 12 repaired`` beside a contestant whose model needed its tool calls repaired; "" otherwise."""
    text = repaired_text((aggregates.get(key) or {}).get("repaired_tool_calls"))
    return f' <span class="repaired" title="{esc(REPAIRED_NOTE)}">{esc(text)}</span>' if text else ""
