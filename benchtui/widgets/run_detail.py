"""One run in detail: its coloured diff, its transcript and the check's last output, in tabs.

Everything shown here came from a model or a check, so it goes through ``safe_text``-style handling:
escapes stripped, never parsed as markup.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane, Tabs

from benchtui.engine.diffs import DiffLineKind, diff_line_kind
from benchtui.engine.metrics import repaired_text
from benchtui.engine.textsafety import strip_control
from benchtui.present.format import number, status_text

TABS = ("diff", "transcript", "check")
_DIFF_STYLES: dict[DiffLineKind, str] = {"file": "bold", "hunk": "cyan", "add": "green", "del": "red", "context": ""}


def diff_text(diff: str | None) -> Text:
    """A unified diff coloured by line kind: additions, removals, hunks, file headers."""
    if not diff:
        return Text("no changes to the workspace", style="dim")
    text = Text()
    for line in strip_control(diff).splitlines():
        text.append(line + "\n", style=_DIFF_STYLES[diff_line_kind(line)])
    return text


def transcript_text(transcript: list[dict[str, Any]]) -> Text:
    if not transcript:
        return Text("no transcript stored for this run", style="dim")
    styles = {
        "reply": "bold green",
        "prompt": "bold cyan",
        "hint": "bold yellow",
        "human": "bold magenta",
        "check": "bold",
        "error": "bold red",
        "edits": "bold",
        "system": "dim",
    }
    text = Text()
    for entry in transcript:
        kind = str(entry.get("kind", "?"))
        role = f" ({entry['role']})" if entry.get("role") else ""
        text.append(
            f"── turn {entry.get('turn', '?')} · {kind}{role} · {number(entry.get('at_s'), '.1f', ' s')}\n",
            style=styles.get(kind, "bold"),
        )
        # Whole, never cut: the pane scrolls, and the reason a run failed is often at the end of a reply.
        text.append(strip_control(str(entry.get("content", ""))).rstrip() + "\n\n")
    return text


class DetailPane(VerticalScroll):
    """One tab's scrolling text. Tab lands here (the tab strip itself takes no focus), so ↑ ↓ and
    page keys scroll at once, and ← → switch between Diff, Transcript and Check."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "switch(-1)", "Prev tab", show=False),
        Binding("right", "switch(1)", "Next tab", show=False),
    ]

    def action_switch(self, step: int) -> None:
        detail = next(a for a in self.ancestors if isinstance(a, RunDetail))
        detail.show_tab(TABS[(TABS.index(detail.active_tab) + step) % len(TABS)], focus=True)


class RunDetail(Vertical):
    """Tabs for the selected run: Diff, Transcript, Check."""

    ALLOW_MAXIMIZE = True  # z on the Results screen gives it the whole screen

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.diff = Text()
        self.transcript = Text()

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="tab-diff", id="detail-tabs"):
            with TabPane("Diff", id="tab-diff"), DetailPane(id="pane-diff"):
                yield Static(Text("select a run to see its diff", style="dim"), id="detail-diff")
            with TabPane("Transcript", id="tab-transcript"), DetailPane(id="pane-transcript"):
                yield Static(Text("select a run to see its transcript", style="dim"), id="detail-transcript")
            with TabPane("Check", id="tab-check"), DetailPane(id="pane-check"):
                yield Static(Text("select a run to see its check output", style="dim"), id="detail-check")

    def on_mount(self) -> None:
        # One Tab from the runs reaches the text itself, not a tab strip that cannot scroll it.
        self.query_one(Tabs).can_focus = False

    @property
    def active_tab(self) -> str:
        return str(self.query_one(TabbedContent).active).removeprefix("tab-")

    def show_tab(self, tab: str, focus: bool = False) -> None:
        """``diff``, ``transcript`` or ``check``; ``focus`` puts the keys on its text."""
        self.query_one(TabbedContent).active = f"tab-{tab}"
        if focus:
            self.query_one(f"#pane-{tab}", DetailPane).focus()

    def show(self, result: dict[str, Any], transcript: list[dict[str, Any]], model_name: str) -> None:
        # Every tab opens with which run it is: zoomed in, nothing else on screen says so.
        repeat = result.get("repeat", 1)
        title = Text()
        title.append(
            f"{model_name} · {result.get('task_id')}" + (f" #{repeat}" if repeat != 1 else "") + " · ", style="bold"
        )
        title.append_text(status_text(str(result.get("status"))))
        if result.get("error"):
            title.append(f" · {result['error']}: {strip_control(str(result.get('error_message') or ''))}", style="red")
        cut = result.get("truncated_replies")
        if isinstance(cut, int) and cut > 0:
            title.append(f" · {cut} {'reply' if cut == 1 else 'replies'} cut off by the token limit", style="yellow")
        repaired = repaired_text(result.get("repaired_tool_calls"))
        if repaired:
            title.append(f" · {repaired} (tool calls written as text, made real by the gateway)", style="yellow")
        title.append("\n")
        header = title.copy()
        header.append(
            f"+{result.get('lines_added') or 0} −{result.get('lines_removed') or 0} lines in "
            f"{result.get('files_modified') or 0} file(s)\n\n",
            style="dim",
        )
        self.diff = header + diff_text(result.get("diff"))
        self.transcript = title + Text("\n") + transcript_text(transcript)
        self.query_one("#detail-diff", Static).update(self.diff)
        self.query_one("#detail-transcript", Static).update(self.transcript)
        check = strip_control(str(result.get("check_output") or ""))
        self.query_one("#detail-check", Static).update(
            title + Text("\n") + (Text(check) if check else Text("the check did not run", style="dim"))
        )
