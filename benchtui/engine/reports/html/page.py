"""The document: the page shell around the sections in their order, as one string (``render``) or
streamed piece by piece into the report file (``write``).

The page is deterministic (no clock, no random id, stable order), so ``benchtui report`` rebuilds it
byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchtui.engine import atomic
from benchtui.engine.reports.html.budget import DETAIL_BUDGET, TRANSCRIPT_RUNS, Budget, TranscriptLoader
from benchtui.engine.reports.html.charts import charts_section
from benchtui.engine.reports.html.endpoints import endpoints_section
from benchtui.engine.reports.html.format import esc
from benchtui.engine.reports.html.repeats import repeats_section
from benchtui.engine.reports.html.runs import display_order, runs_section
from benchtui.engine.reports.html.summary import header_section, leaderboard_section, matrix_section, podiums_section
from benchtui.engine.reports.html.template import PAGE_TAIL, page_head
from benchtui.engine.store import Batch


def render(
    data: dict[str, Any],
    batch: Batch | None = None,
    *,
    transcripts: TranscriptLoader | None = None,
    transcript_runs: int = TRANSCRIPT_RUNS,
    detail_budget: int = DETAIL_BUDGET,
) -> str:
    """The whole page as one string (tests, small batches); ``write`` streams it instead."""
    return "".join(
        iter_render(data, batch, transcripts=transcripts, transcript_runs=transcript_runs, detail_budget=detail_budget)
    )


def iter_render(
    data: dict[str, Any],
    batch: Batch | None = None,
    *,
    transcripts: TranscriptLoader | None = None,
    transcript_runs: int = TRANSCRIPT_RUNS,
    detail_budget: int = DETAIL_BUDGET,
) -> Iterator[str]:
    """The whole page. Transcripts come from ``transcripts`` or else ``batch.load_transcript``; with
    neither, runs name their transcript file instead."""
    load = transcripts or (batch.load_transcript if batch is not None else None)
    budget = Budget(left=detail_budget, transcripts_left=transcript_runs, transcripts_cap=transcript_runs)
    runs = display_order(data)
    anchors: dict[tuple[str, str], str] = {}
    for index, run in enumerate(runs):
        anchors.setdefault((str(run.get("task_id")), str(run.get("model"))), f"run-{index}")
    batch_info = data.get("batch") or {}
    titles = [str(t.get("title") or t.get("id")) for t in batch_info.get("tasks") or []]
    title = f"benchtui · {', '.join(titles) or 'batch'} · {batch_info.get('batch_id') or ''}"
    yield page_head(title)
    parts = [
        header_section(data),
        podiums_section(data),
        leaderboard_section(data),
        endpoints_section(data),
        charts_section(data) if runs else "",
        matrix_section(data, anchors),
        repeats_section(data) if runs else "",
    ]
    yield "\n".join(part for part in parts if part)
    yield "\n"
    yield from runs_section(data, runs, load, budget)
    yield (
        "\n<footer>benchtui " + esc(batch_info.get("benchtui_version") or "") + " · "
        "self-contained report: no network, no external resource · rebuild with "
        f"<code>benchtui report {esc(batch_info.get('batch_id') or 'BATCH_ID')}</code> "
        "(or the path of this folder)</footer>"
    )
    yield PAGE_TAIL


def write(data: dict[str, Any], path: Path, batch: Batch | None = None) -> None:
    with atomic.open_atomic(path) as handle:
        for piece in iter_render(data, batch):
            handle.write(piece)
