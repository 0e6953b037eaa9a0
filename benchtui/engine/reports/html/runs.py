"""The runs section of the HTML report: one collapsible panel per run, grouped by model in leaderboard
order, with its failure reason, its figures, the coloured diff, the check output and the transcript.

Panels are yielded one by one, so a 10,000-run page is never one string in memory; above ``LAZY_RUNS``
runs each panel's body is an inert ``<template>`` the page's script puts in place when it is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from benchtui.engine.diffs import DiffLineKind, diff_line_kind
from benchtui.engine.reports.html import format as fmt
from benchtui.engine.reports.html.budget import CHECK_CHARS, DIFF_LINES, LAZY_RUNS, Budget, TranscriptLoader
from benchtui.engine.reports.html.format import DASH, badge, esc, model_name, model_order, provider
from benchtui.engine.reports.html.transcript import transcript
from benchtui.engine.results import STATUSES

_DIFF_CLASSES: dict[DiffLineKind, str] = {
    "file": ' class="d-file"',
    "add": ' class="d-add"',
    "del": ' class="d-del"',
    "hunk": ' class="d-hunk"',
    "context": "",
}


def _diff(text: str, budget: Budget) -> tuple[str, str]:
    """(coloured diff HTML, note); each line its own escaped span, classed by its first character."""
    lines = text.splitlines()
    note = ""
    if len(lines) > DIFF_LINES:
        note = f"First {DIFF_LINES:,} of {len(lines):,} lines shown; the full diff is in the JSON report."
        lines = lines[:DIFF_LINES]
    if not budget.spend(sum(len(line) for line in lines), "diff"):
        return "", "Diff left out to keep this page fast; it is in comparison_report.json."
    # Escaping never adds a line break nor touches + - @ at a line start: escape once, then class each line.
    out = ['<pre class="diff">']
    for line in esc("\n".join(lines)).split("\n"):
        out.append(f"<span{_DIFF_CLASSES[diff_line_kind(line)]}>{line}</span>")
    out.append("</pre>")
    return "".join(out), note


def _reason(run: dict[str, Any]) -> str:
    status = run.get("status")
    if status == "passed":
        return ""
    css = {"timeout": "reason r-timeout", "error": "reason r-error", "cancelled": "reason r-error"}.get(
        str(status), "reason"
    )
    if status == "timeout":
        title = "Timed out"
    elif status == "error":
        title = "Error" + (f": {run.get('error')}" if run.get("error") else "")
    elif status == "failed":
        title = "The check did not pass" + (f" ({run.get('error')})" if run.get("error") else "")
    else:
        title = str(status or "unknown")
    message = run.get("error_message")
    if not message and status == "failed":
        tail = str(run.get("check_output") or "").rstrip().splitlines()[-12:]
        message = "\n".join(tail) if tail else "No check output was recorded."
    body = f"<pre>{esc(message)}</pre>" if message else ""
    return f'<div class="{css}"><b>{esc(title)}</b>{body}</div>'


def _rate_with_source(run: dict[str, Any]) -> str:
    """``42.0 (server)``: a rate is only comparable with another once you know who timed it."""
    rate = fmt.rate(run.get("tokens_per_s"))
    source = run.get("tokens_per_s_source")
    return f"{rate} ({esc(source)})" if source and run.get("tokens_per_s") is not None else rate


def _cached(run: dict[str, Any]) -> str:
    """``1,200 of 1,500 (80 %)``: the cache's share of the run's prompt tokens, when the server said."""
    cached, prompt = fmt.number(run.get("cached_prompt_tokens")), fmt.number(run.get("prompt_tokens"))
    if cached is None:
        return fmt.integer(None)
    if not prompt:
        return fmt.integer(cached)
    return f"{fmt.integer(cached)} of {fmt.integer(prompt)} ({fmt.percent(cached / prompt)})"


def _metrics(run: dict[str, Any]) -> str:
    items = (
        ("Completion", fmt.seconds(run.get("completion_time_s"))),
        ("Model time", fmt.seconds(run.get("model_time_s"))),
        ("Check time", fmt.seconds(run.get("check_time_s"))),
        ("Time to first token", fmt.seconds(run.get("ttft_s"))),
        ("Load time", fmt.seconds(run.get("load_time_s"))),
        ("Tokens / s", _rate_with_source(run)),
        ("Tokens in / out", f"{fmt.integer(run.get('prompt_tokens'))} / {fmt.integer(run.get('completion_tokens'))}"),
        ("Cost", fmt.money(run.get("cost_usd"))),
        ("Prompts", fmt.integer(run.get("prompts_sent"))),
        (
            "Interventions",
            f"{fmt.integer(run.get('human_interventions'))} (hints "
            f"{fmt.integer(run.get('hints_given'))}, "
            f"typed {fmt.integer(run.get('typed_interventions'))})",
        ),
        ("Malformed replies", fmt.integer(run.get("malformed_replies"))),
        ("Cut-off replies", fmt.integer(run.get("truncated_replies"))),
        ("Cached prompt tokens", _cached(run)),
        ("Prompt processing", fmt.seconds(run.get("prompt_eval_s"))),
        ("Runaway replies", fmt.integer(run.get("runaway_replies"))),
        ("Turns", fmt.integer(run.get("turns"))),
        ("Requests", fmt.integer(run.get("request_attempts"))),
        (
            "Files / lines",
            f"{fmt.integer(run.get('files_modified'))} "
            f"{fmt.plural(fmt.number(run.get('files_modified')) or 0, 'file')}, "
            f"+{fmt.integer(run.get('lines_added'))} −{fmt.integer(run.get('lines_removed'))}",
        ),
        ("Sandbox", esc(run.get("sandbox") or DASH)),
        # The server of the model's pool that served the run (docs/SCALE.md); older results have no key.
        *((("Endpoint", f"<code>{esc(run['endpoint'])}</code>"),) if run.get("endpoint") else ()),
        # Only where the model's repair was on: a run that looked for no written call has no count.
        *(
            (("Repaired tool calls", fmt.integer(run.get("repaired_tool_calls"))),)
            if run.get("repaired_tool_calls") is not None
            else ()
        ),
        ("Started", esc(fmt.when(run.get("started_at")))),
    )
    # The figures are formatted here from numbers (digits, signs, units): only the two strings need escaping.
    wide = ' class="wide"'
    return (
        '<dl class="metrics">'
        + "".join(
            f"<div{wide if label == 'Started' else ''}><dt>{label}</dt><dd>{value}</dd></div>" for label, value in items
        )
        + "</dl>"
    )


def _run_panel(
    index: int,
    run: dict[str, Any],
    data: dict[str, Any],
    budget: Budget,
    load: TranscriptLoader | None,
    titles: dict[str, str],
    lazy: bool,
) -> str:
    models: dict[str, Any] = data.get("models") or {}
    status = run.get("status")
    task = str(run.get("task_id"))
    status_attr = status if status in STATUSES else "unknown"
    facts = (
        f"{fmt.seconds(run.get('completion_time_s'))} · {fmt.integer(run.get('prompts_sent'))} "
        f"{fmt.plural(fmt.number(run.get('prompts_sent')) or 0, 'prompt')} · "
        f"{fmt.integer(run.get('human_interventions'))} "
        f"{fmt.plural(fmt.number(run.get('human_interventions')) or 0, 'intervention')}"
    )
    out = [
        f'<details class="run" id="run-{index}" data-status="{status_attr}"><summary>{badge(status)}',
        f'<span class="task">{esc(titles.get(task, task))}</span>',
        f"<span>{esc(model_name(models, str(run.get('model'))))}</span>",
        f'<span class="muted">repeat {esc(run.get("repeat"))}</span>',
        f'<span class="facts">{esc(facts)}</span></summary>',
        '<template><div class="run-body">' if lazy else '<div class="run-body">',
        _reason(run),
        _metrics(run),
    ]
    diff = str(run.get("diff") or "")
    if diff.strip():
        html_diff, note = _diff(diff, budget)
        out.append(
            f'<details class="part" open><summary>Diff <small class="muted">+'
            f"{fmt.integer(run.get('lines_added'))} −{fmt.integer(run.get('lines_removed'))}</small>"
            f"</summary>{html_diff}"
        )
        if note:
            out.append(f'<p class="note">{esc(note)}</p>')
        out.append("</details>")
    else:
        out.append('<p class="note">No change to the files.</p>')
    check = str(run.get("check_output") or "")
    if check.strip():
        shown = check[-CHECK_CHARS:]
        out.append('<details class="part"><summary>Check output</summary>')
        if budget.spend(len(shown), "check output"):
            if len(shown) < len(check) or run.get("check_truncated"):
                out.append('<p class="note">Only the end of the output is kept.</p>')
            out.append(f"<pre>{esc(shown)}</pre>")
        else:
            out.append('<p class="note">Left out to keep this page fast; it is in comparison_report.json.</p>')
        out.append("</details>")
    where = run.get("transcript_file")
    if load is not None and where:
        if budget.transcripts_left > 0:
            budget.transcripts_left -= 1
            entries = load(run)
            out.append(
                f'<details class="part"><summary>Transcript <small class="muted">{len(entries)} entries · '
                f"<code>{esc(where)}</code></small></summary>{transcript(entries, budget)}</details>"
            )
        else:
            budget.omitted["transcript"] = budget.omitted.get("transcript", 0) + 1
            out.append(
                f'<p class="note">Transcript not embedded (this page embeds the first {budget.transcripts_cap:,}); '
                f"it is in <code>{esc(where)}</code>.</p>"
            )
    elif where:
        out.append(f'<p class="note">Transcript: <code>{esc(where)}</code></p>')
    out.append("</div></template></details>" if lazy else "</div></details>")
    return "".join(out)


def display_order(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs grouped by model in leaderboard order, then by task in batch order, then by repeat."""
    models = {key: i for i, key in enumerate(model_order(data))}
    tasks = {str(t.get("id")): i for i, t in enumerate((data.get("batch") or {}).get("tasks") or [])}
    runs: list[dict[str, Any]] = data.get("runs") or []

    def position(item: tuple[int, dict[str, Any]]) -> tuple[int, int, str, int, int]:
        index, run = item
        repeat = run.get("repeat")
        return (
            models.get(str(run.get("model")), len(models)),
            tasks.get(str(run.get("task_id")), len(tasks)),
            str(run.get("task_id")),
            repeat if isinstance(repeat, int) else 0,
            index,
        )

    return [run for _, run in sorted(enumerate(runs), key=position)]


