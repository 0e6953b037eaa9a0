"""comparison_report.html: one self-contained page that compares the models of a batch.

Sections, top to bottom: the batch header (tasks, facts, environment), the three podiums of
``rankings.RANKINGS``, the leaderboard (sortable by any column), SVG charts of time, prompts and tokens,
the task × model matrix (batches with several tasks), and one collapsible panel per run with its failure
reason, coloured diff, check output and transcript.

Everything shown comes from the report data (``reports.data.build_report_data``): figures and rankings are
the engine's, formatted here, never recomputed. Every string from a model, a task or a config is escaped by
``html_format.esc``; the page has no external resource and a CSP that runs only its own hashed script.

The page is deterministic (no clock, no random id, stable order), so ``benchtui report`` rebuilds it
byte-identical. To stay fast on big batches (10,000 runs render in well under a second), strings are
collected in one list, transcripts are loaded for the first ``TRANSCRIPT_RUNS`` runs only, and all run
details share a character budget; what is left out says so and names the file that holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchtui.engine import atomic
from benchtui.engine.metrics import STATUSES
from benchtui.engine.rankings import RANKINGS
from benchtui.engine.reports import html_format as fmt
from benchtui.engine.reports.html_charts import Row, bar_chart
from benchtui.engine.reports.html_format import DASH, esc
from benchtui.engine.reports.html_template import PAGE_TAIL, page_head
from benchtui.engine.store import Batch
from benchtui.engine.tasks import run_time_limits

TRANSCRIPT_RUNS = 300  # runs whose transcript is embedded; later runs point to their run file
DETAIL_BUDGET = 12_000_000  # characters of diff, check output and transcript text in the whole page
# Above this many runs, each run's panel body is an inert <template> that the script puts in place when the
# panel is first opened: the browser then builds ~10 nodes per run at load instead of ~80 (a 10,000-run page
# loads in a few seconds instead of ten). Smaller pages keep plain bodies, readable without the script.
LAZY_RUNS = 400
DIFF_LINES = 3_000  # per run
CHECK_CHARS = 20_000  # per run (the tail is kept)
ENTRY_CHARS = 16_000  # per transcript entry
RANKING_NOTES = {
    "fastest": "lowest mean completion time of its passed runs",
    "most_efficient": "fewest prompts per passed run",
    "most_autonomous": "fewest human interventions per passed run",
}
BATCH_STATUSES = ("finished", "running", "interrupted", "error")
HUMAN_KINDS = {"hint": "hint", "human": "typed message"}

TranscriptLoader = Callable[[dict[str, Any]], list[dict[str, Any]]]


@dataclass
class _Budget:
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


def _status_class(status: Any, known: tuple[str, ...] = STATUSES) -> str:
    """A CSS class from a status, from a fixed list only: a status string never reaches an attribute raw."""
    return f"st-{status}" if status in known else "st-unknown"


def _badge(status: Any, known: tuple[str, ...] = STATUSES) -> str:
    return f'<span class="badge {_status_class(status, known)}">{esc(status or "unknown")}</span>'


def _model_name(models: dict[str, Any], key: str) -> str:
    snapshot = models.get(key) or {}
    return str(snapshot.get("display_name") or snapshot.get("name") or key)


def _provider(models: dict[str, Any], key: str) -> str:
    return str((models.get(key) or {}).get("provider") or "")


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
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return " · ".join(parts) or DASH


def _model_order(data: dict[str, Any]) -> list[str]:
    """Model keys in leaderboard order (the engine's), then any model the leaderboard lacks."""
    board = (data.get("rankings") or {}).get("leaderboard") or []
    order = [str(entry.get("model")) for entry in board]
    return order + [key for key in (data.get("models") or {}) if key not in order]


def _header(data: dict[str, Any]) -> str:
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
        ("Status", _badge(batch.get("status"), BATCH_STATUSES)),
        ("Models", ", ".join(esc(_model_name(models, key)) for key in _model_order(data)) or DASH),
        ("Options", esc(_options(options, tasks))),
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
    out.append("</dl></div></div></header>")
    return "".join(out)


# Podiums


def _podiums(data: dict[str, Any]) -> str:
    models: dict[str, Any] = data.get("models") or {}
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
                f'<div class="step p{place}"><span class="who">{esc(_model_name(models, model))}</span>'
                f'<span class="val">{esc(fmt.quantity(entry.get("value"), unit))}</span>'
                f'<div class="block">{place}</div></div>'
            )
        out.append("</div>")
        if len(entries) > 3:
            out.append('<ol class="runners">')
            for entry in entries[3:]:
                model = str(entry.get("model"))
                out.append(
                    f"<li><span>{esc(entry.get('rank'))}. {esc(_model_name(models, model))}</span>"
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
    _Column("Success", "success_rate", fmt.percent, first="descending", note="passed / finished runs"),
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
        "Tok/s", "mean_tokens_per_s", fmt.rate, first="descending",
        note="mean decode rate, and who timed it: server (its own timings), client (its clock) or mixed",
    ),
    _Column("Cost", "cost_usd", fmt.money, note="total cost in USD"),
)


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


