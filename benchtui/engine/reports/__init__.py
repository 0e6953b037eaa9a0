"""Comparison reports of a batch, rebuilt from its stored results alone (byte-identical when rebuilt)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchtui.engine.reports import csv_report, html, json_report, summary_csv
from benchtui.engine.reports.data import build_report_data
from benchtui.engine.store import Batch

Writer = Callable[[dict[str, Any], Path, Batch | None], None]

# Every format and its writer, imported by name: a missing or misspelt writer fails at import, it never
# drops a report silently.
_WRITERS: dict[str, tuple[str, Writer]] = {
    "json": ("comparison_report.json", json_report.write),
    "csv": ("comparison_report.csv", csv_report.write),
    "html": ("comparison_report.html", html.write),
    "summary_csv": ("comparison_summary.csv", summary_csv.write),
}
REPORT_NAMES = {fmt: name for fmt, (name, _write) in _WRITERS.items()}


def write_reports(batch: Batch) -> tuple[Path, ...]:
    """Write every report format into the batch folder; returns their paths."""
    data = build_report_data(batch)
    written = []
    for name, write in _WRITERS.values():
        path = batch.path / name
        write(data, path, batch)
        written.append(path)
    return tuple(written)
