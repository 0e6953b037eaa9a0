"""Prompt-cache figures: the cached prompt tokens and prompt-processing time each dialect reports, summed per
run and shown as a hit ratio; and, on the real embedded model, that later turns of a run read their prefix
from llama.cpp's cache and that a looping reply is cut and really stops the server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from benchtui.engine import metrics
from benchtui.engine.contestants.edit_loop import run_task
from benchtui.engine.embedded import SMOLLM2, EmbeddedServers, known_models
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import RetryPolicy, make_provider
from benchtui.engine.providers.openai import cached_tokens
from benchtui.engine.results import RunResult
from benchtui.engine.tasks import load_task
from tests.support.scripted import (
    Script,
    ScriptedAnthropic,
    ScriptedOllama,
    ScriptedOpenAI,
    ScriptedServer,
    fixed,
    tiny_task,
)

FAST = RetryPolicy(max_retries=1, base_delay_s=0.01, max_delay_s=0.02)
SERVERS: dict[str, type[ScriptedServer]] = {
    "ollama": ScriptedOllama,
    "openai": ScriptedOpenAI,
    "anthropic": ScriptedAnthropic,
}
PROMPT = [{"role": "system", "content": "You edit code."}, {"role": "user", "content": "x" * 4000}]
WORDS = ("meeting", "release", "design", "budget", "travel", "hiring", "review", "support", "backup", "launch")


def spec(provider: str, url: str, name: str = "m", **settings: object) -> ModelSpec:
    return ModelSpec(
        key=name,
        name=name,
        provider=provider,
        display_name=name,
        base_url=url + ("/v1" if provider in ("openai", "embedded") else ""),
        settings=MappingProxyType(settings),
    )


# --- what each dialect reports -----------------------------------------------------------------------


def test_openai_reports_cached_tokens_in_its_usage() -> None:
    with ScriptedOpenAI({"m": Script(fixed("ok"), cached_tokens=700)}) as server:
        reply = make_provider(spec("openai", server.url), policy=FAST).chat(PROMPT)  # type: ignore[arg-type]
    assert reply.cached_prompt_tokens == 700 and reply.prompt_tokens is not None and reply.prompt_tokens > 700
    assert reply.prompt_eval_s is None  # OpenAI's API does not time the prompt


def test_llama_cpp_reports_cache_n_and_its_prompt_time() -> None:
    with ScriptedOpenAI({"m": Script(fixed("ok"), cached_tokens=640, prompt_ms=250.0, timings=True)}) as server:
        reply = make_provider(spec("openai", server.url), policy=FAST).chat(PROMPT)  # type: ignore[arg-type]
    assert reply.cached_prompt_tokens == 640 and reply.prompt_eval_s == pytest.approx(0.25)
    # A llama.cpp without prompt_tokens_details still says cache_n in its timings.
    assert cached_tokens({"prompt_tokens": 9}, {"cache_n": 5, "prompt_n": 4}) == 5
    assert cached_tokens({"prompt_tokens": 9}, {}) is None


def test_anthropic_reports_cache_reads_and_writes() -> None:
    script = Script(fixed("ok"), cached_tokens=900, cache_write_tokens=100)
    with ScriptedAnthropic({"m": script}) as server:
        reply = make_provider(spec("anthropic", server.url), policy=FAST).chat(PROMPT)  # type: ignore[arg-type]
        body = server.bodies["m"][0]
    assert reply.cached_prompt_tokens == 900 and reply.cache_write_tokens == 100
    assert reply.prompt_tokens == 1000 + (len("You edit code.") + 4000) // 4  # every token read, cached ones too
    # The request marks the conversation for caching: the last turn carries the breakpoint.
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}


def test_a_server_that_says_nothing_has_no_cache_figures() -> None:
    with ScriptedOpenAI({"m": Script(fixed("ok"))}) as server:
        openai = make_provider(spec("openai", server.url), policy=FAST).chat(PROMPT)  # type: ignore[arg-type]
    with ScriptedAnthropic({"m": Script(fixed("ok"))}) as server:
        anthropic = make_provider(spec("anthropic", server.url), policy=FAST).chat(PROMPT)  # type: ignore[arg-type]
    assert openai.cached_prompt_tokens is None and anthropic.cached_prompt_tokens is None


def test_ollama_reports_its_prompt_time_and_is_asked_to_keep_the_model_loaded() -> None:
    with ScriptedOllama({"m": Script(fixed("ok"))}) as server:
        reply = make_provider(spec("ollama", server.url), policy=FAST).chat(PROMPT)  # type: ignore[arg-type]
        body = server.bodies["m"][0]
    # Ollama reuses the prefix but never says how much: no count is better than a guessed one.
    assert reply.cached_prompt_tokens is None
    assert reply.prompt_eval_s == pytest.approx(0.001)  # prompt_eval_duration, 1 ms in the scripted server
    assert body["keep_alive"] == "15m"


def test_only_benchtuis_own_llama_cpp_gets_llama_cpp_fields() -> None:
    with ScriptedOpenAI({"m": Script(fixed("ok"))}) as server:
        make_provider(spec("openai", server.url), policy=FAST).chat(PROMPT)  # type: ignore[arg-type]
        make_provider(spec("embedded", server.url), policy=FAST).chat(PROMPT)  # type: ignore[arg-type]
        plain, embedded = server.bodies["m"]
    assert "cache_prompt" not in plain and "timings_per_token" not in plain  # OpenAI refuses unknown fields
    assert embedded["cache_prompt"] is True and embedded["timings_per_token"] is True


# --- per run -------------------------------------------------------------------------------------------


def _run(dialect: str, script: Script, tmp_path: Path) -> tuple[RunResult, list[dict[str, Any]]]:
    task = load_task(tiny_task(tmp_path / "task"))
    with SERVERS[dialect]({"m": script}) as server:
        model = spec(dialect, server.url)
        provider = make_provider(model, policy=FAST)
        result, transcript = run_task(task, model, provider, timeout_s=60)
        provider.close()
    return result, transcript


@pytest.mark.parametrize(("dialect", "cached"), [("openai", 60), ("anthropic", 60), ("ollama", None)])
def test_a_run_sums_its_cached_tokens_and_the_ratio_reads_them(
    dialect: str, cached: int | None, tmp_path: Path
) -> None:
    result, transcript = _run(dialect, Script(fixed("No idea."), cached_tokens=30, cache_write_tokens=5), tmp_path)
    assert result["prompts_sent"] == 2 and result["cached_prompt_tokens"] == cached
    # Each reply's own figures are in the transcript; only Anthropic reports cache writes.
    replies = [e for e in transcript if e["kind"] == "reply"]
    assert [e["cached_prompt_tokens"] for e in replies] == [None if cached is None else 30] * 2
    assert [e.get("cache_write_tokens") for e in replies] == [5 if dialect == "anthropic" else None] * 2
    ratio = metrics.aggregate([result])["cache_hit_ratio"]
    if cached is None:
        assert ratio is None  # not reported is not a 0 % hit rate
    else:
        assert result["prompt_tokens"] and ratio == round(cached / result["prompt_tokens"], 4)


def test_the_hit_ratio_counts_only_runs_that_reported_the_cache() -> None:
    runs: list[RunResult] = [
        {"task_id": "t", "model": "m", "status": "passed", "prompt_tokens": 1000, "cached_prompt_tokens": 750},
        {"task_id": "t", "model": "m", "status": "failed", "prompt_tokens": 1000, "cached_prompt_tokens": None},
        {"task_id": "u", "model": "m", "status": "failed", "prompt_tokens": 1000},  # stored before the key
    ]
    aggregate = metrics.aggregate(runs)
    assert aggregate["cache_hit_ratio"] == 0.75 and aggregate["cached_prompt_tokens"] == 750


# --- the real embedded model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2_url() -> Iterator[str]:
    model = next(m for m in known_models() if m.name == SMOLLM2)
    if model.unavailable_reason is not None:
        pytest.skip(f"{SMOLLM2} is not installed: {model.unavailable_reason}")
    # A server of this module's own: its cache holds nothing from other tests when the run starts.
    with EmbeddedServers(threads=1) as servers:
        yield servers.ensure_started(SMOLLM2)


def _three_turn_task(folder: Path) -> Path:
    """The tiny task with a check nothing passes, three turns, time for a loaded machine, and a long file the
    model has no reason to change: the first prompt is several times as long as each later turn's feedback."""
    task = tiny_task(folder)
    lines = (f"Line {n}: the {word} notes are kept here for reference only." for n, word in enumerate(WORDS * 3))
    (folder / "ws" / "notes.txt").write_text("\n".join(lines) + "\n")
    text = task.read_text().replace("max_turns: 2", "max_turns: 3").replace("timeout: 60", "timeout: 900")
    task.write_text(text.replace("check: grep -q done answer.txt", "check: grep -q never-written answer.txt"))
    return task


