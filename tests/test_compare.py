"""Batch-to-batch comparison: the tests by hand, then real batches run through the CLI against a scripted
Ollama (a batch, and a rerun in which one contestant got worse), ``benchtui compare``, and History's
Compare action in the TUI."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Label, Static

from benchtui.app import BenchApp
from benchtui.cli import main
from benchtui.engine.compare import compare_batches, load_batch
from benchtui.engine.config import ModelsConfig
from benchtui.engine.discovery import discover
from benchtui.engine.errors import InputError
from benchtui.engine.reports.comparison import compare_and_write
from benchtui.engine.reports.html import comparison as comparison_html
from benchtui.engine.store import ResultsStore
from benchtui.engine.twosample import (
    StratumCounts,
    bootstrap_median_difference,
    exact_rate_test,
    holm,
    resampled_medians,
)
from benchtui.present import comparison as shown
from tests.conftest import REPO
from tests.support.scripted import Reply, Script, ScriptedOllama, fixed, solution_reply, tiny_task
from tests.test_tui_snapshots import settle

REPEATS = 6
GARBAGE = "no idea"

pytestmark = pytest.mark.timeout(600)


# The tests, against values worked by hand


def test_one_task_is_fishers_exact_test() -> None:
    # 3/3 against 0/3: of the 20 ways to place 3 passes among 6 runs, the two extremes are each 1/20.
    test = exact_rate_test([StratumCounts(3, 3, 0, 3)])
    assert test.p_value == pytest.approx(0.1)
    assert (test.observed, test.expected, test.direction) == (0, 1.5, -1)
    # 5/5 against 1/5: P(B passes x) = C(6,x)·C(4,5−x)/252 = 6, 60, 120, 60, 6 (/252) for x = 1..5.
    test = exact_rate_test([StratumCounts(5, 5, 1, 5)])
    assert test.p_value == pytest.approx(12 / 252)
    # The same counts the other way round are as significant, the other way.
    flipped = exact_rate_test([StratumCounts(1, 5, 5, 5)])
    assert flipped.p_value == pytest.approx(12 / 252) and flipped.direction == 1


def test_tasks_are_strata_and_their_distributions_convolve() -> None:
    # Two tasks, each 1/1 against 0/1: each puts B's one pass at 0 or 1 with ½; the sum is 0, 1, 2 with
    # ¼, ½, ¼. Observed 0: as likely as 2 and no more likely than 1's ½, so p = ¼ + ¼.
    test = exact_rate_test([StratumCounts(1, 1, 0, 1), StratumCounts(1, 1, 0, 1)])
    assert test.p_value == pytest.approx(0.5) and test.direction == -1
    # A task only one batch ran says nothing; with none left there is no test.
    assert exact_rate_test([StratumCounts(2, 2, 0, 0)]).p_value is None
    assert exact_rate_test([StratumCounts(2, 2, 0, 0), StratumCounts(3, 3, 0, 3)]).p_value == pytest.approx(0.1)
    # No change at all: p is 1 and no direction.
    same = exact_rate_test([StratumCounts(2, 4, 2, 4)])
    assert same.p_value == pytest.approx(1.0) and same.direction == 0


def test_holm_adjusts_in_step_down_order_and_keeps_untested_out() -> None:
    # Sorted 0.01, 0.03, 0.04: ×3 = 0.03, ×2 = 0.06, ×1 = 0.04 raised to the running 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([None, 0.02]) == [None, 0.02]
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])


def test_the_median_bootstrap_sees_a_shift_and_no_shift() -> None:
    before = [float(v) for v in range(1, 11)]
    after = [v + 10 for v in before]
    p_value, interval = bootstrap_median_difference(before, after, seed="x")
    assert p_value is not None and p_value < 0.01
    assert interval is not None and 0 < interval[0] <= 10 <= interval[1]
    assert bootstrap_median_difference(before, list(before), seed="x")[0] == pytest.approx(1.0, abs=0.2)
    assert bootstrap_median_difference([1.0] * 5, [1.0] * 5, seed="x")[0] == 1.0
    # Too few passed runs on a side: not tested rather than guessed.
    assert bootstrap_median_difference(before, [1.0, 2.0], seed="x") == (None, None)
    # Seeded: the same inputs give the same figures.
    assert bootstrap_median_difference(before, after, seed="x") == bootstrap_median_difference(before, after, seed="x")


def test_a_resampled_median_has_the_textbook_bootstrap_distribution() -> None:
    # Three values, three draws: the median is 1 when at least two draws are 1: 3·(1/3)²·(2/3) + (1/3)³ =
    # 7/27; likewise 3; and 2 otherwise, 13/27.
    medians = resampled_medians([3.0, 1.0, 2.0], random.Random(4), 27000)
    assert [medians.count(v) / 27000 for v in (1.0, 2.0, 3.0)] == pytest.approx([7 / 27, 13 / 27, 7 / 27], abs=0.015)
    # Four values: the mean of the two middle draws, symmetric around 2.5.
    even = resampled_medians([1.0, 2.0, 3.0, 4.0], random.Random(4), 20000)
    assert set(even) <= {1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0} and sum(even) / len(even) == pytest.approx(2.5, abs=0.03)


def runs(task: str, model: str, passed: int, total: int) -> list[dict[str, Any]]:
    """Report data's runs of one task × model cell, ``passed`` of ``total`` passed (for the engine alone)."""
    return [
        {"task_id": task, "model": model, "repeat": n, "status": "passed" if n <= passed else "failed"}
        for n in range(1, total + 1)
    ]


