"""A run's cost: prompt tokens the vendor read from or wrote to its prompt cache priced at their own rates,
over real loopback servers in each dialect's wire format, in benchtui's loop and through the gateway alike;
a rate the counts need and the pricing lacks makes the cost unknown (null, and the batch says why), never
the full input rate guessed in its place; and a model's total is never a partial sum."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from benchtui.engine import metrics
from benchtui.engine.config import load_config
from benchtui.engine.contestants.edit_loop import run_task
from benchtui.engine.errors import ConfigError
from benchtui.engine.events import LogMessage, RecordingSink
from benchtui.engine.models import ModelSpec, Pricing
from benchtui.engine.providers import RetryPolicy, make_provider
from benchtui.engine.results import RunResult
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_task, load_tasks
from tests.support.scripted import Script, ScriptedAnthropic, ScriptedOpenAI, ScriptedServer, fixed, tiny_task
from tests.support.scripted_agent import AgentScript, ScriptedAgentServer
from tests.test_gateway import BODIES, edit_then_done, gateway_for, send, spec_for

FAST = RetryPolicy(max_retries=1, base_delay_s=0.01, max_delay_s=0.02)
# Made-up rates (never a vendor's): the tests check arithmetic, not prices.
OPENAI_RATES = Pricing(input_per_mtok=2.0, output_per_mtok=8.0, cached_input_per_mtok=0.5)
ANTHROPIC_RATES = Pricing(
    input_per_mtok=3.0, output_per_mtok=15.0, cached_input_per_mtok=0.3, cache_write_per_mtok=3.75
)


def spec(provider: str, url: str, pricing: Pricing | None) -> ModelSpec:
    return ModelSpec(
        key="m",
        name="m",
        provider=provider,
        display_name="m",
        base_url=url + ("/v1" if provider in ("openai", "embedded") else ""),
        pricing=pricing,
    )


def run(server_class: type[ScriptedServer], script: Script, model: ModelSpec, tmp_path: Path) -> RunResult:
    """One run of benchtui's loop: the scripted model answers nonsense, so the run sends its two prompts."""
    task = load_task(tiny_task(tmp_path / "task"))
    with server_class({"m": script}) as server:
        priced = replace(model, base_url=(model.base_url or "").replace("URL", server.url))
        provider = make_provider(priced, policy=FAST)
        result, _ = run_task(task, priced, provider, timeout_s=60)
        provider.close()
    assert result["prompts_sent"] == 2, result["error_message"]
    return result


def _expected(prompt: int, completion: int, read: int, written: int, rates: Pricing) -> float:
    uncached = prompt - read - written
    return round(
        (
            uncached * rates.input_per_mtok
            + read * (rates.cached_input_per_mtok or 0.0)
            + written * (rates.cache_write_per_mtok or 0.0)
            + completion * rates.output_per_mtok
        )
        / 1e6,
        9,
    )


# --- the formula -----------------------------------------------------------------------------------------


def test_each_kind_of_prompt_token_has_its_own_rate() -> None:
    # 1,000,000 tokens of each kind: the cost is the sum of the four rates.
    million = 1_000_000
    assert ANTHROPIC_RATES.cost(3 * million, million, million, million) == 3.0 + 15.0 + 0.3 + 3.75
    # Nothing cached said (None) or none cached (0): every prompt token at the input rate, as before.
    assert OPENAI_RATES.cost(million, million) == OPENAI_RATES.cost(million, million, 0, 0) == 10.0
    assert Pricing(2.0, 8.0).cost(million, million, None, None) == 10.0


def test_a_rate_the_counts_need_and_the_pricing_lacks_makes_the_cost_unknown() -> None:
    plain = Pricing(2.0, 8.0)
    assert plain.cost(1000, 10, cached_tokens=400) is None
    assert plain.missing_rate(400, None) == (
        "it read 400 cached prompt tokens and its pricing has no cached_input_per_mtok"
    )
    assert OPENAI_RATES.cost(1000, 10, cached_tokens=400, cache_write_tokens=100) is None
    assert OPENAI_RATES.missing_rate(400, 100) == (
        "it wrote 100 prompt tokens to the cache and its pricing has no cache_write_per_mtok"
    )
    assert OPENAI_RATES.missing_rate(400, 0) is None and plain.missing_rate(0, None) is None
    # Counts that contradict each other (more cached than read) are no figure either.
    assert OPENAI_RATES.cost(100, 10, cached_tokens=400) is None


