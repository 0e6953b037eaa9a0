"""Runaway replies: a streamed reply that has degenerated into repeating itself, told apart from a long one.

Small models loop: SmolLM2-135M wrote "The `mathutils.py` file is not available." and a blank line until its
token limit, or ``attempts_`` inside one identifier for 900 tokens; Qwen2.5-Coder-0.5B repeats whole
SEARCH/REPLACE blocks. Every token after the loop starts is wasted model time (the slot is held, the reply
is useless), so the stream is stopped as soon as the repetition is certain and the request is closed,
which makes llama.cpp stop generating at once.

Two shapes are watched, on the text as it streams:

* **a block of lines** (1 to ``MAX_BLOCK_LINES`` lines, with some non-blank text) repeated back to back;
  lines that differ only in their numbers ("# 44. UserStore", "# 45. UserStore") count as copies too,
  from ``MIN_COUNTED_COPIES`` copies on;
* **a run inside one line** (a period of 1 to ``MAX_PERIOD_CHARS`` characters) that never reaches a newline.

Either trips once ``MIN_COPIES`` copies stand in a row *and* the copies after the first hold at least
``MIN_REPEATED_CHARS`` characters: a closing brace or a blank line repeated a few times is code, the same
sentence twenty times is not. The bounds were chosen by measurement (docs/EMBEDDED.md, "Runaway replies"):
no file of the shipped tasks' solutions, workspaces and checks, and no file of benchtui's own source, sent as
a reply, trips them; every degenerate reply the embedded models wrote on the shipped tasks does, after 130
to 350 tokens of repetition (of a 1024-token limit).

Only what streams is watched: a line that arrives whole, newline included, is checked as a line, not for a
run inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_COPIES = 3
MIN_REPEATED_CHARS = 400
# Lines that differ only in their numbers ("# 44. UserStore", "# 45. UserStore", ...) count as copies too,
# but only from this many copies on: real code counts up often (F1 = "f1" ... F24 = "f24", numbered cases,
# tables), so fewer copies than this say nothing.
MIN_COUNTED_COPIES = 40
MAX_BLOCK_LINES = 80
MAX_PERIOD_CHARS = 120
# A line is searched for an inner period each time it has grown by this much (the search costs
# MAX_PERIOD_CHARS slice comparisons, so not on every streamed piece).
_LINE_CHECK_EVERY = 24
_NUMBER = re.compile(r"\d+")
# Only a line with a word in it is compared with its numbers masked: a row of a number table is data.
_WORD = re.compile(r"[A-Za-z_]{3}")


@dataclass(frozen=True)
class Runaway:
    """Where a reply degenerated: what repeated, how often, and how much of the text is worth keeping."""

    shape: str
    """``lines`` (a block of whole lines repeated) or ``line`` (a run inside one line)."""
    block: str
    """One copy of what repeated."""
    copies: int
    """Copies in a row when the stream was stopped."""
    keep: int
    """Characters of the reply up to the end of the first copy: the rest only repeats it."""
    streamed: int
    """Characters streamed when the stream was stopped."""

    def describe(self) -> str:
        what = f"a block of {self.block.count(chr(10)) + 1} line(s)" if self.shape == "lines" else "a run of text"
        return f"{what} repeated {self.copies} times in a row ({self.streamed - self.keep} characters dropped)"


class RepetitionGuard:
    """Fed a reply's streamed pieces in order; ``feed`` returns a Runaway once the reply has degenerated."""

    def __init__(
        self,
        *,
        min_copies: int = MIN_COPIES,
        min_repeated_chars: int = MIN_REPEATED_CHARS,
        min_counted_copies: int = MIN_COUNTED_COPIES,
        max_block_lines: int = MAX_BLOCK_LINES,
        max_period_chars: int = MAX_PERIOD_CHARS,
    ) -> None:
        self.min_copies = max(min_copies, 2)
        self.min_repeated_chars = min_repeated_chars
        self.min_counted_copies = min_counted_copies
        self.max_block_lines = max_block_lines
        self.max_period_chars = max_period_chars
        self.tripped: Runaway | None = None
        self._length = 0
        self._lines: list[str] = []
        self._counted: list[str] = []
        self._starts: list[int] = []
        self._partial: list[str] = []
        self._partial_len = 0
        self._partial_start = 0
        self._checked_len = 0
        # _runs[p]: how many complete lines in a row equal the line p lines before them (_counted_runs: with
        # their numbers masked).
        self._runs = [0] * (max_block_lines + 1)
        self._counted_runs = [0] * (max_block_lines + 1)

    def feed(self, piece: str) -> Runaway | None:
        if self.tripped is not None or not piece:
            return self.tripped
        *done, rest = piece.split("\n")
        for part in done:
            self._partial.append(part)
            line = "".join(self._partial)
            self._length += len(part) + 1
            self._partial, self._partial_len, self._checked_len = [], 0, 0
            self.tripped = self._line_done(line)
            self._partial_start = self._length
            if self.tripped is not None:
                return self.tripped
        if rest:
            self._partial.append(rest)
            self._partial_len += len(rest)
            self._length += len(rest)
            if self._partial_len - self._checked_len >= _LINE_CHECK_EVERY:
                self._checked_len = self._partial_len
                self.tripped = self._inner_run()
        return self.tripped

    def _line_done(self, line: str) -> Runaway | None:
        line = line.rstrip()
        self._lines.append(line)
        self._counted.append(_NUMBER.sub("#", line) if _WORD.search(line) else line)
        self._starts.append(self._partial_start)
        return self._block_run(self._lines, self._runs, self.min_copies) or self._block_run(
            self._counted, self._counted_runs, self.min_counted_copies
        )

    def _block_run(self, lines: list[str], runs: list[int], min_copies: int) -> Runaway | None:
        """The block the last line completes ``min_copies`` copies of, past ``min_repeated_chars``, if any."""
        index = len(lines) - 1
        found: Runaway | None = None
        for period in range(1, min(self.max_block_lines, index) + 1):
            if lines[index] != lines[index - period]:
                runs[period] = 0
                continue
            runs[period] += 1
            copies = (runs[period] + period) // period
            if found is not None or copies < min_copies:
                continue
            block = self._lines[index - period + 1 : index + 1]
            if not any(text.strip() for text in block):
                continue
            block_chars = sum(len(text) + 1 for text in block)
            if block_chars * (copies - 1) < self.min_repeated_chars:
                continue
            first = index - (runs[period] + period) + 1
            found = Runaway("lines", "\n".join(block), copies, self._starts[first + period], self._length)
        return found

    def _inner_run(self) -> Runaway | None:
        line = "".join(self._partial)
        self._partial = [line]
        for period in range(1, min(self.max_period_chars, len(line) // self.min_copies) + 1):
            span = max(period * self.min_copies, self.min_repeated_chars + period)
            if span > len(line):
                break
            tail = line[-span:]
            if tail[period:] != tail[:-period] or not tail[:period].strip():
                continue
            start = len(line) - span
            while start >= period and line[start - 1] == line[start - 1 + period]:
                start -= 1
            copies = (len(line) - start) // period
            keep = self._partial_start + start + period
            return Runaway("line", line[start : start + period], copies, keep, self._length)
        return None
