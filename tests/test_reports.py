"""Comparison reports: golden JSON and CSV, CSV formula safety, HTML structure and escaping, determinism, speed.

The batch comes from ``tests/support/report_fixture.py`` (no model is called). Regenerate the golden
files after an intended change with ``BENCHTUI_UPDATE_GOLDEN=1 pytest tests/test_reports.py`` and review
the diff before committing it.
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from benchtui.engine.diffs import diff_line_kind
from benchtui.engine.reports import REPORT_NAMES, csv_report, json_report, write_reports
from benchtui.engine.reports import html as html_report
from benchtui.engine.reports.data import build_report_data
from benchtui.engine.reports.html import format as html_format
from benchtui.engine.reports.html import template as html_template
from benchtui.engine.results import RunResult
from benchtui.engine.store import Batch, ResultsStore
from tests.conftest import REPO
from tests.support import report_fixture as fx

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("BENCHTUI_UPDATE_GOLDEN") == "1"

# Every element the HTML template uses. Anything else in a report came from data and means an escape failed.
# fmt: off
TEMPLATE_TAGS = frozenset({
    "html", "head", "meta", "link", "title", "style", "body", "main", "header", "footer", "section", "article",
    "figure", "div", "span", "p", "h1", "h2", "h3", "h4", "ul", "ol", "li", "dl", "dt", "dd", "b", "small", "code",
    "pre", "table", "thead", "tbody", "tr", "th", "td", "button", "input", "output", "details", "summary", "a",
    "svg", "g", "rect", "line", "text", "template",
})
# fmt: on
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    return fx.build_report_batch(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def data(batch: Batch) -> dict[str, Any]:
    return build_report_data(batch)


@pytest.fixture(scope="module")
def written(batch: Batch) -> dict[str, bytes]:
    paths = write_reports(batch)
    assert [p.name for p in paths] == list(REPORT_NAMES.values())
    return {fmt: p.read_bytes() for fmt, p in zip(REPORT_NAMES, paths, strict=True)}


def _golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path} is missing; create it with BENCHTUI_UPDATE_GOLDEN=1")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
    assert actual == path.read_bytes(), f"{name} differs from its golden file (BENCHTUI_UPDATE_GOLDEN=1 to accept)"


class Page(HTMLParser):
    """Every tag, attribute and text node of a page, plus the text of its script and style elements."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.texts: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value or "") for name, value in attrs)
        self._in = tag if tag in ("script", "style") else None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in = None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


# JSON and CSV golden files


def test_a_writer_that_cannot_be_imported_is_an_error_not_a_missing_report() -> None:
    # The writers are imported by name: with one of them unimportable (None in sys.modules makes its
    # import fail), loading the reports fails loudly instead of writing the other reports without it.
    code = (
        "import sys\n"
        "sys.modules['benchtui.engine.reports.csv_report'] = None\n"
        "try:\n"
        "    import benchtui.engine.reports\n"
        "except ImportError as exc:\n"
        "    print('refused:', exc)\n"
        "    sys.exit(0)\n"
        "sys.exit('loaded without the CSV writer')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "csv_report" in result.stdout


def test_json_report_matches_golden(data: dict[str, Any], written: dict[str, bytes]) -> None:
    assert written["json"] == json_report.render(data).encode()
    _golden("comparison_report.json", written["json"])


def test_csv_report_matches_golden(data: dict[str, Any], written: dict[str, bytes]) -> None:
    assert written["csv"] == csv_report.render(data).encode()
    _golden("comparison_report.csv", written["csv"])


def test_summary_csv_matches_golden(written: dict[str, bytes]) -> None:
    _golden("comparison_summary.csv", written["summary_csv"])


# CSV


def _csv_rows(written: dict[str, bytes]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(written["csv"].decode(), newline="")))


def test_csv_has_a_row_per_run_with_every_metric(data: dict[str, Any], written: dict[str, bytes]) -> None:
    header = next(csv.reader(io.StringIO(written["csv"].decode(), newline="")))
    assert header == list(csv_report.columns())
    assert {"diff", "check_output"}.isdisjoint(header)
    assert header[:4] == ["task_id", "model", "display_name", "provider"]
    rows = _csv_rows(written)
    assert len(rows) == len(data["runs"]) == 8
    gpt = next(r for r in rows if r["model"] == "gpt-4o" and r["task_id"] == "fizzbuzz")
    assert gpt["display_name"] == "GPT-4o" and gpt["provider"] == "openai"
    assert float(gpt["completion_time_s"]) == 12.25 and gpt["status"] == "passed"
    assert gpt["error"] == "" and gpt["check_truncated"] == "false"


