"""The History screen: past batches from the results store, opened into Results, resumed on Run, or two of
them compared (``m`` marks, ``c`` opens the comparison screen over History).

The list comes from ``ResultsStore.list_batches`` (the same store the headless ``history`` uses), read
in a thread worker: a results folder of many batches must not hold up the keys.
A batch that did not finish all its planned runs (interrupted, failed, or left ``running`` by a
process that died) can be resumed: only its missing runs are run, on the Run screen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Label, Static
from textual.worker import get_current_worker

from benchtui.engine.store import BatchInfo
from benchtui.messages import OpenBatch, ResumeBatch
from benchtui.present.format import STATUS_STYLES, created
from benchtui.present.session import Session
from benchtui.screens.base import BenchScreen
from benchtui.screens.compare import CompareScreen
from benchtui.widgets.columns import Fit, FittedTable


def resumable(info: BatchInfo) -> bool:
    return info.status != "finished" or info.finished < info.planned


class HistoryTable(FittedTable):
    """The batches, newest first."""


HISTORY_COLUMNS = {
    "batch": "Batch",
    "created": "Created",
    "tasks": "Tasks",
    "models": "Models",
    "passed": "Passed/total",
    "state": "State",
}


class HistoryScreen(BenchScreen):
    """Past batches: open their results, resume the unfinished ones."""

    MODE = "history"
    HELP = """\
**History**: every batch in the results folder, newest first.

