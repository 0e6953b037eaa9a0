"""The repeats section of the HTML report: what the repeats say beyond one success rate.

Per model: its success rate with the 95 % interval, pass@k and pass^k at a few k (every k is in
comparison_report.json), and its flaky tasks; then every pair of models with McNemar's exact test over the
runs both made, whether it tells them apart, and how many repeats could if it does not. The figures are
the engine's (``metrics.repeat_figures``, ``metrics.paired_comparisons``); this module only lays them out.
"""

from __future__ import annotations

from typing import Any

from benchtui.engine.reports.html import format as fmt
from benchtui.engine.reports.html.format import DASH, esc, model_name, model_order

#: The k shown in the table (and always the largest k there is): enough to see the curve's shape.
SHOWN_K = (1, 2, 3, 5, 10, 20, 50, 100)


def _ks(aggregates: dict[str, Any]) -> list[int]:
    top = max((len(a.get("pass_at_k") or {}) for a in aggregates.values()), default=0)
    return sorted({k for k in SHOWN_K if k <= top} | ({top} if top else set()))


def _curve(values: Any, k: int) -> str:
    value = (values or {}).get(str(k)) if isinstance(values, dict) else None
    return fmt.percent(value) if value is not None else DASH


def _interval(ci: Any) -> str:
    if not isinstance(ci, dict):
        return DASH
    return f"{fmt.percent(ci.get('low'))}–{fmt.percent(ci.get('high'))}"


def _more_repeats(pair: dict[str, Any], repeats: int) -> str:
    needed = pair.get("repeats_to_separate")
    if pair.get("significant"):
        return DASH
    if pair.get("a_only") == pair.get("b_only"):
        return "no difference seen"
    if needed is None:
        return "over 1000"
    return f"about {needed}" if needed > repeats else str(needed)


def repeats_section(data: dict[str, Any]) -> str:
    models: dict[str, Any] = data.get("models") or {}
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    paired: list[dict[str, Any]] = data.get("paired") or []
    order = [k for k in model_order(data) if (aggregates.get(k) or {}).get("runs")]
    if not order:
        return ""
    repeats = int(((data.get("batch") or {}).get("options") or {}).get("repeats") or 1)
    ks = _ks(aggregates)
    # With one try per task, pass@1 is the success rate and no task can be flaky: the table would only
    # repeat the leaderboard. The paired comparisons (over the tasks both models ran) still say something.
    several = max(ks, default=1) > 1 or any((aggregates.get(k) or {}).get("flaky_tasks") for k in order)
    if not several:
        return _paired(data, paired, repeats, heading=True) if paired else ""
    out = [
        '<section id="repeats"><h2>Repeats <small>pass@k: at least one of k tries passes; pass^k: all k do '
        "(unbiased estimators, mean over tasks)</small></h2>",
        '<div class="card table-wrap"><table class="repeats"><thead><tr><th scope="col">Model</th>'
        '<th scope="col" class="num">Success</th><th scope="col" class="num">95 % interval</th>',
    ]
    out.extend(f'<th scope="col" class="num">pass@{k}</th>' for k in ks)
    out.extend(f'<th scope="col" class="num">pass^{k}</th>' for k in ks if k > 1)
    out.append('<th scope="col">Flaky tasks</th></tr></thead><tbody>')
    for key in order:
        agg = aggregates.get(key) or {}
        out.append(
            f'<tr><td class="model"><b>{esc(model_name(models, key))}</b></td>'
            f'<td class="num">{esc(fmt.percent(agg.get("success_rate")))}</td>'
            f'<td class="num">{esc(_interval(agg.get("success_ci")))}</td>'
        )
        out.extend(f'<td class="num">{esc(_curve(agg.get("pass_at_k"), k))}</td>' for k in ks)
        out.extend(f'<td class="num">{esc(_curve(agg.get("pass_hat_k"), k))}</td>' for k in ks if k > 1)
        flaky = agg.get("flaky_tasks") or []
        out.append(f"<td>{esc(', '.join(str(t) for t in flaky)) if flaky else DASH}</td></tr>")
    out.append("</tbody></table></div>")
    if paired:
        out.append(_paired(data, paired, repeats))
    out.append("</section>")
    return "".join(out)


def _paired(data: dict[str, Any], paired: list[dict[str, Any]], repeats: int, *, heading: bool = False) -> str:
    """Every pair of models with McNemar's test; ``heading``: as a section of its own (no repeats table)."""
    models: dict[str, Any] = data.get("models") or {}
    note = (
        "<small>McNemar's exact test over the (task, repeat) runs both models made; p &lt; 0.05 tells them "
        "apart</small>"
    )
    out = [
        f'<section id="repeats"><h2>Paired comparisons {note}</h2>'
        if heading
        else f"<h3>Paired comparisons {note}</h3>"
    ]
    out.append(
        '<div class="card table-wrap"><table class="paired"><thead><tr><th scope="col">Model A</th>'
        '<th scope="col">Model B</th><th scope="col" class="num">Shared runs</th>'
        '<th scope="col" class="num">Only A passed</th><th scope="col" class="num">Only B passed</th>'
        '<th scope="col" class="num">p</th><th scope="col">Verdict</th>'
        '<th scope="col">Repeats that could separate them</th></tr></thead><tbody>'
    )
    for pair in paired:
        verdict = "told apart" if pair.get("significant") else "tied"
        out.append(
            f"<tr><td>{esc(model_name(models, str(pair.get('a'))))}</td>"
            f"<td>{esc(model_name(models, str(pair.get('b'))))}</td>"
            f'<td class="num">{esc(fmt.integer(pair.get("shared")))}</td>'
            f'<td class="num">{esc(fmt.integer(pair.get("a_only")))}</td>'
            f'<td class="num">{esc(fmt.integer(pair.get("b_only")))}</td>'
            f'<td class="num">{esc(fmt.decimal(pair.get("p_value"), 3))}</td>'
            f'<td class="verdict-{verdict.replace(" ", "-")}">{verdict}</td>'
            f"<td>{esc(_more_repeats(pair, repeats))}</td></tr>"
        )
    out.append("</tbody></table></div>")
    if heading:
        out.append("</section>")
    return "".join(out)
