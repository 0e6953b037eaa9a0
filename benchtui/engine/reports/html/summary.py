"""The page's summary sections, top to bottom: the batch header (tasks, facts, environment), the three
podiums of ``rankings.RANKINGS``, the leaderboard (sortable by any column) and the task × model matrix.

Figures and rankings are the engine's (report data), formatted here, never recomputed.

Just over ~400 lines: the leaderboard's columns (which to show, their notes and sort values) are most of it,
and its header, podiums and matrix share their formatting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchtui.engine.metrics import REPAIRED_MARK, figure_kinds_text
from benchtui.engine.rankings import RANKINGS, first_place_tie, place_text, tie_text
from benchtui.engine.reports.html import format as fmt
from benchtui.engine.reports.html.format import (
    DASH,
    REPAIRED_NOTE,
    badge,
    esc,
    model_name,
    model_order,
    provider,
    repaired_mark,
)
from benchtui.engine.tasks import run_time_limits

RANKING_NOTES = {
    "fastest": "lowest mean completion time of its passed runs",
    "most_efficient": "fewest prompts per passed run",
    "most_autonomous": "fewest human interventions per passed run",
}
BATCH_STATUSES = ("finished", "running", "interrupted", "error")


# Header


def _time_limit(cap: Any, tasks: list[dict[str, Any]]) -> str:
    """What a run was allowed: each task's own timeout, capped by ``--timeout``."""
    cap_s = fmt.number(cap)
    own = [fmt.number(t.get("timeout_s")) for t in tasks]
    limits = run_time_limits([t for t in own if t is not None], cap_s) if cap_s is not None else None
    if cap_s is None or limits is None:
        return f"timeout {fmt.seconds(cap)} per run"
    low, high = limits
    shown = fmt.seconds(low) if low == high else f"{fmt.seconds(low)} to {fmt.seconds(high)}"
    whose = "the task's own" if len(tasks) == 1 else "the tasks' own"
    return f"timeout {shown} per run" + (f" ({whose}, under the {fmt.seconds(cap_s)} cap)" if high < cap_s else "")


def _options(options: dict[str, Any], tasks: list[dict[str, Any]]) -> str:
    """The batch options in words; unknown options as ``key value``."""
    parts = []
    for key, value in options.items():
        if key == "parallel":
            parts.append(
                "one run at a time"
                if value is None
                else "parallel, each endpoint's default limit"
                if value == 0
                else f"{value} at a time per endpoint"
            )
        elif key == "timeout_s":
            parts.append(_time_limit(value, tasks))
        elif key == "repeats":
            parts.append(f"{value} {fmt.plural(fmt.number(value) or 0, 'repeat')}")
        elif key == "embedded_threads":
            if value is not None:
                parts.append(f"{value} embedded {fmt.plural(fmt.number(value) or 0, 'thread')}")
        elif key == "preset":
            if value is not None:
                parts.append(f"preset {value}")
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return " · ".join(parts) or DASH