def data(batch_id: str, *cells: list[dict[str, Any]]) -> dict[str, Any]:
    every = [r for c in cells for r in c]
    tasks = [{"id": t} for t in dict.fromkeys(str(r["task_id"]) for r in every)]
    models: dict[str, dict[str, Any]] = {str(r["model"]): {} for r in every}
    return {"batch": {"batch_id": batch_id, "tasks": tasks}, "models": models, "runs": every}


def test_holm_is_applied_to_the_task_cells_not_to_a_single_contestant() -> None:
    # One contestant, two tasks: t1 5/5 → 1/5 (Fisher p = 12/252 ≈ 0.048), t2 5/5 → 5/5 (p = 1). Alone the
    # t1 cell would be significant; corrected over the two cells it is not (0.095). The contestant's own
    # test pools the two tasks' evidence (t2 carries none): p ≈ 0.048, one test, so it regressed.
    a = data("a", runs("t1", "m", 5, 5), runs("t2", "m", 5, 5))
    b = data("b", runs("t1", "m", 1, 5), runs("t2", "m", 5, 5))
    result = compare_batches(a, b)
    (contestant,) = result["contestants"]
    assert contestant["success"]["p_adjusted"] == pytest.approx(12 / 252, rel=1e-3)
    assert contestant["success"]["verdict"] == "regressed"
    t1 = next(c for c in result["cells"] if c["task_id"] == "t1")
    assert t1["success"]["p_value"] == pytest.approx(12 / 252, rel=1e-3)
    assert t1["success"]["p_adjusted"] == pytest.approx(24 / 252, rel=1e-3) and t1["success"]["verdict"] == "unchanged"
    assert flagged(result, "regressions") == {("m", None)}


def test_hostile_names_reach_the_html_comparison_as_inert_text() -> None:
    evil_model, evil_task = '<img src=x onerror="window.__pwned=1">', "</script><script>window.__pwned=1</script>"
    a = data("a", runs(evil_task, evil_model, 5, 5), runs("t2", "m", 5, 5))
    b = data("b<i>", runs(evil_task, evil_model, 0, 5), runs("t2", "m", 5, 5))
    page = comparison_html.render(compare_batches(a, b))
    assert "<img" not in page and "<script>window" not in page and "<i>" not in page
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in page
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own, hashed in its CSP