def test_local_models_stay_free_unless_priced_whatever_their_cache() -> None:
    local = ModelSpec(key="l", name="l", provider="embedded", display_name="l")
    assert local.cost(1000, 10, 900, None) == 0.0 and local.cost_unknown(900, None) is None
    cloud = ModelSpec(key="c", name="c", provider="openai", display_name="c")
    assert cloud.cost(1000, 10, 900, None) is None and cloud.cost_unknown(900, None) is None  # unpriced


def test_summing_the_requests_costs_or_pricing_the_totals_agree() -> None:
    requests = [(1200, 80, 1000, 150), (1500, 40, 1150, 300), (900, 200, 0, 0), (700, 30, 600, 50)]
    one_by_one = sum(ANTHROPIC_RATES.cost(*r) or 0.0 for r in requests)
    totals = [sum(column) for column in zip(*requests, strict=True)]
    assert ANTHROPIC_RATES.cost(*totals) == pytest.approx(one_by_one, abs=1e-12)


# --- benchtui's loop over real servers ---------------------------------------------------------------------


def test_an_openai_run_pays_the_cached_rate_for_its_cached_tokens(tmp_path: Path) -> None:
    result = run(
        ScriptedOpenAI, Script(fixed("No idea."), cached_tokens=30), spec("openai", "URL", OPENAI_RATES), tmp_path
    )
    assert result["cached_prompt_tokens"] == 60 and result["cache_write_tokens"] is None  # OpenAI has no such count
    prompt, completion = result["prompt_tokens"], result["completion_tokens"]
    assert prompt is not None and completion is not None and prompt > 60
    assert result["cost_usd"] == _expected(prompt, completion, 60, 0, OPENAI_RATES)
    # Not every prompt token at the input rate: 60 cached tokens at 0.5 instead of 2.0 per million.
    assert result["cost_usd"] == round((prompt * 2.0 + completion * 8.0 - 60 * 1.5) / 1e6, 9)


def test_an_openai_run_whose_pricing_has_no_cached_rate_has_no_cost_and_the_batch_says_why(tmp_path: Path) -> None:
    unpriced_cache = replace(spec("openai", "URL", Pricing(2.0, 8.0)), key="gpt")
    result = run(ScriptedOpenAI, Script(fixed("No idea."), cached_tokens=30), unpriced_cache, tmp_path)
    assert result["cached_prompt_tokens"] == 60 and result["cost_usd"] is None

    # A batch of two runs says it once, naming the model and the rate to set.
    task_md = tiny_task(tmp_path / "batch-task")
    with ScriptedOpenAI({"gpt": Script(fixed("No idea."), cached_tokens=30)}) as server:
        sink = RecordingSink()
        outcome = BatchRunner(
            store=ResultsStore(tmp_path / "out"),
            tasks=load_tasks([task_md]),
            models=[replace(unpriced_cache, name="gpt", base_url=f"{server.url}/v1")],
            sink=sink,
            options=BatchOptions(repeats=2),
        ).run()
    said = [e.text for e in sink.events if isinstance(e, LogMessage) and "cost of" in e.text]
    assert said == [
        "cost of gpt not known: it read 60 cached prompt tokens and its pricing has no cached_input_per_mtok "
        "(set it from the vendor's price page in models_config.yaml)"
    ]
    assert [r["cost_usd"] for r in outcome.results] == [None, None]
    assert metrics.aggregate(outcome.results)["cost_usd"] is None


def test_an_openai_run_without_cached_tokens_keeps_the_plain_formula(tmp_path: Path) -> None:
    result = run(ScriptedOpenAI, Script(fixed("No idea.")), spec("openai", "URL", Pricing(2.0, 8.0)), tmp_path)
    assert result["cached_prompt_tokens"] is None
    prompt, completion = result["prompt_tokens"], result["completion_tokens"]
    assert prompt is not None and completion is not None
    assert result["cost_usd"] == round((prompt * 2.0 + completion * 8.0) / 1e6, 9)


