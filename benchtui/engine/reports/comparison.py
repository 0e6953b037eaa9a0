"""compare_<A>_vs_<B>.json and .html: a batch-to-batch comparison, written into batch B's folder.

B is the later batch, the one the comparison speaks about ("what changed in B"), so its folder holds the
comparison next to its own reports, and deleting or moving B takes them along. Both files are written
atomically, like every report, and are byte-identical when rebuilt from the same two batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchtui.engine import atomic
from benchtui.engine.compare import compare_batches, load_batch, nothing_in_common, report_stem
from benchtui.engine.errors import InputError
from benchtui.engine.reports.html import comparison as html_comparison
from benchtui.engine.store import ResultsStore


@dataclass(frozen=True)
class Comparison:
    """A comparison and the files it was written to (JSON first, then HTML)."""

    data: dict[str, Any]
    paths: tuple[Path, Path]

    @property
    def html(self) -> Path:
        return self.paths[1]


def compare_and_write(store: ResultsStore, a_ref: str, b_ref: str) -> Comparison:
    """Compare batch ``a_ref`` (before) with ``b_ref`` (after) and write both files into B's folder.

    Raises InputError naming the folder of a batch that is missing or cannot be read, when both name the
    same batch, or when they have no contestant or no task in common (nothing is written then: a report
    saying "no significant change" about nothing would mislead)."""
    a_batch, a_data = load_batch(store, a_ref)
    b_batch, b_data = load_batch(store, b_ref)
    if a_batch.path.resolve() == b_batch.path.resolve():
        raise InputError(f"both sides are the same batch ({b_batch.path}): compare two different batches")
    data = compare_batches(a_data, b_data)
    if reason := nothing_in_common(data):
        raise InputError(reason)
    stem = report_stem(a_batch.batch_id, b_batch.batch_id)
    json_path, html_path = b_batch.path / f"{stem}.json", b_batch.path / f"{stem}.html"
    try:
        atomic.write_json(json_path, data, sort_keys=True)
        html_comparison.write(data, html_path)
    except OSError as exc:
        raise InputError(f"cannot write the comparison into {b_batch.path}: {exc}") from exc
    return Comparison(data, (json_path, html_path))
