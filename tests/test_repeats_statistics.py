"""Numbers you can trust (issue 15), end to end: scripted models of known success rates, 20 repeats each,
through a real headless batch, and what the reports then say.

Four contestants on three wire dialects: ``always`` (Ollama) solves the task every time, ``never``
(Anthropic) never does, ``half`` and ``most`` (OpenAI) solve it when a draw seeded with the request's own
``seed`` falls under 50 % and 90 %: a model whose sampling follows its seed, as a real one at temperature
above 0 does. So the test also proves that each repeat sends its own seed (the same seed would give the
same verdict twenty times) and that every repeat reaches the server (no reply is cached).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
from collections.abc import Iterator
from typing import Any

import pytest

from benchtui.cli import main
from tests.conftest import write_config
from tests.support.scripted import (
    Script,
    ScriptedAnthropic,
    ScriptedOllama,
    ScriptedOpenAI,
    fixed,
    solution_reply,
    tiny_task,
)

REPEATS = 20
TRUE_RATES = {"ollama/always": 1.0, "never": 0.0, "half": 0.5, "most": 0.9}
GIVE_UP = "I do not know how to do this."


def seeded(rate: float, name: str, solve: str) -> Script:
    """A model that solves the task when a draw seeded with the request's seed falls under ``rate``."""

    def reply(body: dict[str, Any]) -> str:
        seed = body["seed"]  # the OpenAI dialect's field; a request without one fails the test here
        return solve if random.Random(f"{name}:1:{seed}").random() < rate else GIVE_UP

    return Script(fixed(GIVE_UP), reply_to_request=reply)


def expected_passes(rate: float, name: str) -> int:
    return sum(random.Random(f"{name}:1:{seed}").random() < rate for seed in range(1, REPEATS + 1))


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One batch of 80 runs for every test of this module (it takes a while: run it once)."""
    tmp_path = tmp_path_factory.mktemp("repeats")
    task = tiny_task(tmp_path / "task")
    solve = solution_reply(task)([])
    ollama = ScriptedOllama({"always": Script(fixed(solve))})
    openai = ScriptedOpenAI({"half": seeded(0.5, "half", solve), "most": seeded(0.9, "most", solve)})
    anthropic = ScriptedAnthropic({"never": Script(fixed(GIVE_UP))})
    printed = io.StringIO()
    with ollama, openai, anthropic, pytest.MonkeyPatch.context() as monkeypatch:
        # What conftest's isolated_environment does for each test, for this module's one batch.
        monkeypatch.setenv("BENCHTUI_DATA_DIR", str(tmp_path / "data"))
        for name in list(os.environ):
            if name.endswith("_API_KEY"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        monkeypatch.setenv("REPEATS_KEY", "sk-repeats-0123456789")
        # ``always`` and ``never`` keep the default temperature 0: the batch must say so.
        config = write_config(
            tmp_path / "models_config.yaml",
            f"""
embedded: {{enabled: false}}
models:
  - name: half
    provider: openai
    base_url: {openai.url}/v1
    api_key: ${{REPEATS_KEY}}
    settings: {{temperature: 0.7}}
  - name: most
    provider: openai
    base_url: {openai.url}/v1
    api_key: ${{REPEATS_KEY}}
    settings: {{temperature: 0.7}}
  - name: never
    provider: anthropic
    base_url: {anthropic.url}
    api_key: ${{REPEATS_KEY}}
