"""mini-swe-agent, the real program (from PyPI, installed by benchtui assistants install), driven through
the run's gateway by a scripted model that calls its one ``bash`` tool: a full loop (read, edit, submit),
and a continuation after a failed check (it keeps no session: it is started again with the task, the
check's result and the next hint, in the workspace as it left it)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchtui.engine.contestants.assistant import AssistantContestant
from benchtui.engine.providers import make_provider
from benchtui.engine.tasks import load_tasks
from tests.support.assistants import paired, real_assistant, scripted_spec
from tests.support.scripted import tiny_task
from tests.support.scripted_agent import AgentScript, ScriptedAgentServer, call, turns

pytestmark = [pytest.mark.slow, pytest.mark.real_assistants]
SUBMIT_COMMAND = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
SUBMIT = call("bash", command=SUBMIT_COMMAND)


def written_call(command: str) -> str:
    """A ``bash`` call written into the reply's text as a fenced JSON object, as small local models do."""
    return "```json\n" + json.dumps({"name": "bash", "arguments": {"command": command}}) + "\n```"


@pytest.fixture(scope="module")
def mini() -> Path:
    return real_assistant("mini-swe-agent")


def test_mini_swe_agent_reads_edits_and_submits_through_the_gateway(mini: Path, tmp_path: Path) -> None:
    script = AgentScript(
        turns(call("bash", command="cat answer.txt"), call("bash", command="sed -i s/todo/done/ answer.txt"), SUBMIT)
    )
    with ScriptedAgentServer({"agent": script}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        spec = paired(scripted_spec(server.url), "mini-swe-agent")
        result, transcript = AssistantContestant().run(task, spec, make_provider(spec), timeout_s=240)
        requests = server.recorded("agent")
    assert result["status"] == "passed", result["error_message"]
    assert result["model"] == "mini-swe-agent · agent" and result["assistant_version"] == "2.4.6"
    assert result["diff"] == "--- a/answer.txt\n+++ b/answer.txt\n@@ -1 +1 @@\n-todo\n+done\n"
    assert result["model_requests"] == len(requests) == 3 and result["turns"] == 1
    # benchtui parsed none of its replies (mini did), kept no history for it, watched no stream for repeats.
    assert result["malformed_replies"] is result["history_dropped"] is result["runaway_replies"] is None
    rate = result["tokens_per_s"]
    assert rate is None or rate == round(rate, 3)  # rounded as benchtui's loop rounds it
    # It read the file: the tool result of `cat` went back to the model.
    assert "todo" in str(requests[1].body["messages"][-1])
    assert [t["function"]["name"] for t in requests[0].body["tools"]] == ["bash"]
    assert all(r.body.get("max_tokens") == 512 for r in requests)  # the run's output cap
    ran = next(e for e in transcript if e["kind"] == "assistant")
    assert ran["ok"] is True and ran["message"] == "Submitted"


def test_mini_swe_agent_is_started_again_with_the_task_and_the_check_after_a_failure(
    mini: Path, tmp_path: Path
) -> None:
    script = AgentScript(
        turns(
            call("bash", command="sed -i s/todo/doing/ answer.txt"),
            SUBMIT,
            call("bash", command="sed -i s/doing/done/ answer.txt"),
            SUBMIT,
        )
    )
    with ScriptedAgentServer({"agent": script}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        spec = paired(scripted_spec(server.url), "mini-swe-agent")
        result, _ = AssistantContestant().run(task, spec, make_provider(spec), timeout_s=240)
        requests = server.recorded("agent")
    assert result["status"] == "passed", result["error_message"]
    assert result["turns"] == result["prompts_sent"] == 2
    restarted = str(requests[2].body["messages"])
    assert "Replace the word todo" in restarted and "The hidden check still fails" in restarted


def test_a_model_that_makes_mini_give_up_failed_the_task_it_did_not_break_the_run(mini: Path, tmp_path: Path) -> None:
    """A model that never calls the tool: mini ends with RepeatedFormatError (exit 0); the check decides
    (failed), as benchtui's loop does for a model that answers nonsense, and the run uses its turns."""
    from tests.support.scripted_agent import text

    with ScriptedAgentServer({"agent": AgentScript(turns(text("I have no idea.")))}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        spec = paired(scripted_spec(server.url), "mini-swe-agent", step_limit=3)
        result, transcript = AssistantContestant().run(task, spec, make_provider(spec), timeout_s=240)
    assert result["status"] == "failed" and result["error"] is None
    assert result["turns"] == result["prompts_sent"] == 2
    ran = [e for e in transcript if e["kind"] == "assistant"]
    assert ran[0]["ok"] is False and "exit_status" in ran[0]["message"]


def test_the_runs_prompt_cache_and_repaired_calls_are_the_gateways_counts(mini: Path, tmp_path: Path) -> None:
    """The run's ``cached_prompt_tokens`` is the upstream's own count summed over the assistant's requests,
    as benchtui's loop sums it; with the model's repair on, the call it wrote as text counts as repaired."""
    from tests.support.scripted_agent import text

    script = AgentScript(
        turns(call("bash", command="sed -i s/todo/done/ answer.txt"), text(written_call(SUBMIT_COMMAND))),
        cached_tokens=25,
    )
    with ScriptedAgentServer({"agent": script}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        spec = paired(replace(scripted_spec(server.url), repair_tool_calls=True), "mini-swe-agent")
        result, _ = AssistantContestant().run(task, spec, make_provider(spec), timeout_s=240)
        requests = server.recorded("agent")
    assert result["status"] == "passed", result["error_message"]
    assert result["model_requests"] == len(requests) == 2
    assert result["cached_prompt_tokens"] == 50 and result["repaired_tool_calls"] == 1
    assert result["prompt_eval_s"] is None  # an OpenAI-style server does not time its prompt


def test_a_run_whose_upstream_says_nothing_of_a_cache_has_none_and_no_repair_count(mini: Path, tmp_path: Path) -> None:
    script = AgentScript(turns(call("bash", command="sed -i s/todo/done/ answer.txt"), SUBMIT))
    with ScriptedAgentServer({"agent": script}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        spec = paired(scripted_spec(server.url), "mini-swe-agent")
        result, _ = AssistantContestant().run(task, spec, make_provider(spec), timeout_s=240)
    assert result["status"] == "passed", result["error_message"]
    # Never 0 for what nobody measured: no cache figure came, and with the repair off nothing was looked for.
    assert result["cached_prompt_tokens"] is None and result["prompt_eval_s"] is None
    assert result["repaired_tool_calls"] is None and result["prompt_tokens"] is not None


def test_a_batch_marks_the_contestant_whose_model_needed_its_calls_repaired_and_no_other(
    mini: Path, tmp_path: Path
) -> None:
    """Two models under mini-swe-agent, the repair on for both: one writes its calls as text (repaired), one
    makes them (never needed). The report and the headless summary mark the first, with its count, only."""
    from rich.console import Console

    from benchtui.cli.summary import summary
    from benchtui.engine.assistants import pairs
    from benchtui.engine.reports.data import build_report_data
    from benchtui.engine.runner import BatchOptions, BatchRunner
    from benchtui.engine.store import ResultsStore
    from tests.support.scripted_agent import text

    scripts = {
        "needs": AgentScript(
            turns(text(written_call("sed -i s/todo/done/ answer.txt")), text(written_call(SUBMIT_COMMAND)))
        ),
        "fine": AgentScript(turns(call("bash", command="sed -i s/todo/done/ answer.txt"), SUBMIT)),
    }
    with ScriptedAgentServer(scripts) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        models = [replace(scripted_spec(server.url, name), repair_tool_calls=True) for name in scripts]
        contestants = pairs.cross(models, ["mini-swe-agent"])
        runner = BatchRunner(
            store=ResultsStore(tmp_path / "results"),
            tasks=[task],
            models=contestants,
            options=BatchOptions(timeout_s=240),
        )
        outcome = runner.run()
    by_model = {r["model"]: r for r in outcome.results}
    assert {m: (r["status"], r["repaired_tool_calls"]) for m, r in by_model.items()} == {
        "mini-swe-agent · needs": ("passed", 2),
        "mini-swe-agent · fine": ("passed", 0),
    }
    data = build_report_data(outcome.batch)
    html = (outcome.batch.path / "comparison_report.html").read_text(encoding="utf-8")
    board = html[html.index('id="leaderboard-table"') : html.index("</table>", html.index('id="leaderboard-table"'))]
    rows = {name: row for row in board.split("<tr")[1:] for name in by_model if f"<b>{name}" in row}
    assert "⚒ 2 repaired" in rows["mini-swe-agent · needs"] and "⚒" not in rows["mini-swe-agent · fine"]
    assert data["aggregates"]["mini-swe-agent · fine"]["repaired_tool_calls"] == 0
    console = Console(width=80, color_system=None, record=True)
    console.print(summary(outcome.results, width=80))
    shown = console.export_text()
    assert "⚒ mini-swe-agent" in shown and shown.count("⚒ mini-swe-agent") == 1


def test_an_assistant_run_on_an_anthropic_model_records_and_prices_its_cache_writes(mini: Path, tmp_path: Path) -> None:
    """Through the gateway's Anthropic upstream: the cache's reads and writes reach the run's figures and its
    cost, each at its own rate (models.Pricing), as in benchtui's own loop."""
    from benchtui.engine.models import Pricing

    rates = Pricing(3.0, 15.0, cached_input_per_mtok=0.3, cache_write_per_mtok=3.75)
    script = AgentScript(
        turns(call("bash", command="sed -i s/todo/done/ answer.txt"), SUBMIT), cached_tokens=20, cache_write_tokens=4
    )
    with ScriptedAgentServer({"agent": script}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        model = replace(scripted_spec(server.url), provider="anthropic", base_url=server.url, pricing=rates)
        spec = paired(model, "mini-swe-agent")
        result, _ = AssistantContestant().run(task, spec, make_provider(spec), timeout_s=240)
        reported = list(server.reported)
    assert result["status"] == "passed", result["error_message"]
    assert result["model_requests"] == len(reported) == 2
    assert result["cached_prompt_tokens"] == 40 and result["cache_write_tokens"] == 8
    prompt = sum(r["prompt_tokens"] for r in reported)
    completion = sum(r["completion_tokens"] for r in reported)
    assert result["prompt_tokens"] == prompt
    assert result["cost_usd"] == round(((prompt - 48) * 3.0 + 40 * 0.3 + 8 * 3.75 + completion * 15.0) / 1e6, 9)
