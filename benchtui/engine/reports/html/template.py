"""The fixed parts of the HTML report: its stylesheet, its one script, and the page shell with its CSP.

The script and the stylesheet are constants, so their SHA-256 hashes are too: the Content-Security-Policy
``<meta>`` allows exactly these two and nothing else (no other script, no style attribute, no network,
no frames, no forms). Data never goes into the script: the page holds no JSON island, every figure and
string is in the escaped HTML, and the script reads only ``data-*`` attributes the report wrote.
"""

from __future__ import annotations

import base64
import hashlib

from benchtui.engine.reports.html.format import esc

CSS = """
:root{color-scheme:light dark;
--bg:#f5f6f8;--surface:#fff;--surface2:#f0f2f5;--text:#1c2129;--muted:#5d6673;--border:#dde1e7;
--accent:#2563eb;--accent-soft:#e0e9ff;--pass:#137a3a;--pass-bg:#dcf5e4;--fail:#b42318;--fail-bg:#fde4e1;
--warn:#a15c07;--warn-bg:#fdf0d5;--err:#6b3fc4;--err-bg:#ece5fb;--add:#137a3a;--add-bg:#e6f6ea;
--del:#b42318;--del-bg:#fdecea;--hunk:#1d5fd1;--hunk-bg:#e8f0fe;--gold:#c99a06;--silver:#8d96a3;
--bronze:#b06a2c;--s0:#3b6fe0;--s1:#14a38b;--shadow:0 1px 2px rgba(16,24,40,.06),0 1px 3px rgba(16,24,40,.08)}
@media (prefers-color-scheme:dark){:root{
--bg:#0e1116;--surface:#161b22;--surface2:#1c222b;--text:#e6edf3;--muted:#8d96a0;--border:#2d333b;
--accent:#6ea8ff;--accent-soft:#1b2b4a;--pass:#4ac26b;--pass-bg:#12301d;--fail:#ff7b72;--fail-bg:#3a1717;
--warn:#e3a93a;--warn-bg:#352810;--err:#b69cff;--err-bg:#2a2145;--add:#56d364;--add-bg:#0f2a18;
--del:#ff8b82;--del-bg:#3b1515;--hunk:#79b8ff;--hunk-bg:#122443;--gold:#e3b341;--silver:#a8b1bd;
--bronze:#d08a4e;--s0:#5b8def;--s1:#2fc0a5;--shadow:none}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,"Noto Sans",sans-serif,"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji"}
main{max-width:1240px;margin:0 auto;padding:28px 24px 64px}
h1{font-size:1.7rem;line-height:1.25;margin:.1rem 0 .4rem}
h2{font-size:1.2rem;margin:2.4rem 0 .8rem;display:flex;align-items:baseline;gap:.6rem}
h2 small,h3 small{font-weight:400;color:var(--muted);font-size:.85rem}
h3{font-size:1rem;margin:1.6rem 0 .5rem}
a{color:var(--accent)}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.85em}
.muted{color:var(--muted)}
.card{background:var(--surface);border:1px solid var(--border);border-radius:12px;box-shadow:var(--shadow)}
header.top{padding:22px 24px}
.eyebrow{text-transform:uppercase;letter-spacing:.08em;font-size:.72rem;font-weight:600;color:var(--muted)}
.tasks{margin:.2rem 0 .9rem;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:.4rem}
.tasks li{background:var(--surface2);border:1px solid var(--border);border-radius:999px;padding:.1rem .7rem;
font-size:.85rem}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin:1rem 0}
.stat{background:var(--surface2);border-radius:10px;padding:.6rem .8rem}
.stat b{display:block;font-size:1.35rem;line-height:1.2}
.stat span{font-size:.78rem;color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem;margin:0;font-size:.88rem}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.about{display:grid;grid-template-columns:3fr 2fr;gap:1rem 2rem;margin-top:1rem}
.about h4{margin:0 0 .35rem;font-size:.72rem;text-transform:uppercase;letter-spacing:.08em;color:var(--muted)}
.badge{display:inline-block;border-radius:999px;padding:0 .55rem;font-size:.75rem;font-weight:600;
line-height:1.5rem;white-space:nowrap;background:var(--surface2);color:var(--muted)}
.st-passed,.st-finished{background:var(--pass-bg);color:var(--pass)}
.st-failed,.st-interrupted{background:var(--fail-bg);color:var(--fail)}
.st-timeout,.st-running{background:var(--warn-bg);color:var(--warn)}
.st-error,.st-cancelled{background:var(--err-bg);color:var(--err)}
.badge.human{background:var(--warn-bg);color:var(--warn)}
.podiums{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}
.podium{padding:16px 18px 14px;display:flex;flex-direction:column}
.podium h3{margin:0;font-size:1.05rem}
.podium .icon{font-size:1.25rem;margin-right:.3rem}
.podium p.what{margin:.1rem 0 .8rem;font-size:.8rem;color:var(--muted)}
.steps{display:grid;grid-template-columns:repeat(3,1fr);align-items:end;gap:8px;min-height:190px}
.step{display:flex;flex-direction:column;align-items:center;text-align:center;min-width:0}
.step .who{font-weight:600;font-size:.86rem;line-height:1.25;overflow-wrap:anywhere;max-width:100%}
.step .val{font-size:.78rem;color:var(--muted);margin:.1rem 0 .35rem}
.block{width:100%;border-radius:8px 8px 0 0;display:flex;align-items:flex-start;justify-content:center;
padding-top:.4rem;font-weight:700;font-size:1.2rem;color:#fff}
.p1 .block{height:92px;background:var(--gold)}
.p2 .block{height:64px;background:var(--silver)}
.p3 .block{height:44px;background:var(--bronze)}
.p1 .who{font-size:.95rem}
.runners{margin:.7rem 0 0;padding:.5rem 0 0;border-top:1px solid var(--border);list-style:none;font-size:.82rem}
.runners li{display:flex;justify-content:space-between;gap:.6rem;padding:.1rem 0}
.runners li span:last-child{color:var(--muted);white-space:nowrap}
.nobody{margin:auto 0;padding:2.2rem 0;text-align:center;color:var(--muted)}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.84rem}
th,td{padding:.5rem .55rem;text-align:left;border-bottom:1px solid var(--border);vertical-align:middle}
th{font-size:.76rem;color:var(--muted);font-weight:600;background:var(--surface2);line-height:1.25}
th:first-child{border-top-left-radius:12px}
th:last-child{border-top-right-radius:12px}
tbody tr:last-child td{border-bottom:0}
tbody tr:hover td{background:var(--surface2)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
th button{all:unset;cursor:pointer;display:inline-flex;align-items:center;gap:.25rem}
th button:focus-visible{outline:2px solid var(--accent);outline-offset:2px;border-radius:3px}
th button::after{content:"↕";opacity:.35;font-size:.9em}
th[aria-sort=ascending] button::after{content:"▲";opacity:.9}
th[aria-sort=descending] button::after{content:"▼";opacity:.9}
th[aria-sort=ascending],th[aria-sort=descending]{color:var(--text)}
td.model b{display:block;min-width:9rem}
td.model{max-width:17rem;overflow-wrap:anywhere}
td.model small{color:var(--muted)}
.rank{font-weight:700;font-variant-numeric:tabular-nums}
/* A leaderboard of many columns takes the window's width, past the page's (never under a scrollbar). */
#leaderboard.wide{margin-left:min(0px,calc(50% - 50vw + 24px));margin-right:min(0px,calc(50% - 50vw + 24px))}
#leaderboard-table{font-size:.8rem}
#leaderboard-table th,#leaderboard-table td{padding:.45rem .32rem}
#leaderboard-table th{font-size:.72rem}
/* Only the sorted column carries an arrow: eighteen "↕" would cost the table a column's width. */
#leaderboard-table th[aria-sort=none] button::after{content:none}
#leaderboard-table th button::after{font-size:.8em}
#leaderboard-table td.model b{min-width:7rem}
#leaderboard-table td.model{max-width:13rem}
#leaderboard-table td.tied{white-space:normal;min-width:4rem;max-width:9rem}
small.src{display:block;color:var(--muted);font-size:.72rem}
/* Narrow windows scroll the table sideways; rank and model stay in view. */
#leaderboard-table tr>:first-child{position:sticky;left:0;z-index:1;width:2.2rem;min-width:2.2rem}
#leaderboard-table tr>:nth-child(2){position:sticky;left:2.2rem;z-index:1;box-shadow:1px 0 0 var(--border)}
#leaderboard-table tbody td:first-child,#leaderboard-table tbody td:nth-child(2){background:var(--surface)}
#leaderboard-table tbody tr:hover td{background:var(--surface2)}
.meter{display:inline-block;vertical-align:middle;margin-left:.4rem}
.meter .track{fill:var(--border)}
.meter .fill{fill:var(--pass)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px}
.chart-card{margin:0;padding:14px 16px 8px}
.chart-card h3{margin:0 0 .2rem;font-size:.95rem}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font-size:12px;fill:var(--text);font-family:inherit}
svg.chart text.axis,svg.chart text.legend,svg.chart text.empty{fill:var(--muted);font-size:11px}
svg.chart text.value{fill:var(--muted);font-size:11px}
svg.chart line.grid{stroke:var(--border);stroke-width:1}
svg.chart .s0{fill:var(--s0)}
svg.chart .s1{fill:var(--s1)}
svg.chart line.err{stroke:var(--text);stroke-width:1.4}
.podium p.tie{margin:.5rem 0 0;font-size:.8rem;color:var(--warn)}
.warn-note{margin:.8rem 0 0;padding:.45rem .7rem;border-radius:6px;background:var(--warn-bg);color:var(--warn)}
small.ci{display:block;color:var(--muted);font-size:.75rem}
td.tied{color:var(--warn);white-space:nowrap}
.repaired{color:var(--warn);font-weight:600;white-space:nowrap;font-size:.8rem}
td.verdict-tied{color:var(--warn)}
td.verdict-told-apart{color:var(--pass)}
table.matrix td,table.matrix th{text-align:center}
table.matrix td:first-child,table.matrix th:first-child{text-align:left}
table.matrix th{min-width:7rem;font-size:.8rem}
.cell{display:inline-block;min-width:4.6rem;border-radius:6px;padding:.15rem .5rem;font-weight:600;
text-decoration:none;font-variant-numeric:tabular-nums}
.m-pass{background:var(--pass-bg);color:var(--pass)}
.m-part{background:var(--warn-bg);color:var(--warn)}
.m-fail{background:var(--fail-bg);color:var(--fail)}
.m-none{color:var(--muted)}
.toolbar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:0 0 .8rem}
.toolbar input{font:inherit;font-size:.88rem;padding:.35rem .6rem;border:1px solid var(--border);
border-radius:8px;background:var(--surface);color:var(--text);min-width:14rem}
.toolbar button{font:inherit;font-size:.8rem;padding:.3rem .7rem;border:1px solid var(--border);
border-radius:999px;background:var(--surface);color:var(--text);cursor:pointer}
.toolbar button[aria-pressed=true]{background:var(--accent);border-color:var(--accent);color:var(--surface)}
.toolbar .spacer{flex:1}
.toolbar output{font-size:.8rem;color:var(--muted)}
.group{margin-bottom:1.2rem}
.group h3{display:flex;gap:.6rem;align-items:baseline}
details.run{background:var(--surface);border:1px solid var(--border);border-radius:10px;margin:.4rem 0}
details.run>summary{cursor:pointer;padding:.55rem .9rem;display:flex;flex-wrap:wrap;gap:.3rem .7rem;
align-items:center;list-style:none}
details.run>summary::-webkit-details-marker{display:none}
details.run>summary::before{content:"▸";color:var(--muted);width:.8rem}
details.run[open]>summary::before{content:"▾"}
details.run[open]>summary{border-bottom:1px solid var(--border)}
summary .task{font-weight:600}
summary .facts{margin-left:auto;color:var(--muted);font-size:.8rem;font-variant-numeric:tabular-nums}
.run-body{padding:.8rem 1rem 1rem}
.reason{border-left:4px solid var(--fail);background:var(--fail-bg);border-radius:6px;padding:.5rem .8rem;
margin:0 0 .9rem}
.reason.r-timeout{border-color:var(--warn);background:var(--warn-bg)}
.reason.r-error{border-color:var(--err);background:var(--err-bg)}
.reason b{display:block;margin-bottom:.15rem}
.reason pre{margin:.3rem 0 0;white-space:pre-wrap;background:transparent;border:0;padding:0;max-height:14rem}
dl.metrics{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.5rem .9rem;margin:0 0 .8rem}
dl.metrics div{min-width:0}
dl.metrics div.wide{grid-column:span 2}
dl.metrics dt{font-size:.7rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
dl.metrics dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
details.part{margin:.5rem 0}
details.part>summary{cursor:pointer;font-weight:600;font-size:.88rem;padding:.2rem 0}
pre{margin:.4rem 0 0;background:var(--surface2);border:1px solid var(--border);border-radius:8px;
padding:.6rem .8rem;overflow:auto;max-height:32rem;white-space:pre;tab-size:4;line-height:1.45}
pre.diff{padding:.4rem 0}
pre.diff span{display:block;padding:0 .8rem;min-height:1.45em}
.d-add{background:var(--add-bg);color:var(--add)}
.d-del{background:var(--del-bg);color:var(--del)}
.d-hunk{background:var(--hunk-bg);color:var(--hunk)}
.d-file{font-weight:700}
.note{font-size:.8rem;color:var(--muted);margin:.35rem 0}
ol.transcript{list-style:none;margin:.4rem 0 0;padding:0}
ol.transcript li{border-left:3px solid var(--border);padding:.1rem 0 .5rem .8rem;margin:0 0 .5rem}
ol.transcript li.k-reply{border-color:var(--s0)}
ol.transcript li.k-check{border-color:var(--s1)}
ol.transcript li.k-hint,ol.transcript li.k-human{border-color:var(--warn)}
ol.transcript li.k-error{border-color:var(--err)}
.entry-head{display:flex;flex-wrap:wrap;gap:.45rem;align-items:center;font-size:.8rem}
.entry-head .turn{font-weight:700}
.entry-head .meta{color:var(--muted)}
ol.transcript pre{white-space:pre-wrap;overflow-wrap:anywhere;max-height:22rem}
.empty-state{padding:1.4rem;text-align:center;color:var(--muted)}
footer{margin-top:3rem;color:var(--muted);font-size:.8rem;text-align:center}
[hidden]{display:none!important}
@media (max-width:760px){main{padding:16px 12px 48px}.charts,.about{grid-template-columns:1fr}
summary .facts{margin-left:0;width:100%}}
/* Big pages: skip layout of runs off screen (not on small ones: full-page screenshots would show blanks). */
section.big details.run{content-visibility:auto;contain-intrinsic-size:auto 44px}
@media print{details.run{break-inside:avoid}section.big details.run{content-visibility:visible}.toolbar{display:none}}
"""

