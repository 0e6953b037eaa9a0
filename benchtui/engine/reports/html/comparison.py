"""compare_<A>_vs_<B>.html: one self-contained page that says what changed between two batches.

Sections, top to bottom: the header (the two batches, what they share and what only one has, the
method), the flagged changes (significant regressions first, then improvements), the contestants (each
figure before → after, with its test's verdict) and the task × contestant cells.

Same shell, stylesheet, script and CSP as a batch's report (``template``), same escaping and number
formatting (``format``): everything shown comes from the comparison dict (``engine.compare``), formatted
here, never recomputed. Deterministic, like the batch report: rebuilt from the same batches it is
byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchtui.engine import atomic
from benchtui.engine.metrics import REPAIRED_MARK, repaired_text
from benchtui.engine.reports.html import format as fmt
from benchtui.engine.reports.html.format import DASH, esc
from benchtui.engine.reports.html.template import PAGE_TAIL, page_head

METRIC_LABELS = {
    "success_rate": "success rate",
    "median_passed_time_s": "median time of passed runs",
    "median_passed_tokens": "median tokens of passed runs",
    "median_passed_prompts": "median prompts of passed runs",
    "median_passed_interventions": "median interventions of passed runs",
}
_SHOW: dict[str, Callable[[Any], str]] = {
    "success_rate": fmt.percent,
    "median_passed_time_s": fmt.seconds,
    "median_passed_tokens": fmt.integer,
    "median_passed_prompts": fmt.decimal,
    "median_passed_interventions": fmt.decimal,
}
# Verdict → badge class, from the stylesheet's status palette (a fixed list: no verdict string reaches an
# attribute raw).
_VERDICT_CLASS = {"regressed": "st-failed", "improved": "st-passed", "unchanged": "", "untested": ""}


def verdict_badge(verdict: Any) -> str:
    css = " ".join(filter(None, ("badge", _VERDICT_CLASS.get(str(verdict), ""))))
    return f'<span class="{css}">{esc(verdict or "untested")}</span>'


def _p(value: Any) -> str:
    n = fmt.number(value)
    if n is None:
        return DASH
    return "< 0.001" if n < 0.001 else f"{n:.3f}"


def _th(label: str, note: str = "", numeric: bool = False) -> str:
    title = f' title="{esc(note)}"' if note else ""
    css = ' class="num"' if numeric else ""
    return f'<th scope="col"{css}{title}>{esc(label)}</th>'


def _names(values: list[Any]) -> str:
    return ", ".join(f"<code>{esc(v)}</code>" for v in values) or DASH


def _only(only: dict[str, Any]) -> str:
    """What one batch alone has, contestants and tasks each named as such."""
    parts = [
        f"{label} {_names(only[key])}"
        for key, label in (("models", "contestants"), ("tasks", "tasks"))
        if only.get(key)
    ]
    return " · ".join(parts) or DASH


def header_section(data: dict[str, Any]) -> str:
    a, b = data.get("a") or {}, data.get("b") or {}
    shared = data.get("shared") or {}
    only_a, only_b = data.get("only_in_a") or {}, data.get("only_in_b") or {}
    method = data.get("method") or {}
    out = [
        '<header class="top card">',
        '<div class="eyebrow">benchtui batch comparison</div>',
        f"<h1>{esc(a.get('batch_id'))} → {esc(b.get('batch_id'))}</h1>",
        '<div class="stats">',
    ]
    stats = (
        (len(shared.get("models") or []), "contestants in both"),
        (len(shared.get("tasks") or []), "tasks in both"),
        (len(data.get("regressions") or []), "significant regressions"),
        (len(data.get("improvements") or []), "significant improvements"),
    )
    out.extend(f'<div class="stat"><b>{esc(value)}</b><span>{esc(label)}</span></div>' for value, label in stats)
    out.append("</div>")
    if only_a.get("tasks") or only_a.get("models") or only_b.get("tasks") or only_b.get("models"):
        out.append(
            '<p class="note">The batches differ: they are compared on the contestants and tasks both have; '
            "what only one has is listed below and left out of every figure.</p>"
        )
    facts = [
        (
            "Before (A)",
            f"<code>{esc(a.get('batch_id'))}</code> · {esc(fmt.when(a.get('created_at')))} · "
            f"{esc(a.get('runs'))} runs · {esc(a.get('status') or DASH)}",
        ),
        (
            "After (B)",
            f"<code>{esc(b.get('batch_id'))}</code> · {esc(fmt.when(b.get('created_at')))} · "
            f"{esc(b.get('runs'))} runs · {esc(b.get('status') or DASH)}",
        ),
        ("Shared contestants", _names(shared.get("models") or [])),
        ("Shared tasks", _names(shared.get("tasks") or [])),
        ("Only in A", _only(only_a)),
        ("Only in B", _only(only_b)),
    ]
    if data.get("changed_tasks"):
        facts.append(("Tasks edited in between", _names(data["changed_tasks"])))
    out.append('<div class="about"><div><h4>Batches</h4><dl class="facts">')
    out.extend(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    out.append('</dl></div><div><h4>Method</h4><dl class="facts">')
    method_facts = [
        ("Significance", f"p < {fmt.decimal(method.get('alpha'), 3)} after correction"),
        ("Success rates", method.get("success")),
        ("Medians", method.get("medians")),
        ("Correction", method.get("correction")),
    ]
    out.extend(f"<dt>{esc(label)}</dt><dd>{esc(value or DASH)}</dd>" for label, value in method_facts)
    out.append("</dl></div></div></header>")
    return "".join(out)


def changes_section(data: dict[str, Any]) -> str:
    flagged = list(data.get("regressions") or []) + list(data.get("improvements") or [])
    out = ['<section id="changes"><h2>What changed <small>significant changes only</small></h2>']
    if not flagged:
        out.append(
            '<div class="card empty-state">No significant change: every difference between the two batches is '
            "within what chance gives (see the tables below for the figures).</div></section>"
        )
        return "".join(out)
    out.append('<div class="card table-wrap"><table id="changes-table"><thead><tr>')
    out.extend(
        [
            _th("Verdict"),
            _th("Contestant"),
            _th("Task", "a task cell, or all shared tasks"),
            _th("Figure"),
            _th("A", numeric=True),
            _th("B", numeric=True),
            _th("p (Holm)", "the test's p-value after Holm's correction", numeric=True),
        ]
    )
    out.append("</tr></thead><tbody>")
    for change in flagged:
        metric = str(change.get("metric"))
        show = _SHOW.get(metric, fmt.decimal)
        task = change.get("task_id")
        where = f"<code>{esc(task)}</code>" if task else '<span class="muted">all shared</span>'
        out.append(
            f"<tr><td>{verdict_badge(change.get('verdict'))}</td>"
            f'<td class="model"><b>{esc(change.get("model"))}</b></td><td>{where}</td>'
            f"<td>{esc(METRIC_LABELS.get(metric, metric))}</td>"
            f'<td class="num">{esc(show(change.get("a")))}</td><td class="num">{esc(show(change.get("b")))}</td>'
            f'<td class="num">{esc(_p(change.get("p_adjusted")))}</td></tr>'
        )
    out.append("</tbody></table></div></section>")
    return "".join(out)


def _interval(ci: Any) -> str:
    if not isinstance(ci, dict):
        return ""
    return f'<small class="muted"> [{esc(fmt.percent(ci.get("low")))}–{esc(fmt.percent(ci.get("high")))}]</small>'


def _before_after(a: Any, b: Any, show: Callable[[Any], str]) -> str:
    return f"{esc(show(a))} → {esc(show(b))}"


def _repaired(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Under a contestant whose model needed its tool calls repaired on either side: how many, A → B."""
    before, after = a.get("repaired_tool_calls"), b.get("repaired_tool_calls")
    if not (repaired_text(before) or repaired_text(after)):
        return ""
    return (
        f'<small class="repaired" title="{esc(fmt.REPAIRED_NOTE)}">{REPAIRED_MARK} repaired calls '
        f"{_before_after(before, after, fmt.integer)}</small>"
    )


