"""comparison_report.json: the complete data of a batch, for scripts and other tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchtui.engine import atomic
from benchtui.engine.store import Batch


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(data: dict[str, Any], path: Path, batch: Batch | None = None) -> None:
    # Streamed: the same bytes as render(), without the whole report in memory at once.
    atomic.write_json(path, data, sort_keys=True)