def header_section(data: dict[str, Any]) -> str:
    batch = data.get("batch") or {}
    env = data.get("environment") or {}
    models: dict[str, Any] = data.get("models") or {}
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    tasks = batch.get("tasks") or []
    options = batch.get("options") or {}
    titles = [str(t.get("title") or t.get("id") or "?") for t in tasks]
    if len(titles) == 1:
        heading = titles[0]
    elif titles:
        heading = f"{len(titles)} tasks: " + ", ".join(titles)
    else:
        heading = "No task"
    passed = sum(int(a.get("passed") or 0) for a in aggregates.values())
    finished = sum(int(a.get("runs") or 0) for a in aggregates.values())
    planned = batch.get("runs_planned")
    out = [
        '<header class="top card">',
        f'<div class="eyebrow">benchtui comparison · {esc(batch.get("batch_id"))}</div>',
        f"<h1>{esc(heading)}</h1>",
        '<ul class="tasks">',
    ]
    for task in tasks:
        out.append(
            f'<li><span class="muted">{esc(task.get("difficulty") or "task")}</span> · '
            f"<b>{esc(task.get('title') or task.get('id'))}</b> "
            f'<code class="muted">{esc(task.get("id"))}</code></li>'
        )
    out.append("</ul>")
    out.append('<div class="stats">')
    stats = (
        (str(len(models)), "models" if len(models) != 1 else "model"),
        (
            f"{finished}" + (f" / {planned}" if isinstance(planned, int) else ""),
            "runs finished" + (" / planned" if isinstance(planned, int) else ""),
        ),
        (str(passed), "runs passed"),
        (fmt.percent(passed / finished) if finished else DASH, "pass rate, all runs"),
    )
    for value, label in stats:
        out.append(f'<div class="stat"><b>{esc(value)}</b><span>{esc(label)}</span></div>')
    out.append("</div>")
    facts: list[tuple[str, str]] = [
        ("Batch", f"<code>{esc(batch.get('batch_id'))}</code>"),
        ("Created", esc(fmt.when(batch.get("created_at")))),
        ("Status", badge(batch.get("status"), BATCH_STATUSES)),
        (
            "Models",
            ", ".join(esc(model_name(models, key)) + repaired_mark(aggregates, key) for key in model_order(data))
            or DASH,
        ),
        ("Options", esc(_options(options, tasks))),
        ("Precision", esc(_precision(batch.get("planned_precision")))),
        (
            "Versions",
            f"benchtui {esc(batch.get('benchtui_version') or DASH)} · prompts "
            f"{esc(batch.get('prompt_version') or DASH)}",
        ),
    ]
    cpu = str(env.get("cpu") or DASH) + (f" × {env.get('cpu_count')}" if env.get("cpu_count") else "")
    env_facts = [
        ("Python", env.get("python")),
        ("OS", env.get("os")),
        ("Machine", env.get("machine")),
        ("CPU", cpu),
        ("Ollama", env.get("ollama_version")),
        ("benchtui", env.get("benchtui_version")),
    ]
    out.append('<div class="about"><div><h4>Batch</h4><dl class="facts">')
    out.extend(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    out.append('</dl></div><div><h4>Environment</h4><dl class="facts">')
    out.extend(f"<dt>{label}</dt><dd>{esc(value or DASH)}</dd>" for label, value in env_facts)
    out.append("</dl></div></div>")
    determinism = str(batch.get("determinism") or "")
    if determinism:
        # Upper-cased first letter only: str.capitalize would lower-case the model keys after it.
        out.append(f'<p class="note warn-note">⚠ {esc(determinism[:1].upper() + determinism[1:])}</p>')
    out.append("</header>")
    return "".join(out)


def _precision(plan: Any) -> str:
    """What the planned repeats can tell: the widest 95 % half width of a success rate."""
    if not isinstance(plan, dict) or plan.get("contestant_half_width") is None:
        return DASH
    text = (
        f"success rate to within ±{fmt.number(plan['contestant_half_width'] * 100):.0f} points per model "
        f"({plan.get('tasks')} × {plan.get('repeats')} runs, 95 %, at worst)"
    )
    if (plan.get("tasks") or 0) > 1 and plan.get("task_half_width") is not None:
        text += f", ±{fmt.number(plan['task_half_width'] * 100):.0f} per task"
    return text


# Podiums


def podiums_section(data: dict[str, Any]) -> str:
    models: dict[str, Any] = data.get("models") or {}
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    rankings: dict[str, Any] = data.get("rankings") or {}
    out = ['<section id="podiums"><h2>Podiums <small>passed runs only</small></h2><div class="podiums">']
    for name, (icon, title, _key, unit) in RANKINGS.items():
        entries = rankings.get(name) or []
        out.append(
            f'<article class="podium card" id="podium-{esc(name)}"><h3><span class="icon">{esc(icon)}'
            f"</span>{esc(title)}</h3>"
            f'<p class="what">{esc(RANKING_NOTES.get(name, title))}</p>'
        )
        if not entries:
            out.append('<p class="nobody">No model passed — nothing to rank.</p></article>')
            continue
        out.append('<div class="steps">')
        for place in (2, 1, 3):
            if place > len(entries):
                out.append('<div class="step"></div>')
                continue
            entry = entries[place - 1]
            model = str(entry.get("model"))
            out.append(
                f'<div class="step p{place}"><span class="who">{esc(model_name(models, model))}'
                f"{repaired_mark(aggregates, model)}</span>"
                f'<span class="val">{esc(fmt.quantity(entry.get("value"), unit))}</span>'
                f'<div class="block">{place}</div></div>'
            )
        out.append("</div>")
        tie = first_place_tie(entries)
        if tie:
            # Under the podium (its order is drawn), saying what the order cannot.
            out.append(
                '<p class="tie">1st place is a tie: '
                + ", ".join(esc(model_name(models, m)) for m in tie)
                + " <small>(their medians' 95 % intervals overlap)</small></p>"
            )
        if len(entries) > 3:
            out.append('<ol class="runners">')
            for entry in entries[3:]:
                model = str(entry.get("model"))
                out.append(
                    f"<li><span>{esc(entry.get('rank'))}. {esc(model_name(models, model))}"
                    f"{repaired_mark(aggregates, model)}</span>"
                    f"<span>{esc(fmt.quantity(entry.get('value'), unit))}</span></li>"
                )
            out.append("</ol>")
        out.append("</article>")
    out.append("</div></section>")
    return "".join(out)


# Leaderboard


@dataclass(frozen=True)
class _Column:
    label: str
    key: str  # aggregate key; "" for the computed cells (rank, model, provider)
    show: Callable[[Any], str]
    numeric: bool = True
    first: str = "ascending"  # the direction of the first click
    note: str = ""


_COLUMNS = (
    _Column(
        "Success",
        "success_rate",
        fmt.percent,
        first="descending",
        note="passed / finished runs, with its 95 % interval (Wilson) below",
    ),
    _Column("Passed", "passed", fmt.integer, first="descending", note="passed runs of finished runs"),
    _Column("Time\u00a0✓", "mean_passed_time_s", fmt.seconds, note="mean completion time of passed runs"),
    _Column("Time all", "mean_time_s", fmt.seconds, note="mean completion time of all finished runs"),
    _Column("Prompts", "mean_prompts", fmt.decimal, note="mean prompts sent per run"),
    _Column(
        "Interv.", "mean_interventions", fmt.decimal, note="mean human interventions (hints, typed messages) per run"
    ),
    _Column("Malformed", "malformed_replies", fmt.integer, note="replies whose edits could not be parsed"),
    _Column("Cut off", "truncated_replies", fmt.integer, note="replies cut off by the token limit (max_tokens)"),
    _Column("Tokens in", "prompt_tokens", fmt.integer, note="prompt tokens, all runs"),
    _Column("Tokens out", "completion_tokens", fmt.integer, note="completion tokens, all runs"),
    _Column(
        "Tok/s",
        "mean_tokens_per_s",
        fmt.rate,
        first="descending",
        note="mean decode rate, and who timed it: server (its own timings), client (its clock) or mixed",
    ),
    _Column("Cost", "cost_usd", fmt.money, note="total cost in USD"),
    _Column(
        "Cache",
        "cache_hit_ratio",
        fmt.percent,
        first="descending",
        note="prompt tokens the server read from its prompt cache, of the prompt tokens of the runs that report it",
    ),
    _Column("Runaway", "runaway_replies", fmt.integer, note="replies stopped because they kept repeating"),
    _Column(
        "Repaired",
        "repaired_tool_calls",
        fmt.integer,
        note=REPAIRED_NOTE + "; — when the repair was off (or the contestant is benchtui's own loop)",
    ),
)


# From this many figure columns on, the leaderboard is wider than the page (template.py's ``.wide``).
WIDE_LEADERBOARD = 13


def _meter(rate: Any) -> str:
    value = fmt.number(rate)
    if value is None:
        return ""
    width = max(0.0, min(1.0, value)) * 48
    return (
        '<svg class="meter" width="48" height="6" viewBox="0 0 48 6" aria-hidden="true">'
        '<rect class="track" width="48" height="6" rx="3"/>'
        f'<rect class="fill" width="{width:.1f}" height="6" rx="3"/></svg>'
    )


def _th(label: str, numeric: bool, first: str, note: str = "", sort: str = "none") -> str:
    title = f' title="{esc(note)}"' if note else ""
    kind = "num" if numeric else "text"
    css = ' class="num"' if numeric else ""
    return (
        f'<th scope="col"{css} aria-sort="{sort}" data-type="{kind}" data-first="{first}"{title}>'
        f'<button type="button">{esc(label)}</button></th>'
    )


def leaderboard_section(data: dict[str, Any]) -> str:
    models: dict[str, Any] = data.get("models") or {}
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    board = (data.get("rankings") or {}).get("leaderboard") or []
    if not board:
        return (
            '<section id="leaderboard"><h2>Leaderboard</h2>'
            '<div class="card empty-state">No model in this batch.</div></section>'
        )
    # A column nothing measured (a dash for every contestant: no pricing, no cache figure, the repair
    # off) is left out and named under the table, so the ones that say something fit the page.
    measured = [a for a in (aggregates.get(str(e.get("model"))) or {} for e in board)]
    columns = [c for c in _COLUMNS if any(fmt.number(a.get(c.key)) is not None for a in measured)]
    empty = [c for c in _COLUMNS if c not in columns]
    # Many columns: the section takes the window's width (the page's 1240 px would squeeze the names).
    wide = ' class="wide"' if len(columns) >= WIDE_LEADERBOARD else ""
    out = [
        f'<section id="leaderboard"{wide}><h2>Leaderboard <small>success rate, then time of passed runs; '
        "click a column to sort</small></h2>",
        '<div class="card table-wrap"><table class="sortable" id="leaderboard-table"><thead><tr>',
    ]
    out.append(_th("#", True, "ascending", "leaderboard rank", sort="ascending"))
    out.append(_th("Model", False, "ascending", "display name; provider · model key below"))
    out.append(
        _th(
            "Tied with",
            False,
            "ascending",
            "the models this one cannot be told apart from: McNemar's exact test over the runs both made, p ≥ 0.05",
        )
    )
    out.extend(_th(c.label, c.numeric, c.first, c.note) for c in columns)
    out.append("</tr></thead><tbody>")
    for index, entry in enumerate(board):
        key = str(entry.get("model"))
        agg = aggregates.get(key) or {}
        name = model_name(models, key)
        sub = " · ".join(esc(part) for part in (provider(models, key), key if key != name else "") if part)
        out.append(
            f'<tr data-i="{index}"><td class="num rank" data-v="{fmt.sort_key(entry.get("rank"))}">'
            f"{esc(place_text(entry, board))}</td>"
            f'<td class="model"><b>{esc(name)}{repaired_mark(aggregates, key)}</b><small>{sub}</small></td>'
        )
        tied = tie_text(entry, board).removeprefix("tied with ")
        out.append(f'<td class="tied">{esc(tied) if tied else ""}</td>')
        for column in columns:
            value = agg.get(column.key)
            shown = esc(column.show(value))
            if column.key == "success_rate":
                shown += _meter(value)
                ci = agg.get("success_ci")
                if isinstance(ci, dict):
                    low, high = fmt.percent(ci.get("low")), fmt.percent(ci.get("high"))
                    shown += f'<small class="ci">{esc(low)}–{esc(high)}</small>'
            elif column.key == "passed":
                shown += f'<span class="muted"> / {esc(fmt.integer(agg.get("runs")))}</span>'
            elif column.key == "repaired_tool_calls" and shown != DASH and value:
                shown = f"{REPAIRED_MARK} {shown}"
            elif column.key == "mean_tokens_per_s" and agg.get("tokens_per_s_source"):
                # Under the figure (like the interval under the success rate): the column stays narrow.
                shown += f'<small class="src"> {esc(agg["tokens_per_s_source"])}</small>'
            out.append(f'<td class="num" data-v="{fmt.sort_key(value)}">{shown}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    # Under the table, not in a header's tooltip: which figures are means per run and which totals.
    kinds = figure_kinds_text({c.key: c.label for c in columns})
    out.append(f'<p class="note" id="leaderboard-legend">{esc(kinds[:1].upper() + kinds[1:])}.</p>')
    notes = []
    if any(c.key == "mean_tokens_per_s" for c in columns):
        notes.append(
            "Tok/s: <b>server</b> under the rate when the server timed its tokens itself, <b>client</b> when "
            "benchtui's clock did (server time unknown), <b>mixed</b> when its runs had both"
        )
    if empty:
        notes.append(
            "Left out, — for every model: "
            + ", ".join(f'<span title="{esc(c.note)}">{esc(c.label)}</span>' for c in empty)
        )
    if notes:
        out.append('<p class="note legend">' + " · ".join(notes) + "</p>")
    out.append("</section>")
    return "".join(out)


# Task × model matrix


def matrix_section(data: dict[str, Any], anchors: dict[tuple[str, str], str]) -> str:
    models: dict[str, Any] = data.get("models") or {}
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    matrix: dict[str, Any] = data.get("task_matrix") or {}
    tasks = [t for t in (data.get("batch") or {}).get("tasks") or []]
    task_ids = [str(t.get("id")) for t in tasks]
    task_ids += [t for t in matrix if t not in task_ids]
    if len(task_ids) < 2:
        return ""
    titles = {str(t.get("id")): str(t.get("title") or t.get("id")) for t in tasks}
    order = model_order(data)
    out = [
        '<section id="matrix"><h2>Task × model <small>passed / runs; flaky: the verdict differs across '
        "repeats; click a cell for its run</small></h2>",
        '<div class="card table-wrap"><table class="matrix"><thead><tr><th scope="col">Model</th>',
    ]
    out.extend(f'<th scope="col">{esc(titles.get(t, t))}</th>' for t in task_ids)
    out.append("</tr></thead><tbody>")
    for key in order:
        out.append(f'<tr><td class="model"><b>{esc(model_name(models, key))}{repaired_mark(aggregates, key)}</b></td>')
        for task in task_ids:
            cell = (matrix.get(task) or {}).get(key)
            if not cell or not cell.get("runs"):
                out.append(f'<td><span class="cell m-none">{DASH}</span></td>')
                continue
            passed, runs = int(cell.get("passed") or 0), int(cell.get("runs") or 0)
            css, mark = ("m-pass", "✓") if passed == runs else (("m-part", "◐") if passed else ("m-fail", "✗"))
            text = f"{mark} {passed}/{runs}"
            if cell.get("flaky"):
                # The verdict changed between repeats of the same model: said in words, not only in colour.
                text += " flaky"
            anchor = anchors.get((task, key))
            if anchor:
                out.append(f'<td><a class="cell {css}" href="#{anchor}">{text}</a></td>')
            else:
                out.append(f'<td><span class="cell {css}">{text}</span></td>')
        out.append("</tr>")
    out.append("</tbody></table></div></section>")
    return "".join(out)
