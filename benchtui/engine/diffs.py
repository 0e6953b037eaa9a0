"""What each line of a unified diff is (file header, hunk header, addition, removal, context): the one
classifier the HTML report and the TUI's run detail colour diffs with, so the two cannot disagree.
"""

from __future__ import annotations

from typing import Literal

DiffLineKind = Literal["file", "hunk", "add", "del", "context"]


def diff_line_kind(line: str) -> DiffLineKind:
    """The kind of one line of a unified diff, by its first characters (``+++``/``---`` are file headers)."""
    if line.startswith(("+++", "---", "diff ", "index ")):
        return "file"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    if line.startswith("@@"):
        return "hunk"
    return "context"
