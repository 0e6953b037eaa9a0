"""How much detail one page may hold, so big batches stay fast: the limits per run and per page, and
the allowance the run panels and transcripts spend from as the page is written.

What does not fit is left out and the page says so, naming the file that holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TRANSCRIPT_RUNS = 300  # runs whose transcript is embedded; later runs point to their run file
DETAIL_BUDGET = 12_000_000  # characters of diff, check output and transcript text in the whole page
# Above this many runs, each run's panel body is an inert <template> that the script puts in place when the
# panel is first opened: the browser then builds ~10 nodes per run at load instead of ~80 (a 10,000-run page
# loads in a few seconds instead of ten). Smaller pages keep plain bodies, readable without the script.
LAZY_RUNS = 400
DIFF_LINES = 3_000  # per run
CHECK_CHARS = 20_000  # per run (the tail is kept)
ENTRY_CHARS = 16_000  # per transcript entry

TranscriptLoader = Callable[[dict[str, Any]], list[dict[str, Any]]]


@dataclass
class Budget:
    """What is left of the page's detail allowance; spend() says whether a piece still fits."""

    left: int
    transcripts_left: int
    transcripts_cap: int
    omitted: dict[str, int] = field(default_factory=dict)

    def spend(self, size: int, what: str) -> bool:
        if size <= self.left:
            self.left -= size
            return True
        self.omitted[what] = self.omitted.get(what, 0) + 1
        return False