def test_a_contestant_repaired_in_either_batch_is_marked_with_both_counts() -> None:
    # "aider · m": the repair off in A (None), on in B with 3 repaired; "aider · n": on in both, never needed.
    def repaired(cell: list[dict[str, Any]], counts: list[int | None]) -> list[dict[str, Any]]:
        return [{**run, "repaired_tool_calls": count} for run, count in zip(cell, counts, strict=True)]

    a = data("a", repaired(runs("t", "aider · m", 2, 2), [None, None]), repaired(runs("t", "aider · n", 2, 2), [0, 0]))
    b = data("b", repaired(runs("t", "aider · m", 2, 2), [2, 1]), repaired(runs("t", "aider · n", 2, 2), [0, 0]))
    result = compare_batches(a, b)
    sides = {c["model"]: (c["a"]["repaired_tool_calls"], c["b"]["repaired_tool_calls"]) for c in result["contestants"]}
    assert sides == {"aider · m": (None, 3), "aider · n": (0, 0)}
    rows = {row["model"].plain.removeprefix("⚒ "): row["model"].plain for row in shown.contestant_rows(result)}
    assert rows == {"aider · m": "⚒ aider · m", "aider · n": "aider · n"}
    assert any(note.endswith("A → B: aider · m — → 3") for note in shown.notes(result))
    page = comparison_html.render(result)
    marked = [row for row in page.split("<tr") if "aider · " in row and "⚒" in row]
    assert len(marked) == 1 and "aider · m</b>" in marked[0] and "repaired calls — → 3" in marked[0]


def test_a_task_edited_between_the_batches_is_compared_and_named() -> None:
    a = data("a", runs("t1", "m\x1b[2J", 2, 2))
    b = data("b", runs("t1", "m\x1b[2J", 2, 2))
    a["batch"]["tasks"][0]["fingerprint"], b["batch"]["tasks"][0]["fingerprint"] = "f1", "f2"
    result = compare_batches(a, b)
    assert result["changed_tasks"] == ["t1"] and result["shared"]["tasks"] == ["t1"]
    assert "Edited between the batches (compared anyway): t1" in shown.notes(result)
    (row,) = shown.contestant_rows(result)
    assert row["model"].plain == "m"  # the terminal escape sequence is gone
    b["batch"]["tasks"][0]["fingerprint"] = "f1"
    assert compare_batches(a, b)["changed_tasks"] == []


# Real batches


@dataclass
class Batches:
    out: Path
    config: Path
    first: str  # steady, slipping and coin all as they are
    rerun: str  # the same, but slipping now never solves the task
    other: str  # other tasks (alpha, gamma) and contestants (steady, newcomer)


def coin(solve: Reply, seed: int) -> Reply:
    """Solves or answers garbage at random (seeded): a contestant whose verdicts vary run to run."""
    rng = random.Random(seed)
    return lambda messages: solve(messages) if rng.random() < 0.5 else GARBAGE


def run_batch(config: Path, out: Path, tasks: list[Path], models: str) -> str:
    before = {p.name for p in out.iterdir()} if out.exists() else set()
    args = ["--models", models, "--repeats", str(REPEATS), "--config", str(config), "--output", str(out), "--no-ui"]
    for task in tasks:
        args[:0] = ["--task", str(task)]
    assert main(args) == 0
    (new,) = {p.name for p in out.iterdir()} - before
    return new


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batches]:
    root = tmp_path_factory.mktemp("compare")
    alpha, beta, gamma = (tiny_task(root / name, name) for name in ("alpha", "beta", "gamma"))
    solve = solution_reply(alpha)  # every tiny task has the same fix
    scripts = {
        "steady": Script(solve),
        "slipping": Script(solve),
        "coin": Script(coin(solve, 1)),
        "newcomer": Script(solve),
    }
    config = root / "models.yaml"
    config.write_text("embedded: {enabled: false}\n", encoding="utf-8")
    out = root / "results"
    with ScriptedOllama(scripts) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OLLAMA_HOST", server.url)
        first = run_batch(config, out, [alpha, beta], "steady,slipping,coin")
        scripts["slipping"].reply = fixed(GARBAGE)
        scripts["coin"].reply = coin(solve, 2)  # a real rerun: new draws, the same chance
        rerun = run_batch(config, out, [alpha, beta], "steady,slipping,coin")
        other = run_batch(config, out, [alpha, gamma], "steady,newcomer")
    yield Batches(out, config, first, rerun, other)