""",
        )
        out = tmp_path / "out"
        with contextlib.redirect_stdout(printed):
            code = main(
                [
                    "--task",
                    str(task),
                    "--models",
                    "always,half,most,never",
                    "--repeats",
                    str(REPEATS),
                    "--parallel",
                    "--config",
                    str(config),
                    "--output",
                    str(out),
                    "--no-ui",
                ]
            )
        (folder,) = out.iterdir()
        yield {
            "code": code,
            "printed": printed.getvalue(),
            "folder": folder,
            "report": json.loads((folder / "comparison_report.json").read_text()),
            "ollama": ollama,
            "openai": openai,
            "anthropic": anthropic,
        }


def test_twenty_repeats_of_known_rates(batch: dict[str, Any]) -> None:
    printed = batch["printed"]
    assert batch["code"] == 0, printed
    report = batch["report"]
    aggregates = report["aggregates"]
    half_passes, most_passes = expected_passes(0.5, "half"), expected_passes(0.9, "most")
    # The seeded draws are what the test is about: a flaky 50 % and a 90 % that failed a few times.
    assert 0 < half_passes < REPEATS and REPEATS - 5 <= most_passes < REPEATS
    assert {key: agg["passed"] for key, agg in aggregates.items()} == {
        "ollama/always": REPEATS,
        "half": half_passes,
        "most": most_passes,
        "never": 0,
    }

    # Every interval covers its model's true rate.
    for key, rate in TRUE_RATES.items():
        ci = aggregates[key]["success_ci"]
        assert ci["low"] <= rate <= ci["high"], (key, ci)
    # pass@k and pass^k for every k up to the 20 runs of the task (keys are text: JSON has no other).
    for key in TRUE_RATES:
        assert sorted(aggregates[key]["pass_at_k"], key=int) == [str(k) for k in range(1, REPEATS + 1)]
        assert sorted(aggregates[key]["pass_hat_k"], key=int) == [str(k) for k in range(1, REPEATS + 1)]
    assert aggregates["half"]["pass_at_k"]["1"] == half_passes / REPEATS
    assert aggregates["half"]["pass_at_k"]["20"] == 1.0 and aggregates["half"]["pass_hat_k"]["20"] == 0.0
    assert aggregates["ollama/always"]["pass_hat_k"]["20"] == 1.0 and aggregates["never"]["pass_at_k"]["20"] == 0.0

    # Ties: always and never are told apart; always and the 90 % model are not.
    board = {row["model"]: row for row in report["rankings"]["leaderboard"]}
    assert "never" not in board["ollama/always"]["tied_with"]
    assert "most" in board["ollama/always"]["tied_with"]
    assert board["ollama/always"]["rank"] == 1
    pair = next(p for p in report["paired"] if {p["a"], p["b"]} == {"most", "ollama/always"})
    assert not pair["significant"] and pair["shared"] == REPEATS
    assert pair["repeats_to_separate"] is not None and pair["repeats_to_separate"] > REPEATS

    # The 50 % model's flaky task is listed, and marked in the matrix; the steady ones have none.
    assert aggregates["half"]["flaky_tasks"] == ["tiny"]
    assert aggregates["ollama/always"]["flaky_tasks"] == [] and aggregates["never"]["flaky_tasks"] == []
    assert report["task_matrix"]["tiny"]["half"]["flaky"] is True

    # The headless summary says it all too.
    assert f"Planned: {REPEATS} repeats × 1 task" in printed
    assert "Temperature 0 (never, ollama/always): the repeats measure determinism, not skill" in printed
    assert "Flaky tasks (verdict differs across repeats): half: tiny" in printed
    assert "First place is a tie: ollama/always, most" in printed
    assert "More repeats could separate:" in printed and "most vs ollama/always" in printed
    assert report["batch"]["determinism"].startswith("temperature 0 (never, ollama/always)")


def test_each_repeat_sends_its_own_seed_and_reaches_the_server(batch: dict[str, Any]) -> None:
    assert batch["code"] == 0
    openai, ollama, anthropic = batch["openai"], batch["ollama"], batch["anthropic"]
    # OpenAI: seeds 1..20, one per repeat (a failed run sends its seed again on its second turn).
    assert {body["seed"] for body in openai.bodies["half"]} == set(range(1, REPEATS + 1))
    assert {body["options"]["seed"] for body in ollama.bodies["always"]} == set(range(1, REPEATS + 1))
    assert all("seed" not in body for body in anthropic.bodies["never"])
    # No reply is cached: every run's every turn reached its server (a passed run takes one request,
    # a failed one both of the task's two turns).
    half_passes = expected_passes(0.5, "half")
    assert openai.attempts["half"] == half_passes + 2 * (REPEATS - half_passes)
    assert ollama.attempts["always"] == REPEATS and anthropic.attempts["never"] == 2 * REPEATS

    runs = {(r["model"], r["repeat"]): r for r in batch["report"]["runs"]}
    for repeat in range(1, REPEATS + 1):
        assert runs[("half", repeat)]["seed"] == repeat
        assert runs[("ollama/always", repeat)]["seed"] == repeat
        assert runs[("never", repeat)]["seed"] is None
    # The seed enters the fingerprint where there is one: a seeded model's repeats differ, an unseeded one's do not.
    assert len({runs[("half", r)]["fingerprint"] for r in range(1, REPEATS + 1)}) == REPEATS
    assert len({runs[("never", r)]["fingerprint"] for r in range(1, REPEATS + 1)}) == 1

    rows = list(csv.DictReader(io.StringIO((batch["folder"] / "comparison_report.csv").read_text())))
    assert {row["seed"] for row in rows if row["model"] == "half"} == {str(s) for s in range(1, REPEATS + 1)}
    assert {row["seed"] for row in rows if row["model"] == "never"} == {""}
    # comparison_summary.csv: one row per model (and per task × model) with the same figures.
    summary = {
        (row["model"], row["task_id"]): row
        for row in csv.DictReader(io.StringIO((batch["folder"] / "comparison_summary.csv").read_text()))
    }
    assert summary[("half", "")]["flaky"] == "tiny" and summary[("half", "tiny")]["flaky"] == "true"
    assert "most" in summary[("ollama/always", "")]["tied_with"].split()
    assert summary[("never", "")]["pass_at_20"] == "0.0" and summary[("ollama/always", "")]["pass_hat_20"] == "1.0"


def test_the_html_report_shows_intervals_ties_and_flaky_tasks(batch: dict[str, Any]) -> None:
    assert batch["code"] == 0
    page = (batch["folder"] / "comparison_report.html").read_text()
    # Error bars on the success-rate and median-time charts: one whisker (three lines) per model.
    success = page[page.index('id="chart-success"') : page.index("</svg>", page.index('id="chart-success"'))]
    assert success.count('class="err"') == 3 * len(TRUE_RATES)  # never's too: 0 % to 16 %
    assert page.count('<small class="ci">') == len(TRUE_RATES)
    # most, second in the leaderboard, can be told apart from neither always nor half: it shares first place
    # with always (=1), and half is 2nd (only always is shown better than it).
    places = {e["model"]: e["place"] for e in batch["report"]["rankings"]["leaderboard"]}
    assert places == {"ollama/always": 1, "most": 1, "half": 2, "never": 4}
    assert '<td class="tied">#1, #2</td>' in page
    # Whether the fastest is a clear first depends on the machine's timing of the runs: the page says a tie
    # exactly when the engine judged one (the judgment itself: test_rankings, on fixed figures).
    podium = page[page.index('id="podium-fastest"') : page.index('id="podium-most_efficient"')]
    fastest = batch["report"]["rankings"]["fastest"]
    assert ("1st place is a tie: " in podium) == bool(fastest and fastest[0].get("tied_with"))
    # The header: what 20 runs per model can tell, and that two models' repeats measure determinism.
    assert "success rate to within ±20 points per model (1 × 20 runs, 95 %, at worst)" in page
    assert "⚠ Temperature 0 (never, ollama/always): the repeats measure determinism, not skill" in page
    repeats = page[page.index('<section id="repeats">') :]
    assert "pass^20" in repeats and "pass@20" in repeats
    # The flaky-tasks column: half's and most's task; the steady models have none.
    assert repeats.count("<td>tiny</td></tr>") == 2
    assert repeats.count('<td class="verdict-told-apart">told apart</td>') >= 3