SCRIPT = """
(function () {
  "use strict";
  function cellKey(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) { return null; }
    var raw = cell.getAttribute("data-v");
    if (numeric) {
      if (raw === null || raw === "") { return null; }
      var n = parseFloat(raw);
      return isNaN(n) ? null : n;
    }
    var text = (raw === null ? cell.textContent : raw).trim().toLowerCase();
    return text === "" ? null : text;
  }
  function compare(a, b) {
    if (typeof a === "number") { return a < b ? -1 : (a > b ? 1 : 0); }
    return a.localeCompare(b, undefined, {numeric: true});
  }
  function sortBy(table, th) {
    var heads = table.tHead.rows[0].cells;
    var index = Array.prototype.indexOf.call(heads, th);
    var now = th.getAttribute("aria-sort");
    var dir = now === "ascending" ? "descending" : (now === "descending" ? "ascending"
      : (th.getAttribute("data-first") || "ascending"));
    for (var i = 0; i < heads.length; i++) {
      if (heads[i].hasAttribute("aria-sort")) { heads[i].setAttribute("aria-sort", "none"); }
    }
    th.setAttribute("aria-sort", dir);
    var numeric = th.getAttribute("data-type") === "num";
    var sign = dir === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var items = Array.prototype.map.call(body.rows, function (row) {
      return {row: row, key: cellKey(row, index, numeric), at: Number(row.getAttribute("data-i"))};
    });
    items.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) { return a.at - b.at; }
        return a.key === null ? 1 : -1;
      }
      return sign * compare(a.key, b.key) || a.at - b.at;
    });
    var fragment = document.createDocumentFragment();
    items.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var button = th.querySelector("button");
      if (button) { button.addEventListener("click", function () { sortBy(table, th); }); }
    });
  });

  var runs = Array.prototype.slice.call(document.querySelectorAll("details.run"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  var filter = document.getElementById("run-filter");
  if (filter) {
    var search = document.getElementById("run-search");
    var count = document.getElementById("run-count");
    var chips = Array.prototype.slice.call(filter.querySelectorAll("button[data-status]"));
    var texts = null;
    var status = "all";
    var apply = function () {
      if (texts === null) {
        texts = runs.map(function (run) { return run.querySelector("summary").textContent.toLowerCase(); });
      }
      var query = search.value.trim().toLowerCase();
      var shown = 0;
      runs.forEach(function (run, i) {
        var ok = (status === "all" || run.getAttribute("data-status") === status)
          && (query === "" || texts[i].indexOf(query) !== -1);
        run.hidden = !ok;
        shown += ok ? 1 : 0;
      });
      groups.forEach(function (group) {
        group.hidden = group.querySelector("details.run:not([hidden])") === null;
      });
      count.textContent = shown + " of " + runs.length + " runs";
    };
    chips.forEach(function (chip) {
      chip.addEventListener("click", function () {
        status = chip.getAttribute("data-status");
        chips.forEach(function (other) { other.setAttribute("aria-pressed", String(other === chip)); });
        apply();
      });
    });
    search.addEventListener("input", apply);
    Array.prototype.forEach.call(filter.querySelectorAll("button[data-open]"), function (button) {
      button.addEventListener("click", function () {
        var open = button.getAttribute("data-open") === "1";
        runs.forEach(function (run) { if (!run.hidden) { run.open = open; } });
      });
    });
  }
  // Big pages ship each run's body in an inert template element: put it in place when its panel first opens.
  // ("toggle" does not bubble, so listen in the capture phase.)
  document.addEventListener("toggle", function (event) {
    var run = event.target;
    if (!run.open || !run.classList || !run.classList.contains("run")) { return; }
    var template = run.querySelector(":scope > template");
    if (template) {
      run.appendChild(template.content.cloneNode(true));
      run.removeChild(template);
    }
  }, true);
  function openTarget() {
    var id = location.hash.slice(1);
    try { id = decodeURIComponent(id); } catch (ignored) { return; }
    var target = id ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") {
      target.hidden = false;
      target.open = true;
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


SCRIPT_HASH = _sha256(SCRIPT)
STYLE_HASH = _sha256(CSS)

# No fetch, frame, form, plugin or base-URL change is allowed; only the hashed script and stylesheet run.
# frame-ancestors is ignored in a <meta> CSP, so it is not listed.
CSP = (
    f"default-src 'none'; script-src '{SCRIPT_HASH}'; style-src '{STYLE_HASH}'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def page_head(title: str) -> str:
    """The document up to where the body goes. ``title`` is raw text; it is escaped here."""
    return "".join(
        (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            '<meta name="color-scheme" content="light dark">\n',
            '<meta name="referrer" content="no-referrer">\n',
            '<meta name="generator" content="benchtui">\n',
            # An empty data: icon stops browsers asking the server for /favicon.ico.
            '<link rel="icon" href="data:,">\n',
            f"<title>{esc(title)}</title>\n",
            f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        )
    )


PAGE_TAIL = f"\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