def _leaderboard(data: dict[str, Any]) -> str:
    models: dict[str, Any] = data.get("models") or {}
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    board = (data.get("rankings") or {}).get("leaderboard") or []
    out = [
        '<section id="leaderboard"><h2>Leaderboard <small>success rate, then time of passed runs; '
        "click a column to sort</small></h2>"
    ]
    if not board:
        out.append('<div class="card empty-state">No model in this batch.</div></section>')
        return "".join(out)
    out.append('<div class="card table-wrap"><table class="sortable" id="leaderboard-table"><thead><tr>')
    out.append(_th("#", True, "ascending", "leaderboard rank", sort="ascending"))
    out.append(_th("Model", False, "ascending", "display name; provider · model key below"))
    out.extend(_th(c.label, c.numeric, c.first, c.note) for c in _COLUMNS)
    out.append("</tr></thead><tbody>")
    for index, entry in enumerate(board):
        key = str(entry.get("model"))
        agg = aggregates.get(key) or {}
        name = _model_name(models, key)
        sub = " · ".join(esc(part) for part in (_provider(models, key), key if key != name else "") if part)
        out.append(
            f'<tr data-i="{index}"><td class="num rank" data-v="{fmt.sort_key(entry.get("rank"))}">'
            f"{esc(entry.get('rank'))}</td>"
            f'<td class="model"><b>{esc(name)}</b><small>{sub}</small></td>'
        )
        for column in _COLUMNS:
            value = agg.get(column.key)
            shown = esc(column.show(value))
            if column.key == "success_rate":
                shown += _meter(value)
            elif column.key == "passed":
                shown += f'<span class="muted"> / {esc(fmt.integer(agg.get("runs")))}</span>'
            elif column.key == "mean_tokens_per_s" and agg.get("tokens_per_s_source"):
                shown += f'<span class="muted"> {esc(agg["tokens_per_s_source"])}</span>'
            out.append(f'<td class="num" data-v="{fmt.sort_key(value)}">{shown}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div></section>")
    return "".join(out)


# Charts


def _charts(data: dict[str, Any]) -> str:
    models: dict[str, Any] = data.get("models") or {}
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    with_runs = [k for k in _model_order(data) if (aggregates.get(k) or {}).get("runs")]

    def agg(key: str, field_name: str) -> float | None:
        return fmt.number((aggregates.get(key) or {}).get(field_name))

    time_rows = [
        Row(
            _model_name(models, k),
            (agg(k, "mean_time_s"), agg(k, "mean_passed_time_s")),
            (fmt.seconds(agg(k, "mean_time_s")), fmt.seconds(agg(k, "mean_passed_time_s"))),
        )
        for k in with_runs
    ]
    prompt_rows = [
        Row(_model_name(models, k), (agg(k, "mean_prompts"),), (fmt.decimal(agg(k, "mean_prompts")),))
        for k in with_runs
    ]
    token_rows = []
    for k in with_runs:
        tokens_in, tokens_out = agg(k, "prompt_tokens"), agg(k, "completion_tokens")
        token_rows.append(
            Row(
                _model_name(models, k),
                (tokens_in, tokens_out),
                (f"{fmt.integer(tokens_in)} + {fmt.integer(tokens_out)}",),
            )
        )
    charts = (
        (
            "chart-time",
            "Completion time",
            "mean per run",
            bar_chart(
                "chart-time",
                "Mean completion time per model",
                time_rows,
                ("all runs", "passed runs"),
                tick=lambda v: f"{v:g} s",
            ),
        ),
        (
            "chart-prompts",
            "Prompts",
            "mean sent per run",
            bar_chart("chart-prompts", "Mean prompts per run", prompt_rows, ("prompts",)),
        ),
        (
            "chart-tokens",
            "Tokens",
            "prompt + completion, all runs",
            bar_chart("chart-tokens", "Total tokens per model", token_rows, ("prompt", "completion"), stacked=True),
        ),
    )
    out = ['<section id="charts"><h2>Charts <small>models in leaderboard order</small></h2><div class="charts">']
    for _chart_id, title, note, svg in charts:
        out.append(
            f'<figure class="card chart-card"><h3>{esc(title)} <small class="muted">{esc(note)}</small>'
            f"</h3>{svg}</figure>"
        )
    out.append("</div></section>")
    return "".join(out)


# Task × model matrix


def _matrix(data: dict[str, Any], anchors: dict[tuple[str, str], str]) -> str:
    models: dict[str, Any] = data.get("models") or {}
    matrix: dict[str, Any] = data.get("task_matrix") or {}
    tasks = [t for t in (data.get("batch") or {}).get("tasks") or []]
    task_ids = [str(t.get("id")) for t in tasks]
    task_ids += [t for t in matrix if t not in task_ids]
    if len(task_ids) < 2:
        return ""
    titles = {str(t.get("id")): str(t.get("title") or t.get("id")) for t in tasks}
    order = _model_order(data)
    out = [
        '<section id="matrix"><h2>Task × model <small>passed / runs; click a cell for its run</small></h2>',
        '<div class="card table-wrap"><table class="matrix"><thead><tr><th scope="col">Model</th>',
    ]
    out.extend(f'<th scope="col">{esc(titles.get(t, t))}</th>' for t in task_ids)
    out.append("</tr></thead><tbody>")
    for key in order:
        out.append(f'<tr><td class="model"><b>{esc(_model_name(models, key))}</b></td>')
        for task in task_ids:
            cell = (matrix.get(task) or {}).get(key)
            if not cell or not cell.get("runs"):
                out.append(f'<td><span class="cell m-none">{DASH}</span></td>')
                continue
            passed, runs = int(cell.get("passed") or 0), int(cell.get("runs") or 0)
            css, mark = ("m-pass", "✓") if passed == runs else (("m-part", "◐") if passed else ("m-fail", "✗"))
            text = f"{mark} {passed}/{runs}"
            anchor = anchors.get((task, key))
            if anchor:
                out.append(f'<td><a class="cell {css}" href="#{anchor}">{text}</a></td>')
            else:
                out.append(f'<td><span class="cell {css}">{text}</span></td>')
        out.append("</tr>")
    out.append("</tbody></table></div></section>")
    return "".join(out)


# Runs


def _diff(text: str, budget: _Budget) -> tuple[str, str]:
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
        if line.startswith(("+++", "---", "diff ", "index ")):
            css = ' class="d-file"'
        elif line.startswith("+"):
            css = ' class="d-add"'
        elif line.startswith("-"):
            css = ' class="d-del"'
        elif line.startswith("@@"):
            css = ' class="d-hunk"'
        else:
            css = ""
        out.append(f"<span{css}>{line}</span>")
    out.append("</pre>")
    return "".join(out), note


_META: dict[str, Callable[[Any], str]] = {
    "prompt_tokens": lambda v: f"{fmt.integer(v)} tokens in",
    "completion_tokens": lambda v: f"{fmt.integer(v)} tokens out",
    "duration_s": lambda v: f"took {fmt.seconds(v)}",
    "tokens_per_s": lambda v: f"{fmt.rate(v)} tok/s",
    "finish_reason": lambda v: f"finish: {v}",
    "exit_code": lambda v: f"exit code {v}",
    "timed_out": lambda v: "timed out" if v else "",
    "attempts": lambda v: f"{v} {fmt.plural(fmt.number(v) or 0, 'attempt')}",
    # an edits entry: "applied to greet.py · 1 edit block · changed nothing", never "applied ['greet.py']"
    "applied": lambda v: f"applied to {_words(v)}" if v else "",
    "parsed": lambda v: f"{v} edit {fmt.plural(fmt.number(v) or 0, 'block')}",
    "failed": lambda v: f"{v} failed {fmt.plural(fmt.number(v) or 0, 'edit')}" if v else "",
    "error": lambda v: f"error: {_words(v)}",
}


def _words(value: Any) -> str:
    """A stored value as a reader says it: lists as ``a, b``, mappings as ``key value``, no Python syntax."""
    if isinstance(value, list | tuple):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')} {_words(v)}" for k, v in value.items())
    return str(value)


def _meta_words(key: str, value: Any) -> str:
    """An entry field without a wording of its own: a true flag is its name, a false or empty one nothing."""
    name = key.replace("_", " ")
    if isinstance(value, bool):
        return name if value else ""
    if isinstance(value, list | tuple | dict) and not value:
        return ""
    return f"{name} {_words(value)}"


def _entry_meta(entry: dict[str, Any]) -> str:
    """The entry's extra fields in words: "at 2.50 s · 600 tokens in · took 2.40 s · finish: stop"."""
    parts = [f"at {fmt.seconds(entry['at_s'])}"] if fmt.number(entry.get("at_s")) is not None else []
    for key, value in entry.items():
        if key in ("turn", "kind", "role", "content", "at_s") or value is None or value == "":
            continue
        shown = _META[key](value) if key in _META else _meta_words(key, value)
        if shown:
            parts.append(shown)
    return " · ".join(parts)


def _transcript(entries: list[dict[str, Any]], budget: _Budget) -> str:
    out = ['<ol class="transcript">']
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("kind") or "")
        css = (
            f"k-{kind}"
            if kind in ("system", "prompt", "reply", "edits", "check", "hint", "human", "error")
            else "k-other"
        )
        content = str(entry.get("content") or "")
        cut = ""
        if len(content) > ENTRY_CHARS:
            cut = f"… {len(content) - ENTRY_CHARS:,} more characters in the run file"
            content = content[:ENTRY_CHARS]
        head = [
            f'<li class="{css}"><div class="entry-head"><span class="turn">Turn {esc(entry.get("turn"))}</span>',
            f'<span class="badge">{esc(kind or "entry")}</span>',
        ]
        if entry.get("role"):
            head.append(f'<span class="muted">{esc(entry.get("role"))}</span>')
        if kind in HUMAN_KINDS:
            head.append(f'<span class="badge human">human intervention: {HUMAN_KINDS[kind]}</span>')
        meta = _entry_meta(entry)
        if meta:
            head.append(f'<span class="meta">{esc(meta)}</span>')
        head.append("</div>")
        out.extend(head)
        if not budget.spend(len(content), "transcript entry"):
            out.append('<p class="note">Text left out to keep this page fast; it is in the run file.</p></li>')
            continue
        if kind == "system":
            out.append(
                f'<details class="part"><summary>System prompt ({len(content):,} characters)</summary>'
                f"<pre>{esc(content)}</pre></details>"
            )
        else:
            out.append(f"<pre>{esc(content)}</pre>")
        if cut:
            out.append(f'<p class="note">{esc(cut)}</p>')
        out.append("</li>")
    out.append("</ol>")
    return "".join(out)


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
        ("Turns", fmt.integer(run.get("turns"))),
        ("Requests", fmt.integer(run.get("request_attempts"))),
        (
            "Files / lines",
            f"{fmt.integer(run.get('files_modified'))} "
            f"{fmt.plural(fmt.number(run.get('files_modified')) or 0, 'file')}, "
            f"+{fmt.integer(run.get('lines_added'))} −{fmt.integer(run.get('lines_removed'))}",
        ),
        ("Sandbox", esc(run.get("sandbox") or DASH)),
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
    budget: _Budget,
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
        f'<details class="run" id="run-{index}" data-status="{status_attr}"><summary>{_badge(status)}',
        f'<span class="task">{esc(titles.get(task, task))}</span>',
        f"<span>{esc(_model_name(models, str(run.get('model'))))}</span>",
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
                f"<code>{esc(where)}</code></small></summary>{_transcript(entries, budget)}</details>"
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


