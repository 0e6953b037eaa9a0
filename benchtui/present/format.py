"""Formatting shared by the app's widgets and the headless CLI: numbers, durations, statuses, untrusted text.

``STATUS_STYLES`` is the one status palette of both faces (``kept``, a run finished before a resume, is a
dim green: done, but not this session's news).

Text from models and checks is untrusted: ``safe_text`` strips terminal escapes and returns a
``rich.text.Text`` (never parsed as markup), so a model cannot style or corrupt the screen.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from benchtui.engine.textsafety import strip_control

STATUS_STYLES = {
    "passed": "bold green",
    "failed": "red",
    "timeout": "yellow",
    "error": "bold red",
    "cancelled": "dim",
    "queued": "dim",
    "kept": "green dim",
    "not run": "dim",
    "running": "cyan",
    "prompting": "cyan",
    "applying": "cyan",
    "checking": "bold blue",
    "starting": "cyan",
    "finished": "green",
    "interrupted": "yellow",
}


def safe_text(value: Any, style: str = "", limit: int | None = None) -> Text:
    """Untrusted text as a Text: escapes stripped, markup not interpreted, optionally cut to ``limit``."""
    text = strip_control("" if value is None else str(value))
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return Text(text, style=style)


def one_line(value: Any, limit: int = 60) -> Text:
    """The last non-empty line of untrusted text, made safe and cut to ``limit``."""
    text = strip_control("" if value is None else str(value))
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return safe_text(lines[-1] if lines else "", limit=limit)


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def number(value: Any, spec: str = ".1f", unit: str = "") -> str:
    """A measured number, or an em dash when it could not be measured (None is never shown as 0)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:{spec}}{unit}"


def duration(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a number of seconds."""
    if seconds is None:
        return "—"
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def sort_value(value: Any) -> tuple[int, Any]:
    """A key that sorts numbers and strings, with unmeasured values (None) always last."""
    if value is None:
        return (2, 0)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value).lower())


def created(value: str) -> str:
    """``2026-01-02T10:11:12+00:00`` -> ``2026-01-02 10:11 UTC`` (stored time, no local-zone guessing)."""
    if len(value) >= 16 and value[10] == "T":
        zone = " UTC" if value.endswith(("+00:00", "Z")) else ""
        return f"{value[:10]} {value[11:16]}{zone}"
    return value or "—"


def plural(count: int, noun: str) -> str:
    """``1 task``, ``3 tasks``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