def flagged(data: dict[str, Any], kind: str, metric: str = "success_rate") -> set[tuple[str, str | None]]:
    return {(c["model"], c["task_id"]) for c in data[kind] if c["metric"] == metric}


def test_a_rerun_in_which_one_contestant_got_worse_flags_exactly_its_regression(batches: Batches) -> None:
    store = ResultsStore(batches.out)
    result = compare_and_write(store, batches.first, batches.rerun)
    data = result.data
    assert data["shared"] == {
        "models": ["ollama/coin", "ollama/slipping", "ollama/steady"],
        "tasks": ["beta", "alpha"] if data["a"]["tasks"][0] == "beta" else ["alpha", "beta"],
    }
    assert data["only_in_a"] == data["only_in_b"] == {"models": [], "tasks": []}
    # The contestant and each of its tasks: regressed; nobody else, and nothing improved.
    assert flagged(data, "regressions") == {
        ("ollama/slipping", None),
        ("ollama/slipping", "alpha"),
        ("ollama/slipping", "beta"),
    }
    assert flagged(data, "improvements") == set()
    by_model = {c["model"]: c for c in data["contestants"]}
    slipping, steady, noisy = by_model["ollama/slipping"], by_model["ollama/steady"], by_model["ollama/coin"]
    assert (slipping["a"]["passed"], slipping["b"]["passed"], slipping["a"]["runs"]) == (12, 0, 12)
    assert slipping["success"]["verdict"] == "regressed" and slipping["success"]["p_adjusted"] < 0.001
    assert slipping["success"]["delta"] == -1.0
    assert slipping["a"]["success_ci"]["low"] > 0.7 and slipping["b"]["success_ci"]["high"] < 0.3
    assert slipping["pass_at_k"]["6"] == {"a": 1.0, "b": 0.0, "delta": -1.0}
    # No passed run in B: its medians are unknown, never 0, and not tested.
    assert slipping["medians"]["median_passed_time_s"]["b"] is None
    assert slipping["medians"]["median_passed_time_s"]["verdict"] == "untested"
    assert steady["success"]["verdict"] == "unchanged" and steady["success"]["p_value"] == 1.0
    # The scripted replies are the same in both batches, so are their tokens: no change there.
    assert steady["medians"]["median_passed_tokens"]["a"] == steady["medians"]["median_passed_tokens"]["b"] > 0
    assert steady["medians"]["median_passed_tokens"]["verdict"] == "unchanged"
    # The coin's verdicts vary (it is flaky) but its chance did not change: not flagged.
    assert 0 < noisy["a"]["passed"] < 12 and noisy["success"]["verdict"] == "unchanged"
    cells = {(c["model"], c["task_id"]): c["success"]["verdict"] for c in data["cells"]}
    assert cells[("ollama/steady", "alpha")] == "unchanged" and cells[("ollama/slipping", "beta")] == "regressed"
    beta = next(c for c in data["cells"] if (c["model"], c["task_id"]) == ("ollama/slipping", "beta"))
    assert beta["a"]["pass_at_k"]["6"] == 1.0 and beta["b"]["pass_at_k"]["6"] == 0.0
    assert beta["a"]["success_ci"]["high"] == 1.0 and beta["b"]["median_passed_time_s"] is None


def test_the_comparison_is_written_into_batch_b_and_rebuilds_byte_identical(batches: Batches) -> None:
    store = ResultsStore(batches.out)
    result = compare_and_write(store, batches.first, batches.rerun)
    stem = f"compare_{batches.first}_vs_{batches.rerun}"
    assert result.paths == (batches.out / batches.rerun / f"{stem}.json", batches.out / batches.rerun / f"{stem}.html")
    written = [path.read_bytes() for path in result.paths]
    assert json.loads(written[0]) == result.data
    page = written[1].decode()
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert re.search(r'<span class="badge st-failed">regressed</span></td><td class="model"><b>ollama/slipping', page)
    assert "ollama/steady" in page and "http" not in page.replace("http-equiv", "")
    # A batch's folder stays a batch: the comparison is not a model's result file, nor read as one.
    assert store.open_batch(batches.rerun).load_results()[0].keys() == {
        "ollama/coin",
        "ollama/slipping",
        "ollama/steady",
    }
    again = compare_and_write(store, batches.first, batches.rerun)
    assert [path.read_bytes() for path in again.paths] == written
    assert not list((batches.out / batches.rerun).glob(".*.tmp"))  # atomic writes leave no temp file


