"""The endpoints section: each endpoint of a pool with its runs, successes and speed, so a slow box
in a pool stands out, and whether it was taken out of the pool during the batch (and why), so a dead one
does too. Only in a batch with a pooled model (the rows are ``reports.endpoints.endpoint_rows``, in the
report data)."""

from __future__ import annotations

from typing import Any

from benchtui.engine.reports.html import format as fmt
from benchtui.engine.reports.html.format import esc, model_name


def endpoints_section(data: dict[str, Any]) -> str:
    rows: list[dict[str, Any]] = data.get("endpoints") or []
    if not rows:
        return ""
    models: dict[str, Any] = data.get("models") or {}
    out = [
        '<section id="endpoints"><h2>Endpoints <small>the servers of each pool: a slow one shows here</small></h2>',
        '<div class="card table-wrap"><table id="endpoints-table"><thead><tr>',
        "<th>Model</th><th>Endpoint</th>",
        '<th class="num">Runs</th><th class="num">Passed</th>',
        '<th class="num" title="median completion time per run">Time per run</th>',
        '<th class="num" title="median tokens per second of its runs">tok/s</th>',
        '<th title="whether the endpoint stayed in the model\'s pool to the end of the batch">In the pool</th>',
        "</tr></thead><tbody>",
    ]
    for row in rows:
        key = str(row.get("model"))
        out.append(
            f'<tr><td class="model"><b>{esc(model_name(models, key))}</b></td>'
            f"<td><code>{esc(row.get('endpoint'))}</code></td>"
            f'<td class="num" data-v="{fmt.sort_key(row.get("runs"))}">{esc(fmt.integer(row.get("runs")))}</td>'
            f'<td class="num" data-v="{fmt.sort_key(row.get("passed"))}">{esc(fmt.integer(row.get("passed")))}</td>'
            f'<td class="num" data-v="{fmt.sort_key(row.get("median_time_s"))}">'
            f"{esc(fmt.seconds(row.get('median_time_s')))}</td>"
            f'<td class="num" data-v="{fmt.sort_key(row.get("median_tokens_per_s"))}">'
            f"{esc(fmt.rate(row.get('median_tokens_per_s')))}</td>"
            f"<td>{_pool_state(row)}</td></tr>"
        )
    out.append("</tbody></table></div></section>")
    return "".join(out)


def _pool_state(row: dict[str, Any]) -> str:
    out = row.get("out")
    if out:
        return f'<span class="badge st-failed">taken out</span> <small class="muted">{esc(out)}</small>'
    if not row.get("runs"):
        return '<span class="muted">yes, served no run</span>'
    return "yes"
