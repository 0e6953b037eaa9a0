"""Comparison reports of a batch, rebuilt from its stored results alone (byte-identical when rebuilt)."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from benchtui.engine.reports.data import build_report_data
from benchtui.engine.store import Batch

log = logging.getLogger(__name__)
REPORT_NAMES = {"json": "comparison_report.json", "csv": "comparison_report.csv", "html": "comparison_report.html"}


def write_reports(batch: Batch) -> tuple[Path, ...]:
    """Write every report format available into the batch folder; returns their paths."""
    data = build_report_data(batch)
    written = []
    for fmt, name in REPORT_NAMES.items():
        try:
            module = importlib.import_module(f"benchtui.engine.reports.{fmt}_report")
        except ModuleNotFoundError:
            continue
        path = batch.path / name
        module.write(data, path, batch)
        written.append(path)
    return tuple(written)