def test_batches_with_different_tasks_and_contestants_compare_on_what_they_share(batches: Batches) -> None:
    _, a = load_batch(ResultsStore(batches.out), batches.first)
    _, b = load_batch(ResultsStore(batches.out), batches.other)
    data = compare_batches(a, b)
    assert data["shared"] == {"models": ["ollama/steady"], "tasks": ["alpha"]}
    assert data["only_in_a"] == {"models": ["ollama/coin", "ollama/slipping"], "tasks": ["beta"]}
    assert data["only_in_b"] == {"models": ["ollama/newcomer"], "tasks": ["gamma"]}
    (steady,) = data["contestants"]
    # Over the shared task only: beta's and gamma's runs are in neither side's figures.
    assert steady["a"]["runs"] == steady["b"]["runs"] == REPEATS
    assert [(c["model"], c["task_id"]) for c in data["cells"]] == [("ollama/steady", "alpha")]
    # (Times measure the machine too: a busier machine may flag steady's time. Success rates must not move.)
    assert flagged(data, "regressions") == flagged(data, "improvements") == set()
    assert flagged(data, "regressions", "median_passed_tokens") == set()
    page = comparison_html.render(data)
    assert "The batches differ: they are compared on the contestants and tasks both have" in page
    assert (
        "<dt>Only in A</dt><dd>contestants <code>ollama/coin</code>, <code>ollama/slipping</code> · "
        "tasks <code>beta</code></dd>" in page
    )
    assert "<dt>Only in B</dt><dd>contestants <code>ollama/newcomer</code> · tasks <code>gamma</code></dd>" in page


