"""Runaway replies: a stream that keeps repeating itself is stopped within the bound, counted and explained
to the model; a long reply that does not repeat runs to its end. Scripted servers speak the real wire
protocols; the real model's loop is in tests/test_prompt_cache.py."""

from __future__ import annotations

import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from benchtui.engine import prompts
from benchtui.engine.contestants.edit_loop import run_task
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import RetryPolicy, make_provider
from benchtui.engine.providers.base import DEFAULT_MAX_TOKENS, RUNAWAY_FINISH
from benchtui.engine.providers.runaway import MIN_COPIES, MIN_COUNTED_COPIES, MIN_REPEATED_CHARS, RepetitionGuard
from benchtui.engine.results import RunResult
from benchtui.engine.tasks import load_task
from tests.support.scripted import (
    Script,
    ScriptedAnthropic,
    ScriptedOllama,
    ScriptedOpenAI,
    ScriptedServer,
    fixed,
    plain_text,
    tiny_task,
)

ROOT = Path(__file__).resolve().parents[1]
FAST = RetryPolicy(max_retries=1, base_delay_s=0.01, max_delay_s=0.02)
DIALECTS = ("ollama", "openai", "anthropic")
SERVERS: dict[str, type[ScriptedServer]] = {
    "ollama": ScriptedOllama,
    "openai": ScriptedOpenAI,
    "anthropic": ScriptedAnthropic,
}
# What SmolLM2-135M really wrote on add_comment (whole files) until its token limit, and on set_retries.
SENTENCE = "The `mathutils.py` file is not available.\n\n"
IDENTIFIER = "            if attempts > max_retries_attempts_retries" + "_attempts" * 400


def spec(dialect: str, url: str, **settings: object) -> ModelSpec:
    return ModelSpec(
        key="m",
        name="m",
        provider=dialect,
        display_name="m",
        base_url=url + ("/v1" if dialect == "openai" else ""),
        settings=MappingProxyType(settings),
    )


def feed(text: str, size: int = 5) -> tuple[Any, int]:
    """The guard's verdict on ``text`` streamed in pieces of ``size``, and the characters fed until then."""
    guard = RepetitionGuard()
    for start in range(0, len(text), size):
        found = guard.feed(text[start : start + size])
        if found is not None:
            return found, start + size
    return None, len(text)


# --- the guard -------------------------------------------------------------------------------------------


def test_a_repeated_block_of_lines_is_stopped_within_the_bound() -> None:
    opening = "mathutils.py\n```\ndef clamp(value, low, high):\n    return max(low, min(value, high))\n```\n\n"
    found, fed = feed(opening + SENTENCE * 100)
    assert found is not None and found.shape == "lines" and found.block in SENTENCE * 2
    # The first copy that takes the repeats past MIN_REPEATED_CHARS stops it.
    assert found.copies >= MIN_COPIES and (found.copies - 1) * len(SENTENCE) >= MIN_REPEATED_CHARS
    assert (found.copies - 2) * len(SENTENCE) < MIN_REPEATED_CHARS
    # Stopped once MIN_COPIES copies stand in a row and the repeats hold MIN_REPEATED_CHARS: never later
    # than one more copy after that.
    bound = len(opening) + len(SENTENCE) + max(MIN_REPEATED_CHARS, (MIN_COPIES - 1) * len(SENTENCE)) + len(SENTENCE)
    assert fed <= bound
    # What is kept is the reply up to the end of the first copy.
    assert (opening + SENTENCE * 100)[: found.keep].endswith(opening + SENTENCE.rstrip("\n") + "\n")


def test_a_run_inside_one_line_is_stopped_within_the_bound() -> None:
    found, fed = feed(IDENTIFIER)
    assert found is not None and found.shape == "line"
    assert len(found.block) == len("_attempts") and found.block in "_attempts" * 2
    # The line is searched every 24 characters; a piece is 5.
    assert fed <= IDENTIFIER.index("_attempts" * 2) + MIN_REPEATED_CHARS + len("_attempts") + 24 + 5
    assert IDENTIFIER[: found.keep].count("attempts") <= 4


def test_lines_that_only_count_up_are_stopped_past_a_higher_bound() -> None:
    # SmolLM2 on add_validation: "# 1. UserStore", "# 2. UserStore", ... until its token limit.
    counted = "".join(f"# {n}. UserStore\n\n" for n in range(1, 200))
    found, fed = feed(counted)
    assert found is not None and found.shape == "lines" and found.copies == MIN_COUNTED_COPIES
    assert fed <= len("".join(f"# {n}. UserStore\n\n" for n in range(1, MIN_COUNTED_COPIES + 1))) + 5
    # Real code counts up too (textual's keys.py: F1 = "f1" ... F24 = "f24"): fewer copies are no loop.
    assert feed("".join(f'    F{n} = "f{n}"\n' for n in range(1, MIN_COUNTED_COPIES)))[0] is None
    # A table of numbers is data, not a loop: without a word its lines are compared as they are.
    assert feed("".join(f"    {n}, {n * 7}, {n * 13},\n" for n in range(300)))[0] is None