def test_csv_neutralises_formulas_in_text_cells(written: dict[str, bytes]) -> None:
    rows = _csv_rows(written)
    formula = next(r for r in rows if r["model"] == "formula")
    assert formula["display_name"] == "'" + fx.HYPERLINK_PAYLOAD
    assert formula["error"] == "'" + fx.AT_PAYLOAD
    assert formula["error_message"] == "'" + fx.MINUS_PAYLOAD
    timeout = next(r for r in rows if r["status"] == "timeout")
    assert timeout["error_message"] == "'" + fx.PLUS_PAYLOAD
    evil = next(r for r in rows if r["model"] == "evil" and r["task_id"] == "fizzbuzz")
    assert evil["sandbox"] == "'" + fx.SPACED_PAYLOAD
    assert evil["fingerprint"] == "'" + fx.TAB_PAYLOAD
    # No cell anywhere starts a formula unless it is a plain number.
    for row in rows:
        for column, value in row.items():
            if value.lstrip(" ").startswith(FORMULA_START):
                float(value)  # raises if a text cell slipped through
                assert column in ("cost_usd",), (column, value)


def test_csv_numbers_stay_numbers_negative_included(written: dict[str, bytes]) -> None:
    text = written["csv"].decode()
    assert f",{fx.NEGATIVE_COST}," in text  # unquoted, no prefix
    evil = next(r for r in _csv_rows(written) if r["model"] == "evil" and r["task_id"] == "fizzbuzz")
    assert float(evil["cost_usd"]) == fx.NEGATIVE_COST
    assert evil["prompts_sent"] == "2" and evil["completion_time_s"] == "30.0"
    formula = next(r for r in _csv_rows(written) if r["model"] == "formula")
    assert formula["tokens_per_s"] == "" and formula["prompt_tokens"] == ""  # null -> empty cell


def test_csv_round_trips_through_csv_reader(data: dict[str, Any], written: dict[str, bytes]) -> None:
    expected = [list(row) for row in csv_report.rows(data)]
    assert list(csv.reader(io.StringIO(written["csv"].decode(), newline=""))) == expected
    evil = next(r for r in _csv_rows(written) if r["model"] == "evil" and r["task_id"] == "csv-quote")
    assert evil["error_message"] == fx.IMG_PAYLOAD  # quotes survive; '<' is not a formula start
    assert written["csv"].endswith(b"\r\n")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-2, "-2"),
        (-0.5, "-0.5"),
        (1e-7, "1e-07"),
        (float("nan"), ""),
        (float("inf"), ""),
        ("plain", "plain"),
        ("-2", "'-2"),
        ("=1+1", "'=1+1"),
        ("  =1+1", "'  =1+1"),
        ("+1", "'+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\x00=1", "'=1"),
        ("＝1+1", "'＝1+1"),
        ("a=1", "a=1"),
        ("\x1b[31mred\x1b[0m", "red"),
        ('a,"b"\nc', 'a,"b"\nc'),
        ({"k": 1}, "{'k': 1}"),
    ],
)
def test_csv_cell(value: Any, cell: str) -> None:
    assert csv_report.cell(value) == cell


def test_csv_tricky_text_round_trips() -> None:
    data = {"models": {}, "runs": [fx.result("t", "m", error_message='comma, "quote"\nnew line\r\nCRLF')]}
    rows = list(csv.reader(io.StringIO(csv_report.render(data), newline="")))
    assert rows[1][csv_report.columns().index("error_message")] == 'comma, "quote"\nnew line\r\nCRLF'


# HTML


def test_html_has_no_element_or_handler_beyond_the_template(written: dict[str, bytes]) -> None:
    page = Page(written["html"].decode())
    assert set(page.tags) <= TEMPLATE_TAGS | {"script"}, set(page.tags) - TEMPLATE_TAGS
    assert page.tags.count("script") == 1
    assert not {"img", "iframe", "object", "embed", "form", "base"} & set(page.tags)
    assert not [a for a in page.attrs if a[1].startswith("on")]
    assert not [a for a in page.attrs if a[1] in ("src", "srcdoc", "action", "formaction", "xlink:href", "style")]
    hrefs = [value for _tag, name, value in page.attrs if name == "href"]
    assert hrefs and all(re.fullmatch(r"#run-\d+", h) or h == "data:," for h in hrefs), hrefs