def test_an_anthropic_run_pays_its_cache_reads_and_writes_at_their_rates(tmp_path: Path) -> None:
    script = Script(fixed("No idea."), cached_tokens=30, cache_write_tokens=5)
    result = run(ScriptedAnthropic, script, spec("anthropic", "URL", ANTHROPIC_RATES), tmp_path)
    assert result["cached_prompt_tokens"] == 60 and result["cache_write_tokens"] == 10
    prompt, completion = result["prompt_tokens"], result["completion_tokens"]
    assert prompt is not None and completion is not None
    assert result["cost_usd"] == _expected(prompt, completion, 60, 10, ANTHROPIC_RATES)
    # Reads at a tenth of the input rate, writes at 1.25 times it: both ways off the all-input figure.
    assert result["cost_usd"] == round((prompt * 3.0 + completion * 15.0 - 60 * 2.7 + 10 * 0.75) / 1e6, 9)


def test_an_anthropic_run_that_wrote_the_cache_without_a_write_rate_has_no_cost(tmp_path: Path) -> None:
    script = Script(fixed("No idea."), cached_tokens=30, cache_write_tokens=5)
    reads_only = Pricing(3.0, 15.0, cached_input_per_mtok=0.3)
    result = run(ScriptedAnthropic, script, spec("anthropic", "URL", reads_only), tmp_path)
    assert result["cache_write_tokens"] == 10 and result["cost_usd"] is None


def test_a_local_model_that_read_its_cache_is_still_free(tmp_path: Path) -> None:
    result = run(ScriptedOpenAI, Script(fixed("No idea."), cached_tokens=30), spec("embedded", "URL", None), tmp_path)
    assert result["cached_prompt_tokens"] == 60 and result["cost_usd"] == 0.0


# --- through the gateway (assistant runs) -----------------------------------------------------------------


def test_the_gateway_prices_an_anthropic_upstreams_cache_as_the_loop_does() -> None:
    script = replace(edit_then_done(), cached_tokens=12, cache_write_tokens=5)
    with ScriptedAgentServer({"m": script}) as server:
        priced = spec_for("anthropic", server.url, pricing=ANTHROPIC_RATES)
        with gateway_for(priced) as gateway:
            for client, conversation in (("openai-chat", 1), ("openai-responses", 2), ("anthropic", 2)):
                assert send(gateway, client, BODIES[client](conversation, True)).error is None
            usage = gateway.usage()
    assert usage.completed == 3 and usage.cached_prompt_tokens == 36 and usage.cache_write_tokens == 15
    prompt = sum(r["prompt_tokens"] for r in server.reported)  # every token read, as the loop counts them
    completion = sum(r["completion_tokens"] for r in server.reported)
    assert usage.prompt_tokens == prompt and usage.completion_tokens == completion
    # The loop's formula on the run's totals...
    assert usage.cost_usd == _expected(prompt, completion, 36, 15, ANTHROPIC_RATES)
    # ...is the sum of each request's cost.
    each = [
        priced.cost(c.prompt_tokens, c.completion_tokens, c.cached_tokens, c.cache_write_tokens) for c in usage.calls
    ]
    assert usage.cost_usd == pytest.approx(sum(c or 0.0 for c in each), abs=1e-12) and None not in each


@pytest.mark.parametrize("upstream", ["openai", "embedded"])
def test_a_chat_upstream_reports_no_cache_writes(upstream: str) -> None:
    script = replace(edit_then_done(), cached_tokens=12, cache_write_tokens=5)  # the chat dialects cannot say it
    with ScriptedAgentServer({"m": script}) as server, gateway_for(spec_for(upstream, server.url)) as gateway:
        send(gateway, "openai-chat", BODIES["openai-chat"](1, True))
        usage = gateway.usage()
    assert usage.cached_prompt_tokens == 12 and usage.cache_write_tokens is None


def test_the_gateway_has_no_cost_for_cached_tokens_its_pricing_cannot_price() -> None:
    script = replace(edit_then_done(), cached_tokens=12)
    with (
        ScriptedAgentServer({"m": script}) as server,
        gateway_for(spec_for("openai", server.url, pricing=Pricing(2.0, 8.0))) as gateway,
    ):
        send(gateway, "openai-chat", BODIES["openai-chat"](1, True))
        usage = gateway.usage()
    assert usage.cached_prompt_tokens == 12 and usage.prompt_tokens and usage.cost_usd is None


