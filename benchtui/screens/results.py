"""The Results screen: the three podiums, the leaderboard, every run with its diff and transcript, export.

All figures come from ``engine.reports.data.build_report_data`` (the same aggregates and rankings the
reports and the headless summary use); this screen only formats and orders them for display.
The report data and each run's transcript are read in thread workers and shown when they arrive, so
a big batch never holds up the keys; export writes the reports with ``engine.reports.write_reports``
in a thread too and lists their paths.

Just over ~400 lines: the podiums, the leaderboard, the runs table and the run detail are one screen's
widgets sharing its loaded report data and selection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from benchtui.engine.metrics import REPAIRED_MARK, TOTALS, cost_text, figure_kinds_text, repaired_text
from benchtui.engine.rankings import RANKINGS, first_place_tie, place_text, separable_pairs, tie_text
from benchtui.engine.reports import write_reports
from benchtui.engine.reports.data import build_report_data
from benchtui.engine.results import result_run_id
from benchtui.engine.store import Batch
from benchtui.present.format import number, percent, safe_text, status_text
from benchtui.present.session import Session
from benchtui.screens.base import BenchScreen
from benchtui.widgets.podium import Podium
from benchtui.widgets.run_detail import RunDetail
from benchtui.widgets.sortable_table import Column, SortableTable


# Narrow terminals lose the columns with the highest ``drop`` first; what ranks the leaderboard
# (success, then time) and a run's status always stay, and names shrink before anything else goes.
def _marked_name(row: dict[str, Any]) -> Text:
    """The name, after the repair mark when the gateway repaired some of its tool calls (first: a name
    too long for the column is cut at its end)."""
    marked = repaired_text(row.get("repaired_tool_calls"))
    return Text(f"{REPAIRED_MARK} {row['name']}" if marked else str(row["name"]))


def _repaired(value: Any) -> str:
    """``—`` with the repair off, ``0`` when it was on and never needed, ``⚒ 12`` when it was."""
    return "—" if value is None else (f"{REPAIRED_MARK} {value}" if repaired_text(value) else str(value))


LEADERBOARD_COLUMNS = (
    # Sorted by the leaderboard's order; shown as the place, shared by tied rows (=1).
    Column("rank", "#", str, 3, cell=lambda row: row["place"]),
    Column("name", "Model", lambda v: Text(str(v)), minimum=14, cell=_marked_name),
    Column("passed", "Passed", str, 6, descending_first=True, cell=lambda row: f"{row['passed']}/{row['runs']}"),
    Column("success_rate", "Success", percent, 7, descending_first=True),
    # The success rate's 95 % interval, and the models this one cannot be told apart from (their ranks).
    Column("ci_low", "95% CI", str, 7, descending_first=True, cell=lambda row: row["ci"], drop=1),
    Column("tied", "Tied", str, 5, cell=lambda row: row["tied"] or "—"),
    Column("mean_time_s", "Mean time", lambda v: number(v, ".1f", " s"), 9),
    Column("mean_prompts", "Prompts", lambda v: number(v, ".1f"), 7, drop=2),
    Column("mean_interventions", "Interv.", lambda v: number(v, ".1f"), 7, drop=3),
    Column("malformed_replies", "Malformed", lambda v: number(v, "d"), 9, drop=7),
    Column("completion_tokens", "Tokens", lambda v: number(v, ".0f"), 7, drop=6),
    Column("mean_tokens_per_s", "tok/s", lambda v: number(v, ".1f"), 6, drop=4),
    Column("cost_usd", "Cost", cost_text, 8, drop=8),
    # Tool calls the gateway repaired: only in a batch where some contestant's model had the repair on.
    Column("repaired_tool_calls", "Repaired", _repaired, 8, descending_first=True, drop=5, measured_only=True),
)

RUN_COLUMNS = (
    Column("name", "Model", lambda v: Text(str(v)), minimum=14, cell=_marked_name),
    Column(
        "task_id",
        "Task",
        lambda v: Text(str(v)),
        minimum=11,
        cell=lambda row: Text(f"{row['task_id']}" + (f" #{row['repeat']}" if row.get("repeat", 1) != 1 else "")),
    ),
    Column("status", "Status", lambda v: status_text(str(v))),
    Column("completion_time_s", "Time", lambda v: number(v, ".1f", " s"), 7),
    Column("prompts_sent", "Prompts", str, 7, drop=2),
    Column("human_interventions", "Interv.", str, 7, drop=1),
)


class LeaderboardTable(SortableTable):
    """The leaderboard: says when it has fitted its columns to a new width, so that the legend under it
    names the columns it shows."""

    class Refitted(Message):
        pass

    def on_resize(self) -> None:
        super().on_resize()
        self.post_message(self.Refitted())


class ResultsScreen(BenchScreen):
    """The results of one batch (the last one run, or one opened from History)."""

    MODE = "results"
    HELP = """\