def test_html_csp_allows_only_its_own_script_and_style(written: dict[str, bytes]) -> None:
    page = Page(written["html"].decode())
    csp = [value for tag, name, value in page.attrs if tag == "meta" and name == "content" and "default-src" in value]
    assert len(csp) == 1
    assert page.tags.index("meta") < page.tags.index("style") < page.tags.index("script")
    policy = dict(part.strip().split(" ", 1) for part in csp[0].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == f"'{_sha256(page.scripts[0])}'"
    assert policy["style-src"] == f"'{_sha256(page.styles[0])}'"
    assert page.scripts[0] == html_template.SCRIPT  # the script holds no data
    assert "unsafe-inline" not in csp[0] and "unsafe-eval" not in csp[0]


def test_html_references_no_network_resource(written: dict[str, bytes]) -> None:
    page = Page(written["html"].decode())
    for _tag, _name, value in page.attrs:
        assert "http://" not in value and "https://" not in value and "javascript:" not in value.lower()
    for code in page.scripts + page.styles:
        assert "http" not in code and "url(" not in code and "@import" not in code and "fetch(" not in code


def test_html_shows_hostile_text_escaped(written: dict[str, bytes]) -> None:
    raw = written["html"].decode()
    page = Page(raw)
    for payload in (fx.SCRIPT_PAYLOAD, fx.IMG_PAYLOAD, fx.LINK_PAYLOAD, fx.HYPERLINK_PAYLOAD):
        assert payload in page.text
    assert "<img" not in raw and "window.__pwned=1</script>" not in raw.replace("&lt;/script&gt;", "")
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;" in raw
    assert "\u2028" in page.text  # kept as text: harmless outside a script


def test_html_contents(written: dict[str, bytes]) -> None:
    page = Page(written["html"].decode())
    text = page.text
    for expected in (
        "Fix FizzBuzz",
        'Parse "quoted" CSV fields',
        fx.BATCH_ID,
        "2025-01-02 03:04:05 UTC",
        "timeout 5 min to 10 min per run (the tasks' own, under the 30 min cap)",
        "Fastest",
        "Most efficient",
        "Most autonomous",
        "🏆",
        "💬",
        "🤖",
        "Leaderboard",
        "Task × model",
        "human intervention: hint",
        "human intervention: typed message",
        "The check did not pass",
        "Timed out",
        "Python",
        "3.11.9",
        "Linux 6.1.0",
        "0.5.7",
    ):
        assert expected in text, expected
    ids = [value for _tag, name, value in page.attrs if name == "id"]
    assert {"podiums", "leaderboard-table", "chart-time", "chart-prompts", "chart-tokens", "matrix", "runs"} <= set(ids)
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert sum(1 for tag, name, value in page.attrs if tag == "details" and name == "class" and value == "run") == 8
    sortable = [value for tag, name, value in page.attrs if tag == "th" and name == "aria-sort"]
    assert sortable[0] == "ascending" and set(sortable[1:]) == {"none"}
    classes = " ".join(value for _tag, name, value in page.attrs if name == "class")
    for css in ("d-add", "d-del", "d-hunk", "m-pass", "m-part", "m-fail", "st-passed", "st-failed", "st-error"):
        assert css in classes, css


def test_every_report_shows_cut_off_replies_and_who_timed_the_rate(
    data: dict[str, Any], written: dict[str, bytes]
) -> None:
    # JSON: the run keys and their per-model aggregates.
    gpt, llama = data["aggregates"]["gpt-4o"], data["aggregates"]["ollama/llama3"]
    assert gpt["truncated_replies"] == 3 and gpt["tokens_per_s_source"] == "client"
    assert llama["truncated_replies"] == 0 and llama["tokens_per_s_source"] == "server"
    assert data["aggregates"]["formula"]["tokens_per_s_source"] is None  # no rate, no source
    assert data["aggregates"]["idle"]["truncated_replies"] == 0
    # CSV: two columns, the counts as numbers.
    timeout = next(r for r in _csv_rows(written) if r["status"] == "timeout")
    assert timeout["truncated_replies"] == "3" and timeout["tokens_per_s_source"] == "client"
    # HTML: a leaderboard column, and both figures in each run's metrics.
    page = Page(written["html"].decode())
    headers = [value for tag, name, value in page.attrs if tag == "th" and name == "title"]
    assert "replies cut off by the token limit (max_tokens)" in headers
    text = page.text
    assert "Cut off" in text and "Cut-off replies3" in text
    assert "Tokens / s88.0 (client)" in text and "Tokens / s18.2 (server)" in text
    assert "95.5 client" not in text and "91.8 client" in text  # the leaderboard's mean, marked


def test_every_report_shows_the_prompt_cache_and_runaway_replies(
    data: dict[str, Any], written: dict[str, bytes]
) -> None:
    # JSON: the ratio counts only the runs that reported a cache figure (1,200 of fizzbuzz's 1,500 tokens,
    # not of the timeout run's 9,000 more); a model whose server said nothing has none, not 0 %.
    gpt, llama = data["aggregates"]["gpt-4o"], data["aggregates"]["ollama/llama3"]
    assert gpt["cache_hit_ratio"] == 0.8 and gpt["cached_prompt_tokens"] == 1200 and gpt["runaway_replies"] == 2
    assert llama["cache_hit_ratio"] is None and llama["cached_prompt_tokens"] is None
    # CSV: the run keys, numbers as numbers, unknown as empty.
    rows = {(r["task_id"], r["model"]): r for r in _csv_rows(written)}
    assert rows[("fizzbuzz", "gpt-4o")]["cached_prompt_tokens"] == "1200"
    assert (
        rows[("csv-quote", "gpt-4o")]["cached_prompt_tokens"] == ""
        and rows[("csv-quote", "gpt-4o")]["runaway_replies"] == "2"
    )
    # HTML: leaderboard columns and each run's metrics.
    page = Page(written["html"].decode())
    headers = [value for tag, name, value in page.attrs if tag == "th" and name == "title"]
    assert "replies stopped because they kept repeating" in headers
    text = page.text
    assert "Cached prompt tokens1,200 of 1,500 (80 %)" in text and "Runaway replies2" in text


def test_html_podium_order_is_the_engines(data: dict[str, Any], written: dict[str, bytes]) -> None:
    raw = written["html"].decode()
    fastest = raw[raw.index('id="podium-fastest"') : raw.index('id="podium-most_efficient"')]
    ranked = [data["models"][e["model"]]["display_name"] for e in data["rankings"]["fastest"]]
    assert ranked == ["GPT-4o", fx.SCRIPT_PAYLOAD, "llama3 (Ollama)"]
    positions = [fastest.index(html_format.esc(name)) for name in ranked]
    # Drawn second, first, third (the podium shape), each with its value.
    assert positions[1] < positions[0] < positions[2]
    assert "12.2 s" in fastest and "30.0 s" in fastest and "52.9 s" in fastest


def test_reports_rebuild_byte_identical(batch: Batch, written: dict[str, bytes]) -> None:
    again = {fmt: p.read_bytes() for fmt, p in zip(REPORT_NAMES, write_reports(batch), strict=True)}
    assert again == written
    reopened = ResultsStore(batch.path.parent).open_batch(batch.path.name)
    assert html_report.render(build_report_data(reopened), reopened).encode() == written["html"]


def _empty_batch(root: Path, runs: list[tuple[str, RunResult, list[dict[str, Any]]]]) -> Batch:
    batch = ResultsStore(root).create_batch(
        {"tasks": fx.TASKS[:1], "models": [fx.MODELS["gpt-4o"]], "options": {}, "runs_planned": 1, "environment": {}}
    )
    for stem, run, entries in runs:
        batch.record_run(fx.MODELS[stem], stem, run, entries)
    batch.flush()
    return batch


def test_html_empty_states(tmp_path: Path) -> None:
    none_ran = _empty_batch(tmp_path / "a", [])
    write_reports(none_ran)
    page = Page((none_ran.path / "comparison_report.html").read_text(encoding="utf-8"))
    assert "No run finished in this batch yet." in page.text
    assert page.text.count("No model passed") == 3
    assert "Task × model" not in page.text  # one task: no matrix
    assert (none_ran.path / "comparison_report.csv").read_text().count("\n") == 1  # the header only

    failed = _empty_batch(tmp_path / "b", [("gpt-4o", fx.result("fizzbuzz", "gpt-4o", status="failed"), [])])
    write_reports(failed)
    page = Page((failed.path / "comparison_report.html").read_text(encoding="utf-8"))
    assert page.text.count("No model passed") == 3
    assert "The check did not pass" in page.text

    bare = html_report.render({})
    assert "No model in this batch." in bare and "No run finished" in bare


def test_html_caps_transcripts_and_details(data: dict[str, Any], batch: Batch) -> None:
    loaded: list[str] = []

    def load(run: dict[str, Any]) -> list[dict[str, Any]]:
        loaded.append(str(run["transcript_file"]))
        return batch.load_transcript(run)

    capped = html_report.render(data, transcripts=load, transcript_runs=2)
    assert len(loaded) == 2
    assert capped.count("Transcript not embedded") == len(data["runs"]) - 2
    tiny = html_report.render(data, batch, detail_budget=50)
    assert "left out to keep this page fast" in tiny.lower()
    long_diff = "\n".join(f"+line {i}" for i in range(html_report.DIFF_LINES + 10))
    one = dict(data, runs=[dict(data["runs"][0], diff=long_diff)])
    assert f"First {html_report.DIFF_LINES:,} of" in html_report.render(one)


def test_ten_thousand_runs_render_whole() -> None:
    # How fast is figure 5d in `python -m bench` (reports for 10,000 runs); here only that every run is there.
    data = fx.synthetic_report_data(10_000)
    page = html_report.render(data)
    table = csv_report.render(data)
    assert page.count('<details class="run"') == 10_000
    assert table.count("\r\n") == 10_001


def test_ten_thousand_runs_get_their_figures_over_repeats() -> None:
    # 20 models × 5 tasks × 100 repeats: 190 paired tests over 500 cells, 100 matrix cells with intervals.
    # Their speed is part of figure 5d in `python -m bench` (the reports of a 10,000-run batch).
    from benchtui.engine import metrics

    runs = fx.synthetic_report_data(10_000)["runs"]
    metrics.aggregate_by_model(runs)
    matrix = metrics.task_matrix(runs)
    paired = metrics.paired_comparisons(runs)
    assert len(paired) == 190
    assert matrix


def test_big_pages_defer_run_bodies_to_templates() -> None:
    small = html_report.render(fx.synthetic_report_data(html_report.LAZY_RUNS))
    assert "<template>" not in small and '<div class="run-body">' in small
    big = html_report.render(fx.synthetic_report_data(html_report.LAZY_RUNS + 100))
    assert big.count('<template><div class="run-body">') == html_report.LAZY_RUNS + 100
    assert '<section id="runs" class="big">' in big


def test_html_transcript_fields_read_as_words_not_python_values(data: dict[str, Any]) -> None:
    entries = [
        {
            "turn": 1,
            "kind": "edits",
            "at_s": 1.5,
            "content": "applied to greet.py (no file changed)",
            "applied": ["greet.py", "main.py"],
            "failed": 0,
            "parsed": 1,
            "changed_nothing": True,
        },
        {
            "turn": 2,
            "kind": "edits",
            "at_s": 2.0,
            "content": "no edit blocks found",
            "applied": [],
            "failed": 2,
            "parsed": 2,
            "changed_nothing": False,
            "dropped": {"old_turns": 3},
        },
    ]
    run = dict(data["runs"][0], transcript_file="runs/x/t.json")
    page = html_report.render(dict(data, runs=[run]), transcripts=lambda _run: entries)
    assert "applied to greet.py, main.py · 1 edit block · changed nothing</span>" in page
    assert "at 2.00 s · 2 failed edits · 2 edit blocks · dropped old turns 3</span>" in page
    for python in ("[", "True", "False", "{"):
        assert f"applied {python}" not in page and f"changed nothing {python}" not in page
    assert "&#x27;greet.py&#x27;" not in page and "[&#x27;" not in page


def test_html_diff_lines_are_classed_by_the_engines_classifier(data: dict[str, Any]) -> None:
    # One classifier (engine/diffs.py) for the report and the TUI: "+++"/"---" are file headers, not a change.
    diff = "diff --git a/x b/x\nindex 1..2\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n"
    assert [diff_line_kind(line) for line in diff.splitlines()] == [
        "file",
        "file",
        "file",
        "file",
        "hunk",
        "del",
        "add",
        "context",
    ]
    page = html_report.render(dict(data, runs=[dict(data["runs"][0], diff=diff)]))
    shown = page.split('<pre class="diff">', 1)[1].split("</pre>")[0]
    spans = re.findall(r'<span( class="d-\w+")?>([^<]*)</span>', shown)
    assert spans == [
        (' class="d-file"', "diff --git a/x b/x"),
        (' class="d-file"', "index 1..2"),
        (' class="d-file"', "--- a/x"),
        (' class="d-file"', "+++ b/x"),
        (' class="d-hunk"', "@@ -1 +1 @@"),
        (' class="d-del"', "-old"),
        (' class="d-add"', "+new"),
        ("", " same"),
    ]


def test_html_matrix_marks_flaky_cells_and_charts_draw_error_bars() -> None:
    from benchtui.engine import metrics, rankings
    from benchtui.engine.reports.html.charts import charts_section
    from benchtui.engine.reports.html.summary import matrix_section

    results: list[RunResult] = []
    for task, verdicts in (("t1", "PFP"), ("t2", "PPP")):
        for repeat, verdict in enumerate(verdicts, 1):
            results.append(
                fx.result(
                    task,
                    "m",
                    repeat,
                    status="passed" if verdict == "P" else "failed",
                    completion_time_s=float(10 + repeat),
                )
            )
    aggregates = metrics.aggregate_by_model(results)
    data: dict[str, Any] = {
        "batch": {"tasks": [{"id": "t1"}, {"id": "t2"}]},
        "models": {"m": {"display_name": "M"}},
        "aggregates": aggregates,
        "rankings": rankings.rank(aggregates, metrics.paired_comparisons(results)),
        "task_matrix": metrics.task_matrix(results),
    }
    matrix = matrix_section(data, {})
    assert "◐ 2/3 flaky" in matrix and "✓ 3/3</span>" in matrix
    charts = charts_section(data)
    # 5/6 passed: Wilson [43.6 %, 97.0 %], drawn as a whisker with two caps, and said beside the bar.
    success = charts[charts.index('id="chart-success"') : charts.index("</svg>", charts.index('id="chart-success"'))]
    assert success.count('<line class="err"') == 3
    assert "83 % (44–97)" in success


# Tool calls the gateway repaired, beside the contestant

REPAIRING = {
    # stem -> (key, display name, the repaired calls of its two runs: None is a run that looked for none)
    "needs": ("aider · qwen", "aider · qwen", (3, 2)),
    "fine": ("aider · llama", "aider · llama", (0, 0)),
    "loop": ("gpt-4o", "GPT-4o", (None, None)),
}


def _repairing_batch(root: Path) -> Batch:
    models = {
        stem: {**fx.MODELS["gpt-4o"], "key": key, "display_name": name}
        | ({"assistant": "aider", "repair_tool_calls": True} if counts[0] is not None else {})
        for stem, (key, name, counts) in REPAIRING.items()
    }
    batch = ResultsStore(root).create_batch(
        {"tasks": fx.TASKS, "models": list(models.values()), "options": {}, "runs_planned": 6, "environment": {}}
    )
    for stem, (key, _name, counts) in REPAIRING.items():
        for task, count in zip(("fizzbuzz", "csv-quote"), counts, strict=True):
            batch.record_run(models[stem], stem, fx.result(task, key, repaired_tool_calls=count), [])
    batch.flush()
    return batch


def _rows_of(section: str) -> dict[str, str]:
    """A table's body rows by the contestant they name (the text of its model cell's <b>)."""
    rows = {}
    for row in section.split("<tr")[1:]:
        found = re.search(r'<td class="model"><b>(.*?)</b>', row)
        if found:
            rows[re.sub(r"<.*?>", "", found.group(1)).split(" ⚒")[0]] = row
    return rows


def test_a_contestant_whose_tool_calls_were_repaired_is_marked_with_the_count_wherever_it_is_ranked(
    tmp_path: Path,
) -> None:
    batch = _repairing_batch(tmp_path)
    data = build_report_data(batch)
    aggregates = data["aggregates"]
    # 0 is "looked for and never needed"; None is "the repair was off" (or benchtui's own loop).
    assert [aggregates[k]["repaired_tool_calls"] for k in ("aider · qwen", "aider · llama", "gpt-4o")] == [5, 0, None]
    write_reports(batch)
    raw = (batch.path / "comparison_report.html").read_text(encoding="utf-8")
    board = raw[raw.index('id="leaderboard"') : raw.index("</section>", raw.index('id="leaderboard"'))]
    rows = _rows_of(board)
    assert set(rows) == {"aider · qwen", "aider · llama", "GPT-4o"}
    assert "⚒ 5 repaired" in rows["aider · qwen"]
    assert "⚒" not in rows["aider · llama"] and "⚒" not in rows["GPT-4o"]
    # The Repaired column: the count, 0 for a repair never needed, a dash for a repair that was off.
    last = {name: re.findall(r'<td class="num"[^>]*>(.*?)</td>', row)[-1] for name, row in rows.items()}
    assert last == {"aider · qwen": "⚒ 5", "aider · llama": "0", "GPT-4o": "—"}
    matrix = raw[raw.index('id="matrix"') : raw.index("</section>", raw.index('id="matrix"'))]
    marked = _rows_of(matrix)
    assert "⚒ 5 repaired" in marked["aider · qwen"] and "⚒" not in marked["aider · llama"] + marked["GPT-4o"]
    # Each run's panel: its own count where the repair was on, nothing where it was off.
    page = Page(raw).text
    assert page.count("Repaired tool calls3") == page.count("Repaired tool calls2") == 1
    assert page.count("Repaired tool calls0") == 2 and page.count("Repaired tool calls") == 4
    # The summary CSV's contestant rows.
    summary = list(csv.DictReader(io.StringIO((batch.path / "comparison_summary.csv").read_text())))
    by_model = {r["model"]: r["repaired_tool_calls"] for r in summary if not r["task_id"]}
    assert by_model == {"aider · qwen": "5", "aider · llama": "0", "gpt-4o": ""}
    assert all(r["repaired_tool_calls"] == "" for r in summary if r["task_id"])


def test_a_batch_without_repairs_shows_no_mark(data: dict[str, Any], written: dict[str, bytes]) -> None:
    assert all(agg["repaired_tool_calls"] is None for agg in data["aggregates"].values())
    assert "⚒" not in written["html"].decode().split("</style>", 1)[1]


def test_the_leaderboard_leaves_out_columns_nothing_measured_and_names_them(
    data: dict[str, Any], written: dict[str, bytes]
) -> None:
    raw = written["html"].decode()
    board = raw[raw.index('id="leaderboard"') : raw.index("</section>", raw.index('id="leaderboard"'))]
    heads = re.findall(r"<th [^>]*><button[^>]*>(.*?)</button></th>", board)
    # The fixture prices gpt-4o and measures its cache: those stay; no model had the repair on.
    assert "Cost" in heads and "Cache" in heads and "Runaway" in heads and "Repaired" not in heads
    legend = Page(board[board.index('class="note legend"') :]).text
    assert "Left out, — for every model: Repaired" in legend
    # The muted tag under each rate is explained on the page, not only on hover.
    assert "server under the rate when the server timed its tokens itself" in legend
    assert "client when benchtui's clock did" in legend
    # Nothing priced, nothing cached: both columns go and the legend names them.
    unmeasured = copy.deepcopy(data)  # the module's data stays as it was for the other tests
    for agg in unmeasured["aggregates"].values():
        agg["cost_usd"] = agg["cache_hit_ratio"] = None
    board = html_report.render(unmeasured).split('id="leaderboard"', 1)[1].split("</section>", 1)[0]
    heads = re.findall(r"<th [^>]*><button[^>]*>(.*?)</button></th>", board)
    assert "Cost" not in heads and "Cache" not in heads and "Tok/s" in heads
    assert "Left out, — for every model: Cost, Cache, Repaired" in Page(board).text


def test_durations_of_whole_minutes_and_hours_drop_the_zero_seconds() -> None:
    assert [html_format.seconds(v) for v in (300, 1800, 306, 3600, 3660, 59.5, 7325)] == [
        "5 min",
        "30 min",
        "5 min 06 s",
        "1 h",
        "1 h 01 min",
        "59.5 s",
        "2 h 02 min",
    ]


def _one_repeat_data(statuses: dict[str, str]) -> dict[str, Any]:
    """Report data of a one-repeat batch on one task: model key -> its run's status."""
    from benchtui.engine import metrics, rankings

    results = [fx.result("t1", key, 1, status=status, completion_time_s=12.0) for key, status in statuses.items()]
    aggregates = metrics.aggregate_by_model(results)
    paired = metrics.paired_comparisons(results)
    return {
        "batch": {"tasks": [{"id": "t1"}], "options": {"repeats": 1}},
        "models": {key: {"display_name": key.upper()} for key in statuses},
        "aggregates": aggregates,
        "rankings": rankings.rank(aggregates, paired),
        "paired": paired,
        "task_matrix": metrics.task_matrix(results),
        "runs": results,
    }


def test_a_batch_where_no_run_passed_says_so_instead_of_an_empty_time_chart() -> None:
    from benchtui.engine.reports.html.charts import charts_section

    charts = charts_section(_one_repeat_data({"m": "failed"}))
    card = charts[: charts.index("</figure>", charts.index('id="chart-median-time"'))]
    card = card[card.rindex("<figure") :]
    assert "No run passed" in card and "<svg" not in card
    # The charts that have figures still draw them.
    assert '<svg class="chart" id="chart-success"' in charts and '<svg class="chart" id="chart-time"' in charts
    passed = charts_section(_one_repeat_data({"m": "passed"}))
    assert '<svg class="chart" id="chart-median-time"' in passed and "No run passed" not in passed


def test_a_one_repeat_batch_has_no_repeats_table_only_its_paired_comparisons() -> None:
    from benchtui.engine.reports.html.repeats import repeats_section

    assert repeats_section(_one_repeat_data({"m": "passed"})) == ""  # one model: nothing to compare
    two = repeats_section(_one_repeat_data({"a": "passed", "b": "failed"}))
    assert "<h2>Paired comparisons" in two and "pass@" not in two and 'class="repeats"' not in two
    assert two.startswith('<section id="repeats">') and two.endswith("</section>")
    assert two.count("<section") == two.count("</section>") == 1


# A tie for first: the places agree with it


def _all_failed_batch(root: Path) -> Batch:
    """Two contestants, two repeats each, no pass: the order is by the failed runs' time, nothing tells
    them apart."""
    models = {stem: {**fx.MODELS["gpt-4o"], "key": stem, "display_name": stem} for stem in ("quick", "slow")}
    batch = ResultsStore(root).create_batch(
        {"tasks": fx.TASKS[:1], "models": list(models.values()), "options": {}, "runs_planned": 4, "environment": {}}
    )
    for stem, time_s in (("quick", 5.0), ("slow", 50.0)):
        for repeat in (1, 2):
            result = fx.result("fizzbuzz", stem, repeat, status="failed", completion_time_s=time_s, malformed_replies=5)
            batch.record_run(models[stem], stem, result, [])
    batch.flush()
    return batch


def test_a_tie_for_first_is_two_firsts_in_the_html_and_the_headless_summary(tmp_path: Path) -> None:
    from rich.console import Console

    from benchtui.cli.summary import summary

    batch = _all_failed_batch(tmp_path)
    data = build_report_data(batch)
    assert [(e["model"], e["rank"], e["place"]) for e in data["rankings"]["leaderboard"]] == [
        ("quick", 1, 1),
        ("slow", 2, 1),
    ]
    write_reports(batch)
    raw = (batch.path / "comparison_report.html").read_text(encoding="utf-8")
    board = raw[raw.index('id="leaderboard"') : raw.index("</section>", raw.index('id="leaderboard"'))]
    ranks = {name: re.search(r'<td class="num rank"[^>]*>(.*?)</td>', row) for name, row in _rows_of(board).items()}
    assert {name: found.group(1) for name, found in ranks.items() if found} == {"quick": "=1", "slow": "=1"}
    console = Console(width=160, color_system=None, record=True)
    console.print(summary(data["runs"], width=160))
    shown = console.export_text()
    rows = [line.split()[0] for line in shown.splitlines() if line.split()[1:2] in (["quick"], ["slow"])]
    assert rows == ["=1", "=1"]
    assert "First place is a tie: quick, slow (all =1; listed by success rate, then mean time" in shown
    assert "#2" not in shown and "=1 slow tied with quick" in shown


def test_every_leaderboard_says_which_figures_are_means_per_run_and_which_totals(tmp_path: Path) -> None:
    """2 repeats of 5 malformed replies each: the row's Malformed is 10 (a total) beside Prompts 1.0 (a mean),
    and the line under the table says which is which (not only a header's tooltip)."""
    from rich.console import Console

    from benchtui.cli.summary import summary

    batch = _all_failed_batch(tmp_path)
    data = build_report_data(batch)
    assert data["aggregates"]["quick"]["malformed_replies"] == 10 and data["aggregates"]["quick"]["mean_prompts"] == 1
    write_reports(batch)
    raw = (batch.path / "comparison_report.html").read_text(encoding="utf-8")
    legend = re.search(r'<p class="note" id="leaderboard-legend">(.*?)</p>', raw)
    # Only the columns shown: no run passed and none was priced, so Time ✓ and Cost are left out (and named so).
    assert legend is not None and legend.group(1) == (
        "Per run (mean): Time all, Prompts, Interv., Tok/s · totals over the runs: Malformed, Cut off, "
        "Tokens in, Tokens out, Runaway."
    )
    assert "Left out, — for every model: Time\u00a0✓, Cost" in Page(raw).text
    for width, kinds in (
        (160, "Per run (mean): Time, Prompts, Interv., tok/s · totals over the runs: Malformed, Cut off, Tokens, Cost"),
        (80, "Per run (mean): Time, Prompts, Interv., tok/s · totals over the runs: Cost"),  # the columns shown
    ):
        console = Console(width=width, color_system=None, record=True)
        console.print(summary(data["runs"], width=width))
        assert kinds in " ".join(console.export_text().split()), width
