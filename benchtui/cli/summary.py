"""The end-of-batch summary ``benchtui --no-ui`` prints: podiums, the leaderboard with its legend and tie
notes, the repeat, cut-off, runaway, repair, cost and endpoint notes, as rich renderables (no terminal
needed: tests render them into a recording Console).

Figures and rankings are the engine's (``metrics``, ``rankings``), formatted here, never recomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from benchtui.engine import metrics, rankings
from benchtui.engine.results import FINISHED_STATUSES, RunResult
from benchtui.present.repeats import repeat_notes

WIDE = 110


def figure_text(value: float | None, spec: str = ".1f", unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def percent(ratio: float | None) -> float | None:
    return None if ratio is None else 100 * ratio


def _count(value: float | None) -> str:
    """A mean of counts: whole numbers as integers (``5``, not ``5.00``), others with what the fraction needs."""
    if value is None:
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _podium_value(value: float | None, unit: str) -> str:
    if unit == "s":
        return f"{figure_text(value, '.2f')} s"
    shown = _count(value)
    # "1 prompt", "2 prompts", "1.5 prompts"
    return f"{shown} {unit.removesuffix('s') if shown == '1' else unit}"


#: The leaderboard's columns that show an aggregate figure: column -> ``metrics.aggregate``'s key.
BOARD_KEYS = {
    "Time": "mean_time_s",
    "Prompts": "mean_prompts",
    "Interv.": "mean_interventions",
    "Malformed": "malformed_replies",
    "Cut off": "truncated_replies",
    "Tokens": "completion_tokens",
    "tok/s": "mean_tokens_per_s",
    "Cost": "cost_usd",
    "Cache": "cache_hit_ratio",
    "Repaired": "repaired_tool_calls",
}


def summary(
    results: list[RunResult],
    models: dict[str, str] | None = None,
    width: int = 80,
    pools: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> Group:
    """The end-of-batch summary: the podiums and the leaderboard (from engine.rankings). ``pools``: the
    batch's model snapshots by key and its manifest's ``endpoints_out``, so the Endpoints table lists every
    endpoint of a pool, one that served nothing or was taken out too, as the HTML report does."""
    aggregates = metrics.aggregate_by_model(results)
    paired = metrics.paired_comparisons(results, aggregates)
    ranked = rankings.rank(aggregates, paired)
    names = models or {}
    grid = Table.grid(padding=(0, 2))
    for key, (icon, title, _field, unit) in rankings.RANKINGS.items():
        first = ranked[key][0] if ranked[key] else None
        value = (
            "no model passed"
            if first is None
            else (f"{names.get(first['model'], first['model'])} ({_podium_value(first['value'], unit)})")
        )
        tie = rankings.first_place_tie(ranked[key])
        if tie:
            value += f", a tie with {', '.join(names.get(m, m) for m in tie[1:])}"
        grid.add_row(f"{icon} {title}", value)
    # Three rows of "no model passed" say one thing three times.
    podium = grid if any(ranked[key] for key in rankings.RANKINGS) else Text("No model passed, so there is no podium.")
    # Model keys, not display names, and no wrapping. At 80 columns the two least needed columns go
    # (the reports have every figure) and the legend says so.
    wide = width >= 100
    board = Table(
        title="Leaderboard", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True, show_edge=False
    )
    columns = [
        *("#", "Model", "Pass", "95% CI", "Time", "Prompts", "Interv.", "Malformed", "Cut off", "Tokens", "tok/s"),
        *("Cost", "Cache"),
    ]
    repairing = any(agg.get("repaired_tool_calls") is not None for agg in aggregates.values())
    if repairing:
        columns.append("Repaired")  # only when some contestant's model had the repair on
    if not wide:
        columns = [c for c in columns if c not in ("Malformed", "Cut off", "Tokens", "Cache", "Repaired")]
    for column in columns:
        if column == "Model":
            # Wide: room for a contestant's whole name (``mini-swe-agent · smollm2-135m``).
            board.add_column(column, no_wrap=True, overflow="ellipsis", min_width=10, max_width=32 if wide else 18)
        else:
            board.add_column(column, justify="right", no_wrap=True)
    for entry in ranked["leaderboard"]:
        agg = aggregates[entry["model"]]
        cells = {
            "#": rankings.place_text(entry, ranked["leaderboard"]),  # =1 for a tie
            # The mark first: a long name is cut at its end, and the mark must survive at 80 columns.
            "Model": _marked(entry["model"], agg.get("repaired_tool_calls")),
            "Pass": f"{agg['passed']}/{agg['runs']}",
            "95% CI": _interval(agg["success_ci"]),
            "Time": figure_text(agg["mean_time_s"], ".1f", " s"),
            "Prompts": figure_text(agg["mean_prompts"], ".1f"),
            "Interv.": figure_text(agg["mean_interventions"], ".1f"),
            "Malformed": figure_text(agg["malformed_replies"], "d"),  # — for an assistant's: benchtui parsed none
            "Cut off": figure_text(agg["truncated_replies"], "d"),
            "Tokens": figure_text(agg["completion_tokens"], ".0f"),
            "tok/s": figure_text(agg["mean_tokens_per_s"], ".1f"),
            "Cost": metrics.cost_text(agg["cost_usd"]),
            "Cache": figure_text(percent(agg.get("cache_hit_ratio")), ".0f", " %"),
            "Repaired": figure_text(agg.get("repaired_tool_calls"), "d"),
        }
        board.add_row(*(cells[c] for c in columns))
    # Which figures are means per run and which totals over the runs, for the columns shown: side by side
    # in one row, "5" prompts and "10" malformed replies would otherwise read alike.
    kinds = metrics.figure_kinds_text({BOARD_KEYS[c]: c for c in columns if c in BOARD_KEYS})
    legend = Text(
        kinds[:1].upper()
        + kinds[1:]
        + " · Interv.: human interventions (hints and typed messages)"
        + (
            " · Malformed: replies whose edits could not be applied (—: an assistant's, which benchtui does not "
            "parse) · Cut off: replies the server stopped at the token limit · Tokens: completion tokens · "
            "Cache: prompt tokens read from the server's prompt cache"
            if wide
            else " · malformed replies and tokens: in the reports"
        ),
        style="dim",
    )
    return Group(
        podium,
        board,
        legend,
        *repeat_notes(aggregates, ranked, paired),
        *_cut_off_warning(aggregates),
        *_runaway_warning(aggregates),
        *_repaired_note(aggregates),
        *_endpoints_table(results, pools),
        *_cost_note(results),
    )


def _marked(model: str, repaired: Any) -> str:
    return f"{metrics.REPAIRED_MARK} {model}" if metrics.repaired_text(repaired) else model


def _repaired_note(aggregates: dict[str, dict[str, Any]]) -> list[Text]:
    """A line at any width naming the contestants whose tool calls the gateway had to repair, and how many."""
    repaired = {
        model: int(agg["repaired_tool_calls"])
        for model, agg in aggregates.items()
        if metrics.repaired_text(agg.get("repaired_tool_calls"))
    }
    return _counted_line(
        repaired,
        lambda total, who: (
            f"{metrics.REPAIRED_MARK} {total} tool {'call' if total == 1 else 'calls'} written as text "
            f"{'was' if total == 1 else 'were'} made real calls by the gateway ({who}): "
            "those figures are with that help (repair_tool_calls)"
        ),
    )


def _counted_line(counts: dict[str, int], sentence: Callable[[int, str], str]) -> list[Text]:
    """The one yellow line of a per-contestant count (none when no contestant has one): ``sentence`` gets the
    total and the "model count, ..." list."""
    if not counts:
        return []
    who = ", ".join(f"{model} {count}" for model, count in counts.items())
    return [Text(sentence(sum(counts.values()), who), style="yellow")]


def _endpoints_table(results: list[RunResult], pools: tuple[dict[str, Any], dict[str, Any]] | None) -> list[Table]:
    """Each endpoint of a pool with its runs and speed (reports.endpoints), and whether it is still in the
    pool: only for pooled models, so a slow or dead box in the pool shows."""
    # Imported here: the reports package (HTML included) is not loaded before a batch ends (figure 4b).
    from benchtui.engine.reports.endpoints import endpoint_rows

    rows = endpoint_rows(results, *(pools or ()))
    if not rows:
        return []
    table = Table(
        title="Endpoints (Time, tok/s: median per run)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        show_edge=False,
    )
    table.add_column("Model", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("Endpoint", no_wrap=True, overflow="ellipsis", max_width=28)
    for column in ("Runs", "Passed", "Time", "tok/s"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("In the pool", no_wrap=True, overflow="ellipsis", max_width=40)
    for row in rows:
        table.add_row(
            row["model"],
            row["endpoint"],
            str(row["runs"]),
            str(row["passed"]),
            figure_text(row["median_time_s"], ".1f", " s"),
            figure_text(row["median_tokens_per_s"], ".1f"),
            Text(f"taken out: {row['out']}", style="red")
            if row.get("out")
            else ("yes" if row["runs"] else "yes, served no run"),
        )
    return [table]


def _cost_note(results: list[RunResult]) -> list[Text]:
    """A line when a contestant's Cost is — although some of its runs have one: the others' costs are not
    known (a cache rate its pricing lacks, a request that failed before its usage came), so their sum is
    not its total."""
    by_model: dict[str, list[RunResult]] = {}
    for result in results:
        if result.get("status") in FINISHED_STATUSES:
            by_model.setdefault(str(result["model"]), []).append(result)
    partial = {
        model: (len(metrics.cost_unknown(runs)), len(runs))
        for model, runs in by_model.items()
        if metrics.cost_unknown(runs) and any(r.get("cost_usd") is not None for r in runs)
    }
    if not partial:
        return []
    who = ", ".join(f"{model} {unknown} of {runs}" for model, (unknown, runs) in partial.items())
    return [Text(f"Cost —: some runs' cost is not known ({who} runs; the batch log says why)", style="yellow")]


def _interval(ci: dict[str, float] | None) -> str:
    """A success-rate interval in percent: ``70–97%``; ``—`` when there is none (no finished run)."""
    if ci is None:
        return "—"
    return f"{ci['low'] * 100:.0f}–{ci['high'] * 100:.0f}%"


def _cut_off_warning(aggregates: dict[str, dict[str, Any]]) -> list[Text]:
    """A line at any width when replies were cut at the token limit: only the transcripts showed it before."""
    cut = {model: agg["truncated_replies"] for model, agg in aggregates.items() if agg["truncated_replies"]}
    return _counted_line(
        cut,
        lambda total, who: (
            f"⚠ {total} {'reply was' if total == 1 else 'replies were'} cut off by the token limit "
            f"({who}): raise settings.max_tokens"
        ),
    )


def _runaway_warning(aggregates: dict[str, dict[str, Any]]) -> list[Text]:
    """A line at any width when replies were stopped for repeating themselves."""
    stopped = {model: agg["runaway_replies"] for model, agg in aggregates.items() if agg.get("runaway_replies")}
    return _counted_line(
        stopped,
        lambda total, who: (
            f"⚠ {total} {'reply was' if total == 1 else 'replies were'} stopped for repeating the same text ({who})"
        ),
    )