def test_short_repeats_that_code_has_are_no_runaway() -> None:
    code = "def f():\n    pass\n\n\n" + "}\n" * 40 + "x = [\n" + "    0,\n" * 30 + "]\n" + "=" * 100 + "\n"
    assert feed(code)[0] is None


def test_no_file_of_the_shipped_tasks_or_of_benchtui_is_a_runaway() -> None:
    # A long reply that sends real files whole never trips the guard: every file of the tasks (workspaces,
    # solutions, checks) and of benchtui's engine, each as a whole-file reply.
    files = [p for p in sorted((ROOT / "tasks").rglob("*")) if p.is_file() and p.suffix in (".py", ".js", ".md")]
    files += sorted((ROOT / "benchtui" / "engine").rglob("*.py"))
    assert len(files) > 60
    for path in files:
        reply = "Here is the file.\n\n" + prompts.render_files([(path.name, path.read_text(encoding="utf-8"))])
        assert feed(reply, 7)[0] is None, path


# --- over the wire ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_degenerate_stream_is_cut_and_the_server_stops_sending(dialect: str) -> None:
    # 5000 more chunks at 2 ms each: the whole stream would take over 10 s.
    script = Script(fixed("I will fix it.\n\n"), chunk_size=8, chunk_delay_s=0.002, loop=SENTENCE, loop_chunks=5000)
    with SERVERS[dialect]({"m": script}) as server:
        provider = make_provider(spec(dialect, server.url), policy=FAST)
        started = time.monotonic()
        reply = provider.chat([{"role": "user", "content": "fix it"}])
        elapsed = time.monotonic() - started
        # The client hung up, so the server's handler ends at its next write instead of streaming on.
        deadline = time.monotonic() + 2
        while server.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.in_flight == 0
    assert reply.runaway is not None and reply.finish_reason == RUNAWAY_FINISH and not reply.truncated
    assert reply.text == "I will fix it.\n\n" + SENTENCE.rstrip("\n") + "\n"
    assert elapsed < 3 and reply.runaway.streamed < 800
    assert server.attempts["m"] == 1  # a runaway is an answer, not a failure: never retried


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_long_reply_that_does_not_repeat_runs_to_its_end(dialect: str) -> None:
    long_file = (ROOT / "benchtui" / "engine" / "providers" / "base.py").read_text(encoding="utf-8")
    text = "Here is the file.\n\n" + prompts.render_files([("base.py", long_file)])
    with SERVERS[dialect]({"m": Script(fixed(text), chunk_size=16)}) as server:
        reply = make_provider(spec(dialect, server.url), policy=FAST).chat([{"role": "user", "content": "go"}])
    assert len(text) > 20_000
    assert reply.runaway is None and reply.finish_reason == "stop" and reply.text == text


def _run(dialect: str, script: Script, tmp_path: Path) -> tuple[RunResult, list[dict[str, Any]], ScriptedServer]:
    task = load_task(tiny_task(tmp_path / "task"))
    with SERVERS[dialect]({"m": script}) as server:
        model = spec(dialect, server.url)
        provider = make_provider(model, policy=FAST)
        result, transcript = run_task(task, model, provider, timeout_s=60)
        provider.close()
    return result, transcript, server


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_run_counts_its_runaway_replies_and_tells_the_model(dialect: str, tmp_path: Path) -> None:
    script = Script(fixed("Let me look.\n"), chunk_size=10, loop="answer.txt\n```\ntodo\n```\n", loop_chunks=3000)
    result, transcript, server = _run(dialect, script, tmp_path)
    assert result["status"] == "failed" and result["prompts_sent"] == 2
    assert result["runaway_replies"] == 2 and result["truncated_replies"] == 0
    replies = [e for e in transcript if e["kind"] == "reply"]
    assert [e["finish_reason"] for e in replies] == [RUNAWAY_FINISH, RUNAWAY_FINISH]
    assert all("repeated" in e["runaway"] for e in replies)
    # The conversation keeps one copy of the loop, and the next prompt opens by saying why.
    second = server.bodies_snapshot()["m"][1]["messages"]
    assert plain_text(second[-2]["content"]) == replies[0]["content"]
    assert plain_text(second[-1]["content"]).startswith("Your last reply was stopped: it repeated the same text")


def test_a_run_without_a_runaway_counts_none(tmp_path: Path) -> None:
    result, transcript, server = _run("openai", Script(fixed("No idea, sorry.")), tmp_path)
    assert result["runaway_replies"] == 0 and result["prompts_sent"] == 2
    assert "stopped" not in server.bodies_snapshot()["m"][1]["messages"][-1]["content"]
    assert all("runaway" not in e for e in transcript)


# --- every request carries an output cap -----------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_request_carries_an_output_cap(dialect: str) -> None:
    with SERVERS[dialect]({"m": Script(fixed("ok"))}) as server:
        make_provider(spec(dialect, server.url), policy=FAST).chat([{"role": "user", "content": "go"}])
        make_provider(spec(dialect, server.url, max_tokens=77), policy=FAST).chat([{"role": "user", "content": "go"}])
    caps = [
        body["options"]["num_predict"] if dialect == "ollama" else body["max_tokens"] for body in server.bodies["m"]
    ]
    assert caps == [DEFAULT_MAX_TOKENS, 77]