def test_an_upstream_without_a_cache_figure_keeps_the_plain_formula_through_the_gateway() -> None:
    with (
        ScriptedAgentServer({"m": AgentScript(edit_then_done().turn)}) as server,
        gateway_for(spec_for("anthropic", server.url, pricing=Pricing(2.0, 8.0))) as gateway,
    ):
        send(gateway, "anthropic", BODIES["anthropic"](1, True))
        usage = gateway.usage()
    prompt = sum(r["prompt_tokens"] for r in server.reported)
    completion = sum(r["completion_tokens"] for r in server.reported)
    assert usage.cache_write_tokens is None and usage.cost_usd == round((prompt * 2.0 + completion * 8.0) / 1e6, 9)


# --- the config -------------------------------------------------------------------------------------------


def _config(tmp_path: Path, pricing: str) -> Path:
    path = tmp_path / "models_config.yaml"
    path.write_text(f"models:\n  - name: a\n    provider: openai\n    pricing:\n{pricing}")
    return path


def test_the_cache_rates_are_read_from_the_config_and_recorded(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "      input_per_mtok: 3\n      output_per_mtok: 15\n"
        "      cached_input_per_mtok: 0.3\n      cache_write_per_mtok: 3.75\n",
    )
    model = load_config(path).models[0]
    assert model.pricing == ANTHROPIC_RATES
    assert model.snapshot()["pricing"] == {
        "input_per_mtok": 3.0,
        "output_per_mtok": 15.0,
        "cached_input_per_mtok": 0.3,
        "cache_write_per_mtok": 3.75,
    }
    plain = _config(tmp_path, "      input_per_mtok: 3\n      output_per_mtok: 15\n")
    # Without them: unset, and the snapshot reads as before they existed.
    assert load_config(plain).models[0].snapshot()["pricing"] == {"input_per_mtok": 3.0, "output_per_mtok": 15.0}


@pytest.mark.parametrize(
    ("pricing", "line", "fragment"),
    [
        ("      input_per_mtok: 3\n      output_per_mtok: 15\n      cached_input_per_mtok: cheap\n", 7, "cheap"),
        ("      input_per_mtok: 3\n      output_per_mtok: 15\n      cache_write_per_mtok: -1\n", 7, ">= 0"),
        ("      input_per_mtok: 3\n      output_per_mtok: 15\n      cached_input_per_mtok: true\n", 7, "True"),
        ("      input_per_mtok: 3\n      output_per_mtok: 15\n      cached_per_mtok: 0.3\n", 7, "'cached_per_mtok'"),
        ("      input_per_mtok: 3\n      cached_input_per_mtok: 0.3\n", 4, "output_per_mtok"),
        ("      input_per_mtok: 3\n      output_per_mtok: x\n", 6, "output_per_mtok"),
    ],
)
def test_a_wrong_rate_is_named_with_file_and_line(tmp_path: Path, pricing: str, line: int, fragment: str) -> None:
    path = _config(tmp_path, pricing)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:{line}:") and "'pricing'" in str(caught.value)
    assert fragment in str(caught.value)


# --- the totals -------------------------------------------------------------------------------------------


def _result(cost: float | None, prompts: int = 1) -> RunResult:
    return {"task_id": "t", "model": "m", "status": "passed", "cost_usd": cost, "prompts_sent": prompts}


def test_a_models_total_is_unknown_while_one_of_its_runs_cost_is() -> None:
    known = metrics.aggregate([_result(0.25), _result(0.5)])
    assert known["cost_usd"] == 0.75 and known["cost_unknown_runs"] == 0
    partial = metrics.aggregate([_result(0.25), _result(0.5), _result(None)])
    assert partial["cost_usd"] is None and partial["cost_unknown_runs"] == 1  # not $0.75 shown as the total
    # A run that never asked the model cost nothing, whatever its result says.
    assert metrics.aggregate([_result(0.25), _result(None, prompts=0)])["cost_usd"] == 0.25
    assert metrics.cost_text(partial["cost_usd"]) == "—"


def test_a_result_file_records_the_rates_its_cost_used() -> None:
    model = ModelSpec(key="k", name="k", provider="openai", display_name="k", pricing=OPENAI_RATES)
    assert model.snapshot()["pricing"] == {"input_per_mtok": 2.0, "output_per_mtok": 8.0, "cached_input_per_mtok": 0.5}