@pytest.mark.llm
def test_later_turns_of_a_real_run_read_the_prefix_from_llama_cpps_cache(smollm2_url: str, tmp_path: Path) -> None:
    task = load_task(_three_turn_task(tmp_path / "task"))
    model = ModelSpec(
        key=SMOLLM2,
        name=SMOLLM2,
        provider="embedded",
        display_name=SMOLLM2,
        settings=MappingProxyType({"temperature": 0.0, "max_tokens": 24, "seed": 42}),
        edit_format="whole",
    )
    provider = make_provider(model, base_url=f"{smollm2_url}/v1")
    result, transcript = run_task(task, model, provider, timeout_s=900)
    provider.close()
    replies = [e for e in transcript if e["kind"] == "reply"]
    assert result["status"] == "failed" and len(replies) == 3, result["error_message"]
    first, *later = replies
    for previous, turn in zip(replies, later, strict=False):
        # Everything the previous turn sent is now read from the slot's cache; only the new turn is processed.
        assert turn["cached_prompt_tokens"] >= 0.8 * previous["prompt_tokens"]
        assert (
            turn["prompt_tokens"] - turn["cached_prompt_tokens"]
            < first["prompt_tokens"] - first["cached_prompt_tokens"]
        )
        assert turn["prompt_eval_s"] < first["prompt_eval_s"]
    assert result["cached_prompt_tokens"] == sum(e["cached_prompt_tokens"] for e in replies)
    assert result["prompt_eval_s"] == pytest.approx(sum(e["prompt_eval_s"] for e in replies), abs=1e-3)


