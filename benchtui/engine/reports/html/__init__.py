"""comparison_report.html: one self-contained page that compares the models of a batch.

Sections, top to bottom: the batch header (tasks, facts, environment), the three podiums of
``rankings.RANKINGS`` (saying when first place is a tie), the leaderboard (sortable by any column, with
each success rate's interval and the models each is tied with), SVG charts of success rate and time (with
error bars), prompts and tokens, the task × model matrix (batches with several tasks; flaky cells say so),
the repeats (pass@k, pass^k, flaky tasks, paired comparisons), and one collapsible panel per run with its
failure reason, coloured diff, check output and transcript.

Everything shown comes from the report data (``reports.data.build_report_data``): figures and rankings are
the engine's, formatted here, never recomputed. Every string from a model, a task or a config is escaped by
``format.esc``; the page has no external resource and a CSP that runs only its own hashed script.

The page is deterministic (no clock, no random id, stable order), so ``benchtui report`` rebuilds it
byte-identical. To stay fast on big batches (10,000 runs render in well under a second), strings are
collected in one list, transcripts are loaded for the first ``TRANSCRIPT_RUNS`` runs only, and all run
details share a character budget; what is left out says so and names the file that holds it.

Modules: ``page`` (the document and its order: ``render``, ``iter_render``, ``write``), ``summary``
(header, podiums, leaderboard, matrix), ``repeats`` (pass@k, pass^k, flaky tasks, paired tests),
``charts`` (the charts section and its SVG bar charts), ``runs``
(one panel per run), ``transcript`` (a run's transcript), ``budget`` (what the page may hold),
``format`` (escaping, numbers, shared lookups) and ``template`` (stylesheet, script, CSP, page shell).
"""

from __future__ import annotations

from benchtui.engine.reports.html.budget import (
    CHECK_CHARS,
    DETAIL_BUDGET,
    DIFF_LINES,
    ENTRY_CHARS,
    LAZY_RUNS,
    TRANSCRIPT_RUNS,
    TranscriptLoader,
)
from benchtui.engine.reports.html.page import iter_render, render, write

__all__ = [
    "CHECK_CHARS",
    "DETAIL_BUDGET",
    "DIFF_LINES",
    "ENTRY_CHARS",
    "LAZY_RUNS",
    "TRANSCRIPT_RUNS",
    "TranscriptLoader",
    "iter_render",
    "render",
    "write",
]
