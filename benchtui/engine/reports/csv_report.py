"""comparison_report.csv: one row per run, for spreadsheets, made safe to open in one.

Columns are the run result keys of ``results.RESULT_KEYS`` in their order, with the model's display name
and provider after ``model``, minus the two big text fields (``diff``, ``check_output``): they can run to
megabytes, break spreadsheet row limits, and live in the JSON report and the run files anyway.

Spreadsheet formula injection (CWE-1236, OWASP ASVS 1.2.10): a text cell whose first character, after
any leading spaces, is one a spreadsheet treats as the start of a formula (``= + - @``, tab, CR, NUL, or
their full-width forms) gets a ``'`` in front. Only text is touched: numbers, negative ones included, are
written as plain unquoted numbers so they stay numbers. Terminal escapes and control characters are
stripped from text (newlines and tabs kept; the ``csv`` module quotes them). ``None`` is an empty cell.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchtui.engine import atomic
from benchtui.engine.results import RESULT_KEYS
from benchtui.engine.store import Batch
from benchtui.engine.textsafety import strip_control

OMITTED_KEYS = ("diff", "check_output")
MODEL_KEYS = ("display_name", "provider")

# First characters that make Excel, LibreOffice or Google Sheets evaluate a cell. NUL, tab and CR are
# listed for the readers that strip or mis-split them; the full-width forms are folded to ASCII by some.
_FORMULA_START = frozenset("=+-@\t\r\n\x00＝＋－＠")


def columns() -> tuple[str, ...]:
    """The CSV header: result keys, with the model's display name and provider after ``model``."""
    names: list[str] = []
    for key in RESULT_KEYS:
        if key in OMITTED_KEYS:
            continue
        names.append(key)
        if key == "model":
            names.extend(MODEL_KEYS)
    return tuple(names)


def neutralise(text: str) -> str:
    """``text`` made inert for spreadsheets: control characters stripped, formula starts prefixed with '."""
    text = strip_control(text)
    stripped = text.lstrip(" ")
    if stripped and stripped[0] in _FORMULA_START:
        return "'" + text
    return text


def cell(value: Any) -> str:
    """One CSV cell: empty for None, true/false for booleans, plain numbers, neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, str):
        return neutralise(value)
    return neutralise(str(value))


def rows(data: dict[str, Any]) -> Iterable[Sequence[str]]:
    """The header row, then one row per run in the report's order."""
    header = columns()
    yield header
    models: dict[str, Any] = data.get("models") or {}
    for run in data.get("runs") or []:
        model = models.get(str(run.get("model"))) or {}
        values = {
            **run,
            "display_name": model.get("display_name") or model.get("name"),
            "provider": model.get("provider"),
        }
        yield [cell(values.get(key)) for key in header]


def render(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    # RFC 4180: CRLF line ends, fields quoted only when they hold a comma, a quote or a line break.
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows(data))
    return buffer.getvalue()


def write(data: dict[str, Any], path: Path, batch: Batch | None = None) -> None:
    atomic.write_text(path, render(data))