**Results**: podiums (fastest, most efficient, most autonomous: passed runs only), the leaderboard
(success rate, then time) and every run.

| Key | Action |
|---|---|
| tab | go between the leaderboard, the runs and the detail |
| s / S | sort the focused table by the next column / reverse it (or click a header) |
| ↑ ↓ | highlight a run: its diff, transcript and check output show on the right |
| ← → | in the detail (tab to it): Diff, Transcript, Check |
| z | zoom the detail to the whole screen, and back |
| e | export the reports (JSON, CSV, HTML) into the batch folder and list their paths |
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "export", "Export"),
        Binding("z", "zoom_detail", "Zoom detail"),
    ]

    class ReportRead(Message):
        """Posted by the reading worker: the batch's report data, or why it could not be read."""

        def __init__(self, batch: Batch, version: int, data: dict[str, Any] | None, error: str | None) -> None:
            super().__init__()
            self.batch, self.version, self.data, self.error = batch, version, data, error

    class TranscriptRead(Message):
        """Posted by the reading worker: one run's stored transcript."""

        def __init__(self, batch: Batch, key: str, result: dict[str, Any], transcript: list[dict[str, Any]]) -> None:
            super().__init__()
            self.batch, self.key, self.result, self.transcript = batch, key, result, transcript

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.shown_batch: Batch | None = None
        self.data: dict[str, Any] | None = None
        self.names: dict[str, str] = {}
        self.exported: tuple[str, ...] = ()
        self.selected_run: str | None = None
        self._version = -1

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        yield Label("", id="results-title")
        yield Static(
            Text("No results yet: run a batch, or open one from 5 History.", style="dim"),
            id="results-empty",
            classes="empty-state",
        )
        with Vertical(id="results-main"):
            with Horizontal(id="podiums"):
                for name in RANKINGS:
                    yield Podium(name, id=f"podium-{name}")
            yield Label("Leaderboard", id="leaderboard-title", classes="pane-title")
            yield LeaderboardTable(LEADERBOARD_COLUMNS, id="leaderboard")
            legend = Label("", id="leaderboard-legend")
            legend.display = False  # until a leaderboard with a total column is shown
            yield legend
            yield Label("", id="repeats-note")
            with Horizontal(id="results-body"):
                with Vertical(id="results-left"):
                    yield Label("Runs", id="runs-title", classes="pane-title")
                    yield SortableTable(RUN_COLUMNS, id="runs")
                yield RunDetail(id="run-detail")
            yield Label("", id="export-status")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.refresh_from_session()

    def refresh_from_session(self) -> None:
        batch = self.session.results_batch
        if batch is None:
            self.set_class(True, "-empty")
            return
        shown = self.shown_batch
        if shown is None or batch.path != shown.path or self.session.results_version != self._version:
            self.load(batch)

    def load(self, batch: Batch) -> None:
        """Read the batch's results (the engine's aggregates and rankings) in a thread; shown when they arrive."""
        self._version = self.session.results_version
        self.shown_batch = batch
        self.set_class(False, "-empty")
        # Until the first batch arrives there is nothing to show; a batch already shown stays until then.
        self.set_class(self.data is None, "-loading")
        self._read_report(batch, self._version)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def _read_report(self, batch: Batch, version: int) -> None:
        try:
            data, error = build_report_data(batch), None
        except Exception as exc:  # said on screen: a worker's exception would only end the worker, unseen
            data, error = None, str(exc)
        if not get_current_worker().is_cancelled:  # a newer read is on its way
            self.post_message(self.ReportRead(batch, version, data, error))

    @on(ReportRead)
    def _report_read(self, event: ResultsScreen.ReportRead) -> None:
        if event.batch is not self.shown_batch or event.version != self._version:
            return  # asked for before the batch shown now
        self.set_class(False, "-loading")
        if event.data is None:
            self.notify(f"Cannot read {event.batch.batch_id}: {event.error}", severity="error", markup=False)
            return
        self._show_report(event.data)

    def _show_report(self, data: dict[str, Any]) -> None:
        self.data = data
        self.names = {key: str(m.get("display_name") or key) for key, m in data["models"].items()}
        self.exported = ()
        self.query_one("#export-status", Label).update(Text(""))
        info = data["batch"]
        runs = data["runs"]
        passed = sum(1 for r in runs if r.get("status") == "passed")
        title = Text(f"{info['batch_id']}", style="bold")
        title.append(" ")
        title.append(str(info.get("status")), style="green" if info.get("status") == "finished" else "yellow")
        title.append(
            f" · {len(info.get('tasks') or [])} task(s) × {len(data['models'])} model(s) · "
            f"{passed}/{len(runs)} run(s) passed"
            + (f" of {info['runs_planned']} planned" if info.get("runs_planned") not in (None, len(runs)) else "")
        )
        self.query_one("#results-title", Label).update(title)
        aggregates = data["aggregates"]
        marked = {
            key: f"{REPAIRED_MARK} {name}"
            if repaired_text(aggregates.get(key, {}).get("repaired_tool_calls"))
            else name
            for key, name in self.names.items()
        }
        for name in RANKINGS:
            self.query_one(f"#podium-{name}", Podium).show(data["rankings"].get(name, []), marked)
        board_rows = []
        board = data["rankings"]["leaderboard"]
        for entry in board:
            agg = aggregates[entry["model"]]
            ci = agg.get("success_ci")
            board_rows.append(
                {
                    "key": entry["model"],
                    "rank": entry["rank"],
                    "place": place_text(entry, board),
                    "name": self.names.get(entry["model"], entry["model"]),
                    "passed": agg["passed"],
                    "runs": agg["runs"],
                    "ci_low": ci["low"] if ci else None,
                    "ci": f"{ci['low'] * 100:.0f}–{ci['high'] * 100:.0f}%" if ci else "—",
                    "tied": tie_text(entry, board).removeprefix("tied with ").replace(", ", " "),
                    **{
                        k: agg.get(k)
                        for k in (
                            "success_rate",
                            "mean_time_s",
                            "mean_prompts",
                            "mean_interventions",
                            "malformed_replies",
                            "completion_tokens",
                            "mean_tokens_per_s",
                            "cost_usd",
                            "repaired_tool_calls",
                        )
                    },
                }
            )
        leaderboard = self.query_one("#leaderboard", SortableTable)
        leaderboard.set_rows(board_rows)
        note = self.query_one("#repeats-note", Label)
        text = repeats_note(data, self.names)
        note.update(text)
        note.display = bool(text.plain)  # a batch without anything to say keeps the line for the runs
        run_rows = [
            {"key": result_run_id(r), "name": self.names.get(str(r["model"]), str(r["model"])), **r} for r in runs
        ]
        self.query_one("#runs", SortableTable).set_rows(run_rows)
        self._titles()
        if run_rows:
            self._show_run(run_rows[0]["key"])
        leaderboard.focus()

    @on(SortableTable.Sorted)
    def _sorted(self, event: SortableTable.Sorted) -> None:
        self._titles()

    def _titles(self) -> None:
        board = self.query_one("#leaderboard", SortableTable)
        title = "Leaderboard (rank: success rate, then time) · " + board.sort_description()
        hint = " · s: next column · S: reverse · or click a header"
        # The footer says s sorts: on a narrow screen the title keeps one line instead.
        self.query_one("#leaderboard-title", Label).update(
            Text(title + hint if len(title + hint) <= self.size.width - 2 else title)
        )
        runs = self.query_one("#runs", SortableTable)
        self.query_one("#runs-title", Label).update(Text("Runs · " + runs.sort_description()))
        # Which of the columns shown are means per run and which totals; only while a total is shown beside
        # the means (narrow screens drop the totals first, and "Mean time" says what it is: the line would
        # only cost 80x24 its last row).
        shown = {str(key.value) for key in board.columns}
        labels = {c.key: c.label for c in LEADERBOARD_COLUMNS if c.key in shown}
        kinds = figure_kinds_text(labels)
        legend = self.query_one("#leaderboard-legend", Label)
        legend.update(Text(kinds[:1].upper() + kinds[1:], style="dim", no_wrap=True, overflow="ellipsis"))
        legend.display = any(key in TOTALS for key in labels)

    def on_resize(self) -> None:
        if self.data is not None:
            self._titles()

    @on(LeaderboardTable.Refitted)
    def _refitted(self) -> None:
        if self.data is not None:
            self._titles()  # the legend names the columns shown at this width

    @on(DataTable.RowHighlighted, "#runs")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show_run(str(event.row_key.value))

    @on(DataTable.RowSelected, "#runs")
    def _run_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self._show_run(str(event.row_key.value))

    def _show_run(self, key: str) -> None:
        if self.data is None or self.shown_batch is None:
            return
        result = next((r for r in self.data["runs"] if result_run_id(r) == key), None)
        if result is None:
            return
        self.selected_run = key
        self._read_transcript(self.shown_batch, key, result)

    @work(thread=True, exclusive=True, exit_on_error=False, group="transcript")
    def _read_transcript(self, batch: Batch, key: str, result: dict[str, Any]) -> None:
        transcript = batch.load_transcript(result)
        if not get_current_worker().is_cancelled:  # another run was highlighted since
            self.post_message(self.TranscriptRead(batch, key, result, transcript))

    @on(TranscriptRead)
    def _transcript_read(self, event: ResultsScreen.TranscriptRead) -> None:
        if event.batch is not self.shown_batch or event.key != self.selected_run:
            return
        result = event.result
        self.query_one(RunDetail).show(
            result, event.transcript, self.names.get(str(result["model"]), str(result["model"]))
        )

    def action_zoom_detail(self) -> None:
        """The diff and transcript need width; the runs table beside them does not."""
        if self.maximized is not None:
            self.minimize()
        elif self.data is not None:
            self.maximize(self.query_one(RunDetail), container=False)

    # Export

    def action_export(self) -> None:
        if self.shown_batch is None:
            self.notify("No batch to export", severity="warning")
            return
        self.query_one("#export-status", Label).update(Text("Writing the reports…", style="dim"))
        self._export(self.shown_batch)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _export(self, batch: Batch) -> tuple[Any, ...]:
        return write_reports(batch)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "export":
            return
        status = self.query_one("#export-status", Label)
        if event.state == WorkerState.SUCCESS:
            paths = tuple(str(p) for p in (event.worker.result or ()))
            self.exported = paths
            folders = sorted({str(Path(p).parent) for p in paths})
            text = Text(f"Exported {', '.join(Path(p).name for p in paths)} to ", style="green")
            text.append_text(safe_text(", ".join(folders)))
            status.update(text)
            self.notify("Reports written:\n" + "\n".join(paths), title="Export", markup=False)
        elif event.state == WorkerState.ERROR:
            status.update(Text(f"Export failed: {event.worker.error}", style="red"))
            self.notify(f"Export failed: {event.worker.error}", severity="error", markup=False)