def _display_order(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs grouped by model in leaderboard order, then by task in batch order, then by repeat."""
    models = {key: i for i, key in enumerate(_model_order(data))}
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


def _runs(data: dict[str, Any], runs: list[dict[str, Any]], load: TranscriptLoader | None, budget: _Budget) -> str:
    return "".join(_iter_runs(data, runs, load, budget))


def _iter_runs(
    data: dict[str, Any], runs: list[dict[str, Any]], load: TranscriptLoader | None, budget: _Budget
) -> Iterator[str]:
    """The runs section, piece by piece, so a 10,000-run page is never one string in memory."""
    yield from _runs_pieces(data, runs, load, budget)


def _runs_pieces(
    data: dict[str, Any], runs: list[dict[str, Any]], load: TranscriptLoader | None, budget: _Budget
) -> Iterator[str]:
    models: dict[str, Any] = data.get("models") or {}
    titles = {
        str(t.get("id")): str(t.get("title") or t.get("id")) for t in (data.get("batch") or {}).get("tasks") or []
    }
    lazy = len(runs) > LAZY_RUNS
    big = ' class="big"' if lazy else ""
    yield f'<section id="runs"{big}><h2>Runs <small>{len(runs):,} finished</small></h2>'
    if not runs:
        yield ('<div class="card empty-state">No run finished in this batch yet.</div></section>')
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
                yield ("</section>")
            group = key
            count = counts[key]
            yield (
                f'<section class="group"><h3>{esc(_model_name(models, key))} <small>'
                f"{esc(_provider(models, key))} · {count} {fmt.plural(count, 'run')}</small></h3>"
            )
        yield (_run_panel(index, run, data, budget, load, titles, lazy))
    yield ("</section>")
    if budget.omitted:
        left_out = ", ".join(f"{n:,} {what}{'s' if n != 1 else ''}" for what, n in sorted(budget.omitted.items()))
        yield (
            f'<p class="note">To keep this page fast, some details were left out ({esc(left_out)}); '
            "comparison_report.json and the run files hold everything.</p>"
        )
    yield ("</section>")
    return


def _group_counts(runs: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in runs:
        counts[str(run.get("model"))] = counts.get(str(run.get("model")), 0) + 1
    return counts


def render(
    data: dict[str, Any],
    batch: Batch | None = None,
    *,
    transcripts: TranscriptLoader | None = None,
    transcript_runs: int = TRANSCRIPT_RUNS,
    detail_budget: int = DETAIL_BUDGET,
) -> str:
    """The whole page as one string (tests, small batches); ``write`` streams it instead."""
    return "".join(iter_render(data, batch, transcripts=transcripts, transcript_runs=transcript_runs,
                               detail_budget=detail_budget))


def iter_render(
    data: dict[str, Any],
    batch: Batch | None = None,
    *,
    transcripts: TranscriptLoader | None = None,
    transcript_runs: int = TRANSCRIPT_RUNS,
    detail_budget: int = DETAIL_BUDGET,
) -> Iterator[str]:
    """The whole page. Transcripts come from ``transcripts`` or else ``batch.load_transcript``; with
    neither, runs name their transcript file instead."""
    load = transcripts or (batch.load_transcript if batch is not None else None)
    budget = _Budget(left=detail_budget, transcripts_left=transcript_runs, transcripts_cap=transcript_runs)
    runs = _display_order(data)
    anchors: dict[tuple[str, str], str] = {}
    for index, run in enumerate(runs):
        anchors.setdefault((str(run.get("task_id")), str(run.get("model"))), f"run-{index}")
    batch_info = data.get("batch") or {}
    titles = [str(t.get("title") or t.get("id")) for t in batch_info.get("tasks") or []]
    title = f"benchtui · {', '.join(titles) or 'batch'} · {batch_info.get('batch_id') or ''}"
    yield page_head(title)
    parts = [_header(data), _podiums(data), _leaderboard(data), _charts(data) if runs else "", _matrix(data, anchors)]
    yield "\n".join(part for part in parts if part)
    yield "\n"
    yield from _iter_runs(data, runs, load, budget)
    yield (
        "\n<footer>benchtui " + esc(batch_info.get("benchtui_version") or "") + " · "
        "self-contained report: no network, no external resource · rebuild with "
        f"<code>benchtui report {esc(batch_info.get('batch_id') or 'BATCH_ID')}</code> "
        "(or the path of this folder)</footer>"
    )
    yield PAGE_TAIL


def write(data: dict[str, Any], path: Path, batch: Batch | None = None) -> None:
    with atomic.open_atomic(path) as handle:
        for piece in iter_render(data, batch):
            handle.write(piece)
