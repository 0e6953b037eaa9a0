"""The comparison screen: what improved and what regressed from batch A to batch B, opened from History.

The comparison is the engine's (``reports.comparison.compare_and_write``, which also writes the JSON and
HTML files into B's folder), made in a thread worker: two big batches must not hold up the keys. Its rows
and lines are ``present.comparison``'s, the same the headless ``benchtui compare`` prints.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static

from benchtui.engine.errors import InputError
from benchtui.engine.reports.comparison import Comparison, compare_and_write
from benchtui.present import comparison as shown
from benchtui.present.session import Session
from benchtui.screens.base import BenchScreen
from benchtui.widgets.columns import Fit, FittedTable


class CompareScreen(BenchScreen):
    """Batch A (before) against batch B (after), over what both ran; esc goes back to History."""

    MODE = "history"  # the navigation bar stays on History: this screen is pushed over it
    HELP = """\
**Compare**: batch A (the earlier) against batch B, on the contestants and tasks both ran. A change is
flagged only when it is significant (p < 0.05 after Holm's correction): success rates by an exact test
stratified by task, medians of passed runs by a bootstrap. The JSON and HTML comparison are written
into B's folder.

| Key | Action |
|---|---|
| ↑ ↓ | scroll the contestants |
| esc | back to History |
"""
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    class Compared(Message):
        """Posted by the comparing worker: the comparison, or why it could not be made."""

        def __init__(self, comparison: Comparison | None, error: str | None) -> None:
            super().__init__()
            self.comparison, self.error = comparison, error

    def __init__(self, session: Session, a_id: str, b_id: str) -> None:
        super().__init__(session)
        self.a_id, self.b_id = a_id, b_id
        self.comparison: Comparison | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        yield Label(Text(f"Comparing {self.a_id} → {self.b_id}…"), id="compare-title", classes="pane-title")
        yield FittedTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="compare-detail-scroll"):
            yield Static("", id="compare-detail")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#compare-table", FittedTable).focus()
        self._compare()

    def refresh_from_session(self) -> None:
        """Nothing to refresh: the comparison is of two finished folders, made once."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def _compare(self) -> None:
        try:
            comparison = compare_and_write(self.session.store, self.a_id, self.b_id)
        except (InputError, OSError, ValueError) as exc:
            self.post_message(self.Compared(None, str(exc)))
            return
        self.post_message(self.Compared(comparison, None))

    @on(Compared)
    def _compared(self, event: CompareScreen.Compared) -> None:
        title = self.query_one("#compare-title", Label)
        detail = self.query_one("#compare-detail", Static)
        if event.comparison is None:
            title.update(Text(f"Cannot compare {self.a_id} → {self.b_id}", style="bold red"))
            detail.update(Text(event.error or "", style="red"))
            return
        self.comparison = event.comparison
        data = event.comparison.data
        regressed = shown.regressed_models(data)
        title.update(
            Text.assemble(
                f"{self.a_id} → {self.b_id}  ",
                ("regressed: " + ", ".join(regressed), "bold red")
                if regressed
                else ("no success rate regressed", "green"),
            )
        )
        self._fill()
        lines = [*shown.change_lines(data), *(Text(note, style="dim") for note in shown.notes(data))]
        lines.append(Text(f"Written: {_relative(event.comparison.html)} (and .json)", style="dim"))
        detail.update(Text("\n").join(lines))

    def _fill(self) -> None:
        table = self.query_one("#compare-table", FittedTable)
        rows = shown.contestant_rows(self.comparison.data) if self.comparison is not None else []
        # What says whether a contestant regressed (success, p, verdict) is never cut; the counts, times and
        # tokens go first at 80 columns (the lines below name every flagged change); names shrink last.
        fits = [
            Fit("model", 10, minimum=14),
            Fit("success", 13),
            Fit("runs", 12, drop=2),
            Fit("p", 8),
            Fit("verdict", 9),
            Fit("time", 14, drop=3),
            Fit("tokens", 14, drop=4),
        ]
        fits = [
            replace(f, natural=max([f.natural, len(shown.COLUMNS[f.key]), *(row[f.key].cell_len for row in rows)]))
            for f in fits
        ]
        table.clear(columns=True)
        widths = table.fit(fits)
        for key, width in widths.items():
            table.add_column(shown.COLUMNS[key], key=key, width=width)
        for row in rows:
            table.add_row(*(row[key] for key in widths), key=str(row["model"]))

    @on(FittedTable.Resized, "#compare-table")
    def _resized(self) -> None:
        if self.comparison is not None:
            self._fill()

    def action_back(self) -> None:
        self.app.pop_screen()


def _relative(path: Path) -> str:
    """A path under the working folder as a relative one: shorter, and the same wherever the folder is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