def repeats_note(data: dict[str, Any], names: dict[str, str]) -> Text:
    """One line under the leaderboard: what its order cannot say (tool calls the gateway repaired, a tie for
    first, flaky tasks, pairs more repeats could separate, repeats at temperature 0). Empty when there is
    nothing to say."""
    parts: list[str] = []
    # First: the count beside the mark the names carry, so that 80 columns still say how much help it took.
    repaired = [
        f"{names.get(m, m)} {repaired_text(agg.get('repaired_tool_calls')).removeprefix(REPAIRED_MARK + ' ')}"
        for m, agg in data["aggregates"].items()
        if repaired_text(agg.get("repaired_tool_calls"))
    ]
    if repaired:
        parts.append(f"{REPAIRED_MARK} " + ", ".join(repaired))
    first = first_place_tie(data["rankings"]["leaderboard"])
    if first:
        parts.append("1st is a tie: " + ", ".join(names.get(m, m) for m in first))
    flaky = [names.get(m, m) for m, agg in data["aggregates"].items() if agg.get("flaky_tasks")]
    if flaky:
        parts.append("flaky: " + ", ".join(flaky))
    separable = separable_pairs(data.get("paired") or [])
    if separable:
        pair = separable[0]
        parts.append(
            f"~{pair['repeats_to_separate']} repeats could separate "
            f"{names.get(pair['a'], pair['a'])} / {names.get(pair['b'], pair['b'])}"
        )
    if data["batch"].get("determinism"):
        parts.append("temperature 0: repeats measure determinism")
    return Text(" · ".join(parts), style="yellow", no_wrap=True, overflow="ellipsis")