| Key | Action |
|---|---|
| ↑ ↓ | highlight a batch |
| enter / o | open its results |
| r | resume it (unfinished batches): only the missing runs run, on the Run screen |
| m | mark it (or unmark it) for a comparison: two at most, the earlier is A |
| c | compare the two marked batches (or the marked one and the highlighted one): what improved, what regressed |
| g | reload the list |
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open", "Open"),
        Binding("r", "resume", "Resume"),
        Binding("m", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("g", "reload", "Reload"),
    ]

    class Listed(Message):
        """Posted by the reading worker with the batches it found, newest first."""

        def __init__(self, batches: list[BatchInfo]) -> None:
            super().__init__()
            self.batches = batches

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.batches: list[BatchInfo] = []
        self.marked: list[str] = []  # batch ids marked for a comparison, in the order they were marked

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        yield Label("Past batches", id="history-title", classes="pane-title")
        yield HistoryTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static(
            Text("No batch yet. Batches you run appear here.", style="dim"), id="history-empty", classes="empty-state"
        )
        yield Static("", id="history-detail")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        table = self.query_one(HistoryTable)
        self.reload()
        table.focus()

    def refresh_from_session(self) -> None:
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the results folder again (in a thread); the list is shown when it arrives."""
        self._list_batches()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def _list_batches(self) -> None:
        batches = self.session.store.list_batches()
        # A reload started since: its list comes after this one would, and is newer.
        if not get_current_worker().is_cancelled:
            self.post_message(self.Listed(batches))

    @on(Listed)
    def _listed(self, event: HistoryScreen.Listed) -> None:
        table = self.query_one(HistoryTable)
        selected = self.selected_batch
        self.batches = event.batches
        self.marked = [m for m in self.marked if any(b.batch_id == m for b in self.batches)]
        self._fill(table)
        self.set_class(not self.batches, "-empty")
        self._show_title()
        if selected is not None:
            index = next((i for i, b in enumerate(self.batches) if b.batch_id == selected), None)
            if index is not None:
                table.move_cursor(row=index, animate=False)
        self._show_detail()

    def _show_title(self) -> None:
        title = Text(f"Past batches ({len(self.batches)})")
        if len(self.marked) == 2:
            title.append(" · A and B marked: c compares them", style="bold magenta")
        elif self.marked:
            title.append(" · ● marked: c compares it with the highlighted batch", style="magenta")
        self.query_one("#history-title", Label).update(title)

    def _fill(self, table: HistoryTable) -> None:
        sides = self._sides()
        rows = [self._cells(info, sides.get(info.batch_id)) for info in self.batches]
        # The date is in the batch id too, so it goes first; tasks and models shrink (the line below the
        # table lists them whole); the batch, passed/total and the state are never cut.
        fits = [
            Fit("batch", 5),
            Fit("created", 7, drop=2),
            Fit("tasks", 5, minimum=11),
            Fit("models", 6, minimum=11),
            Fit("passed", 12),
            Fit("state", 5),
        ]
        fits = [replace(f, natural=max([f.natural, *(row[f.key].cell_len for row in rows)])) for f in fits]
        table.clear(columns=True)
        widths = table.fit(fits)
        for key, width in widths.items():
            table.add_column(HISTORY_COLUMNS[key], key=key, width=width)
        for info, row in zip(self.batches, rows, strict=True):
            table.add_row(*(row[key] for key in widths), key=info.batch_id)

    def _in_order(self, batch_ids: list[str]) -> list[str]:
        """Batches oldest first (by creation time, then id): the earlier of two is A."""
        created_at = {b.batch_id: b.created_at for b in self.batches}
        return sorted(batch_ids, key=lambda batch_id: (created_at.get(batch_id, ""), batch_id))

    def _sides(self) -> dict[str, str]:
        """The marked batches as A and B (one alone is only marked: which side it takes depends on the other)."""
        if len(self.marked) == 1:
            return {self.marked[0]: "●"}
        return {batch_id: side for side, batch_id in zip("AB", self._in_order(self.marked), strict=False)}

    @staticmethod
    def _cells(info: BatchInfo, side: str | None = None) -> dict[str, Text]:
        state = info.status if info.finished >= info.planned or info.status != "finished" else "incomplete"
        return {
            "batch": Text.assemble(info.batch_id, (f" {side}", "bold magenta") if side else ""),
            "created": Text(created(info.created_at)),
            "tasks": Text(", ".join(info.tasks), overflow="ellipsis", no_wrap=True),
            "models": Text(", ".join(info.models), overflow="ellipsis", no_wrap=True),
            "passed": Text(
                f"{info.passed}/{info.planned}" + ("" if info.finished >= info.planned else f" ({info.finished} done)")
            ),
            "state": Text(state, style=STATUS_STYLES.get(state, "yellow")),
        }

    @on(FittedTable.Resized, "#history-table")
    def _resized(self) -> None:
        table = self.query_one(HistoryTable)
        selected = self.selected_batch
        self._fill(table)
        index = next((i for i, b in enumerate(self.batches) if b.batch_id == selected), None)
        if index is not None:
            table.move_cursor(row=index, animate=False)

    @property
    def selected_batch(self) -> str | None:
        table = self.query_one(HistoryTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    def _info(self) -> BatchInfo | None:
        selected = self.selected_batch
        return next((b for b in self.batches if b.batch_id == selected), None)

    @on(DataTable.RowHighlighted, "#history-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        info = self._info()
        detail = self.query_one("#history-detail", Static)
        if info is None:
            detail.update("")
            return
        text = Text(info.batch_id, style="bold")
        text.append(f"  {info.status}\n", style=STATUS_STYLES.get(info.status, "yellow"))
        text.append(f"Tasks: {', '.join(info.tasks)}\nModels: {', '.join(info.models)}\n")
        text.append(f"{info.finished} of {info.planned} run(s) done, {info.passed} passed.  ")
        if info.alive:
            text.append("Another benchtui is running it now: wait for it, or stop it first.", style="yellow")
        elif resumable(info):
            text.append(f"r resumes it: {info.planned - info.finished} run(s) to do.", style="bold yellow")
        else:
            text.append("enter opens its results.", style="dim")
        detail.update(text)

    @on(DataTable.RowSelected, "#history-table")
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        info = self._info()
        if info is not None:
            self.post_message(OpenBatch(info.batch_id))

    def action_resume(self) -> None:
        info = self._info()
        if info is None:
            return
        if not resumable(info):
            self.notify(f"{info.batch_id} already finished all its runs", severity="warning", markup=False)
            return
        self.post_message(ResumeBatch(info.batch_id))

    def action_mark(self) -> None:
        info = self._info()
        if info is None:
            return
        if info.batch_id in self.marked:
            self.marked.remove(info.batch_id)
        else:
            self.marked = [*self.marked, info.batch_id][-2:]  # a third mark replaces the oldest
        self._refill()
        self._show_title()

    def _refill(self) -> None:
        table = self.query_one(HistoryTable)
        selected = self.selected_batch
        self._fill(table)
        index = next((i for i, b in enumerate(self.batches) if b.batch_id == selected), None)
        if index is not None:
            table.move_cursor(row=index, animate=False)
        self._show_detail()

    def action_compare(self) -> None:
        pair = list(self.marked)
        if len(pair) == 1 and self.selected_batch not in (None, pair[0]):
            pair.append(str(self.selected_batch))
        if len(pair) != 2:
            self.notify(
                "Mark two batches with m (or mark one and highlight the other), then press c",
                severity="warning",
                markup=False,
            )
            return
        a_id, b_id = self._in_order(pair)
        self.app.push_screen(CompareScreen(self.session, a_id, b_id))