def test_cli_compare_prints_the_summary_and_exits_1_on_a_regression(
    batches: Batches, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compare", batches.first, batches.rerun, "--output", str(batches.out)])
    printed = capsys.readouterr()
    assert code == 1, printed.err
    lines = printed.out.splitlines()
    assert "\x1b[" not in printed.out  # piped: plain text
    row = next(line for line in lines if line.split()[:1] == ["ollama/slipping"])
    assert row.split()[1:9] == ["100%", "→", "0%", "12/12", "→", "0/12", "<0.001", "regressed"]
    assert any(line.startswith("✗ ollama/slipping regressed: success rate 100% → 0%") for line in lines)
    # No other success rate regressed (a median time may: times measure the machine too, and never fail it).
    others = ("✗ ollama/steady", "✗ ollama/coin")
    assert not any(line.startswith(others) and "success rate" in line for line in lines)
    assert lines[-2:] == [
        str(batches.out / batches.rerun / f"compare_{batches.first}_vs_{batches.rerun}.json"),
        str(batches.out / batches.rerun / f"compare_{batches.first}_vs_{batches.rerun}.html"),
    ]

    # No regression: exit 0, and what only one batch had is named. (Global options may come first.)
    code = main(["--output", str(batches.out), "compare", batches.first, str(batches.out / batches.other)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Only in A (left out): contestants ollama/coin, ollama/slipping; tasks beta" in printed.out
    assert "Only in B (left out): contestants ollama/newcomer; tasks gamma" in printed.out
    assert "No significant change in any success rate" in printed.out


def test_cli_compare_open_hands_the_html_to_the_browser(batches: Batches, tmp_path: Path) -> None:
    # A real process with $BROWSER pointing at a recorder: webbrowser reads it when first used.
    opened = tmp_path / "opened.txt"
    recorder = tmp_path / "browser.sh"
    recorder.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n', encoding="utf-8")
    recorder.chmod(0o755)
    env = {**os.environ, "BROWSER": str(recorder)}
    args = [sys.executable, "-m", "benchtui", "compare", batches.first, batches.rerun, "--output", str(batches.out)]
    done = subprocess.run([*args, "--open"], env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 1, done.stderr
    html = batches.out / batches.rerun / f"compare_{batches.first}_vs_{batches.rerun}.html"
    assert opened.read_text(encoding="utf-8") == html.resolve().as_uri()


def test_cli_compare_errors_name_the_batch_and_exit_2(
    batches: Batches, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", batches.first, "batch_19990101_000000", "--output", str(batches.out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("benchtui: error: no batch 'batch_19990101_000000'") and str(batches.out) in err

    # An unreadable batch: its folder is named.
    broken = tmp_path / "results" / "batch_20000101_000000"
    broken.mkdir(parents=True)
    (broken / "batch.json").write_text("{torn", encoding="utf-8")
    assert main(["compare", str(broken), str(batches.out / batches.first)]) == 2
    err = capsys.readouterr().err
    assert f"cannot read batch {broken}" in err and err.count("\n") == 1

    assert main(["compare", batches.first, batches.first, "--output", str(batches.out)]) == 2
    assert "the same batch" in capsys.readouterr().err
    with pytest.raises(InputError, match="no batch"):
        compare_and_write(ResultsStore(tmp_path), "nope", batches.first)


def _strangers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    """Three batches: ``first`` (steady on alpha), ``stranger`` (newcomer on alpha: no contestant in common
    with first) and ``moved`` (steady on gamma: no task in common)."""
    alpha, gamma = tiny_task(tmp_path / "alpha", "alpha"), tiny_task(tmp_path / "gamma", "gamma")
    config, out = tmp_path / "models.yaml", tmp_path / "results"
    config.write_text("embedded: {enabled: false}\n", encoding="utf-8")
    made: dict[str, str] = {}
    with ScriptedOllama({"steady": Script(solution_reply(alpha)), "newcomer": Script(fixed(GARBAGE))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        for name, task, models in (
            ("first", alpha, "steady"),
            ("stranger", alpha, "newcomer"),
            ("moved", gamma, "steady"),
        ):
            before = set(out.iterdir()) if out.exists() else set()
            args = ["--task", str(task), "--models", models, "--config", str(config), "--output", str(out), "--no-ui"]
            assert main(args) == 0
            (made[name],) = {p.name for p in set(out.iterdir()) - before}
    return out, made


def test_cli_compare_of_batches_with_nothing_in_common_says_so_exits_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, made = _strangers(tmp_path, monkeypatch)
    capsys.readouterr()
    files = {p for p in out.rglob("*")}

    assert main(["compare", made["first"], made["stranger"], "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("benchtui: error: nothing to compare: the batches have no contestant in common") and (
        f"A ({made['first']}) has contestants ollama/steady; B ({made['stranger']}) has contestants ollama/newcomer"
        in err
    )
    assert main(["compare", made["first"], made["moved"], "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no task in common" in err and "has tasks alpha;" in err and err.rstrip().endswith("has tasks gamma")
    assert {p for p in out.rglob("*")} == files  # no compare_*.json or .html written


@pytest.mark.anyio
async def test_the_compare_screen_of_batches_with_nothing_in_common_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchtui.screens.compare import CompareScreen

    out, made = _strangers(tmp_path, monkeypatch)
    files = {p for p in out.rglob("*")}
    config = ModelsConfig(path=None, ollama_host="127.0.0.1:9", embedded_enabled=False)
    app = BenchApp(config=config, catalog=discover(config, embedded=False), store=ResultsStore(out), tasks=[])
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(CompareScreen(app.session, made["first"], made["stranger"]))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        title = rendered(app.screen.query_one("#compare-title", Label))
        detail = rendered(app.screen.query_one("#compare-detail", Static))
    assert title == f"Cannot compare {made['first']} → {made['stranger']}"
    assert detail.replace("\n", "").startswith("nothing to compare: the batches have no contestant in common")
    assert {p for p in out.rglob("*")} == files


def test_the_readme_names_every_file_a_batch_folder_holds(batches: Batches) -> None:
    """What a user finds in a batch folder (with a comparison written into it) is what the README lists."""
    compare_and_write(ResultsStore(batches.out), batches.first, batches.rerun)
    folder = batches.out / batches.rerun
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    results = readme[readme.index("## Results") :].split("\n## ", 1)[0]
    results = " ".join(results.split())
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        name = path.relative_to(folder).as_posix()
        name = name.replace(batches.first, "<A>").replace(batches.rerun, "<B>")
        name = re.sub(r"^runs/[^/]+/[^/]+__r\d+\.json$", "runs/<model>/<task>__r<N>.json", name)
        name = re.sub(r"^[^/]+_result\.json$", "<model>_result.json", name)
        name = re.sub(r"^comparison_report\.(json|csv|html)$", "comparison_report.json|csv|html", name)
        name = re.sub(r"^(compare_<A>_vs_<B>)\.html$", "`.html` into batch B's folder", name)
        assert name in results, f"{path.relative_to(folder)} is not in the README's Results section"


# The TUI


def make_app(batches: Batches) -> BenchApp:
    config = ModelsConfig(path=None, ollama_host="127.0.0.1:9", embedded_enabled=False)
    return BenchApp(config=config, catalog=discover(config, embedded=False), store=ResultsStore(batches.out), tasks=[])


def rendered(widget: Static | Label) -> str:
    content = widget.render()
    return str(getattr(content, "plain", content))


async def goto_batch(pilot: Any, table: DataTable[Any], batch_id: str) -> None:
    while str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value) != batch_id:
        await pilot.press("down")


@pytest.mark.anyio
async def test_history_marks_two_batches_and_c_shows_their_comparison(batches: Batches) -> None:
    app = make_app(batches)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        await settle(pilot)
        table = app.screen.query_one("#history-table", DataTable)
        # One mark only: c says what to do, and nothing opens.
        await goto_batch(pilot, table, batches.rerun)
        await pilot.press("m")
        await pilot.pause()
        assert str(table.get_row(batches.rerun)[0]) == f"{batches.rerun} ●"
        await pilot.press("c")
        await pilot.pause()
        assert type(app.screen).__name__ == "HistoryScreen"
        assert "Mark two batches" in " ".join(str(n.message) for n in app._notifications)
        # The rerun (newer) marked first, the first batch second: the earlier is still A.
        await goto_batch(pilot, table, batches.first)
        await pilot.press("m")
        await pilot.pause()
        assert str(table.get_row(batches.first)[0]) == f"{batches.first} A"
        assert str(table.get_row(batches.rerun)[0]) == f"{batches.rerun} B"
        assert "A and B marked: c compares them" in rendered(app.screen.query_one("#history-title", Label))
        await pilot.press("c")
        await pilot.pause()
        assert type(app.screen).__name__ == "CompareScreen"
        await app.workers.wait_for_complete()
        await pilot.pause()
        title = rendered(app.screen.query_one("#compare-title", Label))
        assert title == f"{batches.first} → {batches.rerun}  regressed: ollama/slipping"
        rows = app.screen.query_one("#compare-table", DataTable)
        keys = [str(key.value) for key in rows.columns]
        shown = {}
        for i in range(rows.row_count):
            row = dict(zip(keys, (str(getattr(c, "plain", c)) for c in rows.get_row_at(i)), strict=True))
            shown[row["model"]] = row
        assert set(shown) == {"ollama/coin", "ollama/slipping", "ollama/steady"}
        assert shown["ollama/slipping"]["verdict"] == "regressed" and shown["ollama/steady"]["verdict"] == "unchanged"
        assert shown["ollama/slipping"]["success"] == "100% → 0%" and shown["ollama/slipping"]["p"] == "<0.001"
        detail = rendered(app.screen.query_one("#compare-detail", Static))
        assert "ollama/slipping regressed: success rate 100% → 0%" in detail
        assert f"compare_{batches.first}_vs_{batches.rerun}.html" in detail.replace("\n", "")
        assert (batches.out / batches.rerun / f"compare_{batches.first}_vs_{batches.rerun}.json").is_file()
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "HistoryScreen"