@pytest.mark.llm
def test_a_real_looping_reply_is_cut_and_the_server_stops_generating(smollm2_url: str) -> None:
    # At temperature 0 SmolLM2 answers this with "x = 1" line after line until its token limit (measured).
    model = ModelSpec(
        key=SMOLLM2,
        name=SMOLLM2,
        provider="embedded",
        display_name=SMOLLM2,
        settings=MappingProxyType({"temperature": 0.0, "max_tokens": 1000, "seed": 42}),
    )
    provider = make_provider(model, base_url=f"{smollm2_url}/v1")
    reply = provider.chat([{"role": "user", "content": "Print the line `x = 1` again and again."}])
    provider.close()
    with httpx.Client(timeout=10, trust_env=False) as client:
        # Closing the stream stops llama.cpp at once: its one slot is idle, not decoding the other 800 tokens.
        slots: list[dict[str, Any]] = client.get(f"{smollm2_url}/slots").json()
        deadline = time.monotonic() + 2
        while slots[0]["is_processing"] and time.monotonic() < deadline:
            time.sleep(0.05)
            slots = client.get(f"{smollm2_url}/slots").json()
    assert reply.runaway is not None and reply.finish_reason == "runaway"
    assert not slots[0]["is_processing"]
    # The server's per-token timings still count what it generated before the cut.
    assert reply.completion_tokens is not None and reply.completion_tokens < 500


@pytest.mark.llm
def test_llama_cpps_anthropic_endpoint_takes_the_cache_breakpoint_and_reports_cache_reads(smollm2_url: str) -> None:
    model = ModelSpec(
        key=SMOLLM2,
        name=SMOLLM2,
        provider="anthropic",
        display_name=SMOLLM2,
        base_url=smollm2_url,
        settings=MappingProxyType({"temperature": 0.0, "max_tokens": 8}),
    )
    provider = make_provider(model)
    conversation = [
        {"role": "system", "content": "You are a terse assistant. " + " ".join(WORDS * 4)},
        {"role": "user", "content": "Name one colour."},
    ]
    first = provider.chat(conversation)  # type: ignore[arg-type]
    conversation += [{"role": "assistant", "content": first.text}, {"role": "user", "content": "Another one."}]
    second = provider.chat(conversation)  # type: ignore[arg-type]
    provider.close()
    # llama.cpp counts input_tokens without the cached ones, as Anthropic does; prompt_tokens is every token.
    assert second.cached_prompt_tokens is not None and second.cached_prompt_tokens >= 0.8 * (first.prompt_tokens or 0)
    assert second.prompt_tokens is not None and second.prompt_tokens > second.cached_prompt_tokens