def runs_section(
    data: dict[str, Any], runs: list[dict[str, Any]], load: TranscriptLoader | None, budget: Budget
) -> Iterator[str]:
    """The runs section, piece by piece (a toolbar, then one group per model), so a 10,000-run page is never
    one string in memory."""
    models: dict[str, Any] = data.get("models") or {}
    titles = {
        str(t.get("id")): str(t.get("title") or t.get("id")) for t in (data.get("batch") or {}).get("tasks") or []
    }
    lazy = len(runs) > LAZY_RUNS
    big = ' class="big"' if lazy else ""
    yield f'<section id="runs"{big}><h2>Runs <small>{len(runs):,} finished</small></h2>'
    if not runs:
        yield '<div class="card empty-state">No run finished in this batch yet.</div></section>'
        return
    present = [s for s in STATUSES if any(r.get("status") == s for r in runs)]
    yield (
        '<div class="toolbar" id="run-filter"><input type="search" id="run-search" '
        'placeholder="Filter by task or model" aria-label="Filter runs by task or model">'
        '<button type="button" data-status="all" aria-pressed="true">all</button>'
    )
    yield from (f'<button type="button" data-status="{s}" aria-pressed="false">{s}</button>' for s in present)
    yield (
        '<span class="spacer"></span><button type="button" data-open="1">expand all</button>'
        '<button type="button" data-open="0">collapse all</button>'
        f'<output id="run-count">{len(runs):,} of {len(runs):,} runs</output></div>'
    )
    counts = _group_counts(runs)
    group: str | None = None
    for index, run in enumerate(runs):
        key = str(run.get("model"))
        if key != group:
            if group is not None:
                yield "</section>"
            group = key
            count = counts[key]
            yield (
                f'<section class="group"><h3>{esc(model_name(models, key))} <small>'
                f"{esc(provider(models, key))} · {count} {fmt.plural(count, 'run')}</small></h3>"
            )
        yield _run_panel(index, run, data, budget, load, titles, lazy)
    yield "</section>"
    if budget.omitted:
        left_out = ", ".join(f"{n:,} {what}{'s' if n != 1 else ''}" for what, n in sorted(budget.omitted.items()))
        yield (
            f'<p class="note">To keep this page fast, some details were left out ({esc(left_out)}); '
            "comparison_report.json and the run files hold everything.</p>"
        )
    yield "</section>"


def _group_counts(runs: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in runs:
        counts[str(run.get("model"))] = counts.get(str(run.get("model")), 0) + 1
    return counts