def contestants_section(data: dict[str, Any]) -> str:
    contestants = data.get("contestants") or []
    out = [
        '<section id="contestants"><h2>Contestants <small>over the shared tasks: A → B, '
        "[95 % Wilson interval]</small></h2>"
    ]
    if not contestants:
        out.append('<div class="card empty-state">No contestant ran in both batches.</div></section>')
        return "".join(out)
    out.append('<div class="card table-wrap"><table id="contestants-table"><thead><tr>')
    out.extend(
        [
            _th("Contestant"),
            _th("Success", "passed / finished runs, A → B, each with its 95 % Wilson interval"),
            _th("p (Holm)", "exact test stratified by task, Holm-corrected over the contestants", numeric=True),
            _th("Verdict"),
            _th("pass@k", "the largest k both batches reached, A → B"),
            _th("Time ✓", "median completion time of passed runs, A → B"),
            _th("Tokens ✓", "median prompt + completion tokens of passed runs, A → B"),
            _th("Prompts ✓", "median prompts of passed runs, A → B"),
        ]
    )
    out.append("</tr></thead><tbody>")
    for entry in contestants:
        a, b, success = entry.get("a") or {}, entry.get("b") or {}, entry.get("success") or {}
        out.append(f'<tr><td class="model"><b>{esc(entry.get("model"))}</b>{_repaired(a, b)}</td>')
        out.append(
            f"<td>{esc(fmt.percent(a.get('success_rate')))}{_interval(a.get('success_ci'))} → "
            f"{esc(fmt.percent(b.get('success_rate')))}{_interval(b.get('success_ci'))}"
            f'<br><small class="muted">{esc(a.get("passed"))}/{esc(a.get("runs"))} → '
            f"{esc(b.get('passed'))}/{esc(b.get('runs'))}</small></td>"
        )
        out.append(f'<td class="num">{esc(_p(success.get("p_adjusted")))}</td>')
        out.append(f"<td>{verdict_badge(success.get('verdict'))}</td>")
        pass_at_k = entry.get("pass_at_k") or {}
        if pass_at_k:
            k = max(pass_at_k, key=int)
            out.append(
                f"<td>k={esc(k)}: {_before_after(pass_at_k[k].get('a'), pass_at_k[k].get('b'), fmt.percent)}</td>"
            )
        else:
            out.append(f"<td>{DASH}</td>")
        for name in ("median_passed_time_s", "median_passed_tokens", "median_passed_prompts"):
            median = (entry.get("medians") or {}).get(name) or {}
            verdict = median.get("verdict")
            flag = f" {verdict_badge(verdict)}" if verdict in ("regressed", "improved") else ""
            out.append(f"<td>{_before_after(median.get('a'), median.get('b'), _SHOW[name])}{flag}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div></section>")
    return "".join(out)


def cells_section(data: dict[str, Any]) -> str:
    cells = data.get("cells") or []
    models = (data.get("shared") or {}).get("models") or []
    tasks = (data.get("shared") or {}).get("tasks") or []
    if not cells:
        return ""
    by_key = {(str(c.get("task_id")), str(c.get("model"))): c for c in cells}
    out = [
        '<section id="cells"><h2>Task × contestant <small>passed / runs, A → B; a cell is coloured only when '
        "its change is significant (Fisher's exact test, Holm-corrected over the cells)</small></h2>",
        '<div class="card table-wrap"><table class="matrix" id="cells-table"><thead><tr><th scope="col">Task</th>',
    ]
    out.extend(f'<th scope="col">{esc(model)}</th>' for model in models)
    out.append("</tr></thead><tbody>")
    for task in tasks:
        out.append(f"<tr><td><code>{esc(task)}</code></td>")
        for model in models:
            cell = by_key.get((str(task), str(model))) or {}
            a, b = cell.get("a") or {}, cell.get("b") or {}
            verdict = (cell.get("success") or {}).get("verdict")
            css = {"regressed": "m-fail", "improved": "m-pass"}.get(str(verdict), "m-none")
            text = f"{esc(a.get('passed'))}/{esc(a.get('runs'))} → {esc(b.get('passed'))}/{esc(b.get('runs'))}"
            title = f' title="{esc(verdict)}, p (Holm) {esc(_p((cell.get("success") or {}).get("p_adjusted")))}"'
            out.append(f'<td><span class="cell {css}"{title}>{text}</span></td>')
        out.append("</tr>")
    out.append("</tbody></table></div></section>")
    return "".join(out)


def render(data: dict[str, Any]) -> str:
    a, b = data.get("a") or {}, data.get("b") or {}
    parts = [
        page_head(f"benchtui · {a.get('batch_id') or 'A'} vs {b.get('batch_id') or 'B'}"),
        header_section(data),
        changes_section(data),
        contestants_section(data),
        cells_section(data),
        "\n<footer>benchtui batch comparison · self-contained report: no network, no external resource · "
        f"rebuild with <code>benchtui compare {esc(a.get('batch_id') or 'A')} {esc(b.get('batch_id') or 'B')}"
        "</code></footer>",
        PAGE_TAIL,
    ]
    return "\n".join(part for part in parts if part)


def write(data: dict[str, Any], path: Path) -> None:
    atomic.write_text(path, render(data))
