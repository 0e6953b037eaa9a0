"""The providers one by one: what each sends on the wire, what it reads back, and model discovery.

Faults live in test_faults.py; here the servers behave and the tests pin the dialects down (Anthropic's
top-level system prompt and mandatory max_tokens, finish reasons, token counts), the Retry-After parser,
Ollama's context-truncation rule, ``/models`` discovery from the config and ``benchtui models``.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from benchtui.engine.config import load_config
from benchtui.engine.contestants import run_task
from benchtui.engine.discovery import discover
from benchtui.engine.errors import ConfigError
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import ChatMessage, ProviderError, RetryPolicy, make_provider
from benchtui.engine.providers.anthropic import AnthropicProvider, to_anthropic
from benchtui.engine.providers.base import (
    MAX_PLAUSIBLE_TOKENS_PER_S,
    MIN_CLIENT_RATE_TOKENS,
    MIN_CLIENT_RATE_WINDOW_S,
    StreamMeter,
    client_rate,
    parse_retry_after,
    shared_ssl_context,
    ssl_context_for,
)
from benchtui.engine.providers.ollama import prompt_truncation
from benchtui.engine.results import RunResult
from benchtui.engine.tasks import load_task
from tests.conftest import requires_tool, write_config
from tests.support.scripted import (
    Script,
    ScriptedAnthropic,
    ScriptedOllama,
    ScriptedOpenAI,
    ScriptedServer,
    always,
    distinct_words,
    fixed,
    plain_text,
    tiny_task,
)

FAST = RetryPolicy(max_retries=2, base_delay_s=0.01, max_delay_s=0.02)
CONVERSATION = [
    {"role": "system", "content": "You edit code."},
    {"role": "user", "content": "Fix the bug."},
    {"role": "assistant", "content": "Which file?"},
    {"role": "user", "content": "greet.py"},
    {"role": "user", "content": "(and hurry)"},
]


@pytest.fixture
def anthropic_server() -> Iterator[ScriptedAnthropic]:
    server = ScriptedAnthropic({"claude-test": Script(fixed("Hello from Claude."), chunk_size=5)})
    server.start()
    yield server
    server.close()


def spec(provider: str, url: str, name: str = "m", **extra: object) -> ModelSpec:
    return ModelSpec(key=name, name=name, provider=provider, display_name=name, base_url=url, **extra)  # type: ignore[arg-type]


# --- Anthropic -----------------------------------------------------------------------------------


def test_anthropic_sends_the_system_prompt_on_top_and_the_key_in_x_api_key(
    anthropic_server: ScriptedAnthropic,
) -> None:
    model = spec(
        "anthropic",
        anthropic_server.url,
        "claude-test",
        api_key="sk-ant-test-0123456789",
        settings=MappingProxyType({"temperature": 0.2, "max_tokens": 300, "stop": "###", "seed": 1}),
    )
    provider = make_provider(model, policy=FAST)
    assert isinstance(provider, AnthropicProvider)
    reply = provider.chat(CONVERSATION)  # type: ignore[arg-type]

    body = anthropic_server.bodies["claude-test"][0]
    assert body["system"] == "You edit code."
    assert body["messages"] == [
        {"role": "user", "content": "Fix the bug."},
        {"role": "assistant", "content": "Which file?"},
        # Same-role turns merged; the last one carries the prompt-cache breakpoint (everything before it is cached).
        {
            "role": "user",
            "content": [{"type": "text", "text": "greet.py\n\n(and hurry)", "cache_control": {"type": "ephemeral"}}],
        },
    ]
    assert body["max_tokens"] == 300 and body["temperature"] == 0.2 and body["stop_sequences"] == ["###"]
    assert body["stream"] is True and "seed" not in body
    headers = anthropic_server.headers_seen[0]
    assert headers["x-api-key"] == "sk-ant-test-0123456789" and headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers

    assert reply.text == "Hello from Claude." and reply.finish_reason == "stop"
    assert reply.prompt_tokens == len("You edit code.Fix the bug.Which file?greet.py\n\n(and hurry)") // 4
    assert reply.completion_tokens == 4 and reply.ttft_s is not None and reply.attempts == 1


def test_anthropic_max_tokens_defaults_to_1024_and_v1_suffixes_are_accepted(
    anthropic_server: ScriptedAnthropic,
) -> None:
    provider = make_provider(spec("anthropic", anthropic_server.url + "/v1/", "claude-test"), policy=FAST)
    provider.chat([{"role": "user", "content": "hi"}])
    body = anthropic_server.bodies["claude-test"][0]
    assert body["max_tokens"] == 1024 and "system" not in body
    assert "x-api-key" not in anthropic_server.headers_seen[0]  # a keyless local server


def test_to_anthropic_never_starts_with_an_assistant_turn() -> None:
    system, turns = to_anthropic([{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Go"}])
    assert system is None and [t["role"] for t in turns] == ["user", "assistant", "user"]


@pytest.mark.parametrize(
    ("error_type", "kind", "attempts"),
    [
        ("overloaded_error", "server_error", 3),
        ("rate_limit_error", "rate_limited", 3),
        ("api_error", "server_error", 3),
        ("invalid_request_error", "bad_request", 1),
        ("authentication_error", "auth", 1),
    ],
)
def test_anthropic_stream_errors_are_typed_like_their_statuses(
    anthropic_server: ScriptedAnthropic, error_type: str, kind: str, attempts: int
) -> None:
    anthropic_server.scripts["claude-test"] = Script(
        fixed("never finished"), stream_error_type=error_type, stream_error_after={n: 1 for n in range(1, 9)}
    )
    with pytest.raises(ProviderError) as caught:
        make_provider(spec("anthropic", anthropic_server.url, "claude-test"), policy=FAST).chat(
            [{"role": "user", "content": "hi"}]
        )
    assert caught.value.kind == kind and error_type in caught.value.message
    assert caught.value.attempts == attempts == anthropic_server.attempts["claude-test"]


def test_anthropic_prompt_too_long_is_context_truncated(anthropic_server: ScriptedAnthropic) -> None:
    anthropic_server.scripts["claude-test"] = Script(
        fixed("x"), failures=always(400, "prompt is too long: 210000 tokens > 200000 maximum")
    )
    with pytest.raises(ProviderError) as caught:
        make_provider(spec("anthropic", anthropic_server.url, "claude-test"), policy=FAST).chat(
            [{"role": "user", "content": "hi"}]
        )
    assert caught.value.kind == "context_truncated" and caught.value.attempts == 1


# --- finish reasons and token counts in every dialect ---------------------------------------------


@pytest.mark.parametrize("dialect", ["ollama", "openai", "anthropic"])
def test_an_answer_cut_by_max_tokens_says_length(dialect: str) -> None:
    server_cls = {"ollama": ScriptedOllama, "openai": ScriptedOpenAI, "anthropic": ScriptedAnthropic}[dialect]
    with server_cls({"m": Script(fixed("one two three"), finish_reason="length")}) as server:
        url = server.url + ("/v1" if dialect == "openai" else "")
        reply = make_provider(spec(dialect, url), policy=FAST).chat([{"role": "user", "content": "count"}])
    assert reply.text == "one two three" and reply.finish_reason == "length"
    assert reply.prompt_tokens and reply.completion_tokens == 2 and reply.attempts == 1


SERVERS: dict[str, type[ScriptedServer]] = {
    "ollama": ScriptedOllama,
    "openai": ScriptedOpenAI,
    "anthropic": ScriptedAnthropic,
}


def _url(dialect: str, server: ScriptedServer) -> str:
    return server.url + ("/v1" if dialect == "openai" else "")


@pytest.mark.parametrize("dialect", ["ollama", "openai", "anthropic"])
def test_a_reply_cut_at_the_token_limit_is_truncated_in_every_dialect(dialect: str) -> None:
    # The server cuts at the request's own limit and says so in its words: OpenAI finish_reason "length",
    # Ollama done_reason "length", Anthropic stop_reason "max_tokens".
    script = Script(fixed("word " * 40), chunk_size=5, honour_max_tokens=True)
    with SERVERS[dialect]({"m": script}) as server:
        limited = spec(dialect, _url(dialect, server), settings=MappingProxyType({"max_tokens": 8}))
        cut = make_provider(limited, policy=FAST).chat([{"role": "user", "content": "talk"}])
        whole = make_provider(spec(dialect, _url(dialect, server)), policy=FAST).chat(
            [{"role": "user", "content": "talk"}]
        )
    assert cut.truncated and cut.finish_reason == "length"
    assert cut.text == "word " * 8 and cut.completion_tokens == 8
    assert not whole.truncated and whole.finish_reason == "stop" and whole.text == "word " * 40


# --- decode rates: server-reported or client-measured, never a burst ---------------------------------


def test_a_client_rate_needs_enough_tokens_enough_time_and_a_plausible_result() -> None:
    enough, window = MIN_CLIENT_RATE_TOKENS, MIN_CLIENT_RATE_WINDOW_S
    assert client_rate(enough, 10.0, 10.0 + window) == pytest.approx(enough / window)
    assert client_rate(enough - 1, 10.0, 20.0) is None  # too few tokens to time
    assert client_rate(500, 10.0, 10.0 + window * 0.99) is None  # too short a window: one burst
    fastest = MAX_PLAUSIBLE_TOKENS_PER_S
    assert client_rate(int(fastest), 10.0, 11.0) == fastest
    assert client_rate(int(fastest) * 2, 10.0, 11.0) is None  # buffered, not decoded
    assert client_rate(None, 10.0, 11.0) is None and client_rate(100, None, None) is None


# Ollama without eval_duration has only the client clock, like the other two dialects without timings.
CLIENT_ONLY = {"ollama": {"timings": False}, "openai": {}, "anthropic": {}}


def test_the_stream_meter_times_the_first_real_token_and_lets_the_server_rate_win() -> None:
    seen: list[str] = []
    meter = StreamMeter(seen.append)
    meter.piece("")  # a keep-alive chunk with no text is no token
    assert meter.first_token is None
    time.sleep(0.02)
    meter.piece("a")
    meter.piece("b")
    reply = meter.reply(prompt_tokens=3, completion_tokens=2, finish_reason="stop")
    assert reply.text == "ab" and seen == ["a", "b"]
    assert reply.ttft_s is not None and 0.02 <= reply.ttft_s <= reply.duration_s
    assert reply.tokens_per_s is None and reply.tokens_per_s_source is None  # 2 tokens: too few to time
    timed = StreamMeter(None).reply(prompt_tokens=None, completion_tokens=40, server_tokens=40, server_s=2.0)
    assert (timed.tokens_per_s, timed.tokens_per_s_source, timed.generation_s) == (20.0, "server", 2.0)
    assert timed.ttft_s is None and timed.raw_usage == {}


@pytest.mark.parametrize("dialect", ["ollama", "openai", "anthropic"])
def test_a_stream_that_arrives_in_one_burst_has_no_rate(dialect: str) -> None:
    script = Script(fixed(distinct_words(300, 4)), chunk_size=4, burst=True, **CLIENT_ONLY[dialect])  # type: ignore[arg-type]
    with SERVERS[dialect]({"m": script}) as server:
        reply = make_provider(spec(dialect, _url(dialect, server)), policy=FAST).chat(
            [{"role": "user", "content": "go"}]
        )
    assert reply.completion_tokens == 300 and reply.text == distinct_words(300, 4)
    assert reply.tokens_per_s is None and reply.tokens_per_s_source is None


@pytest.mark.parametrize("dialect", ["ollama", "openai", "anthropic"])
def test_a_stream_that_trickles_gets_a_client_rate(dialect: str) -> None:
    script = Script(fixed("tok " * 30), chunk_size=4, chunk_delay_s=0.02, **CLIENT_ONLY[dialect])  # type: ignore[arg-type]
    with SERVERS[dialect]({"m": script}) as server:
        reply = make_provider(spec(dialect, _url(dialect, server)), policy=FAST).chat(
            [{"role": "user", "content": "go"}]
        )
    # 30 tokens, 29 gaps of at least 20 ms: at most 30 / 0.58 s ≈ 52 tokens/s.
    assert reply.tokens_per_s_source == "client"
    assert reply.tokens_per_s is not None and 5 < reply.tokens_per_s < 53


@pytest.mark.parametrize("dialect", ["ollama", "openai"])
def test_a_server_reported_rate_is_used_and_marked_server(dialect: str) -> None:
    # A burst on the client clock, but the server timed its own decode: Ollama's eval_duration,
    # llama.cpp's timings.
    timed = True if dialect == "openai" else None
    script = Script(fixed(distinct_words(300, 4)), chunk_size=4, burst=True, timings=timed)
    with SERVERS[dialect]({"m": script}) as server:
        reply = make_provider(spec(dialect, _url(dialect, server)), policy=FAST).chat(
            [{"role": "user", "content": "go"}]
        )
    if dialect == "ollama":
        expected = reply.raw_usage["eval_count"] / reply.raw_usage["eval_duration"] * 1e9
    else:
        timings = reply.raw_usage["timings"]
        expected = timings["predicted_n"] / timings["predicted_ms"] * 1000
    assert reply.tokens_per_s_source == "server" and reply.tokens_per_s == pytest.approx(expected)


# --- what a run records of its replies -----------------------------------------------------------------


def _run(
    dialect: str, script: Script, tmp_path: Path, **settings: object
) -> tuple[RunResult, list[dict[str, Any]], ScriptedServer]:
    task = load_task(tiny_task(tmp_path / "task"))
    with SERVERS[dialect]({"m": script}) as server:
        model = spec(dialect, _url(dialect, server), settings=MappingProxyType(settings))
        provider = make_provider(model, policy=FAST)
        result, transcript = run_task(task, model, provider, timeout_s=60)
        provider.close()
    return result, transcript, server


@pytest.mark.parametrize("dialect", ["ollama", "openai", "anthropic"])
def test_a_run_counts_its_cut_replies_and_tells_the_model(dialect: str, tmp_path: Path) -> None:
    script = Script(fixed("Let me think about this task step by step. " * 20), chunk_size=6, honour_max_tokens=True)
    result, transcript, server = _run(dialect, script, tmp_path, max_tokens=10)
    assert result["status"] == "failed" and result["prompts_sent"] == 2
    assert result["truncated_replies"] == 2
    second = plain_text(server.bodies_snapshot()["m"][1]["messages"][-1]["content"])
    assert second.startswith("Your last reply was cut off: it reached the reply length limit of 10 tokens")
    assert [e["finish_reason"] for e in transcript if e["kind"] == "reply"] == ["length", "length"]


def test_a_run_that_was_never_cut_says_so_and_its_prompts_do_not(tmp_path: Path) -> None:
    result, _, server = _run("openai", Script(fixed("No idea, sorry.")), tmp_path)
    assert result["truncated_replies"] == 0 and result["prompts_sent"] == 2
    assert "cut off" not in server.bodies_snapshot()["m"][1]["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("dialect", "extra", "source"),
    [
        ("ollama", {}, "server"),
        ("openai", {"timings": True}, "server"),
        ("openai", {}, None),
        ("anthropic", {}, None),
    ],
)
def test_a_run_records_where_its_rate_came_from(
    dialect: str, extra: dict[str, Any], source: str | None, tmp_path: Path
) -> None:
    result, _, _ = _run(dialect, Script(fixed(distinct_words(200, 9)), chunk_size=3, burst=True, **extra), tmp_path)
    assert result["tokens_per_s_source"] == source
    if source is None:
        assert result["tokens_per_s"] is None  # a burst is no measurement
    else:
        rate = result["tokens_per_s"]
        assert rate is not None and rate > 0


# --- OpenAI specifics ----------------------------------------------------------------------------


def test_openai_quota_exhaustion_is_not_retried() -> None:
    body = "You exceeded your current quota, please check your plan and billing details. insufficient_quota"
    with ScriptedOpenAI({"m": Script(fixed("x"), failures=always(429, body))}) as server:
        with pytest.raises(ProviderError) as caught:
            make_provider(spec("openai", server.url + "/v1"), policy=FAST).chat([{"role": "user", "content": "x"}])
        assert caught.value.kind == "rate_limited" and server.attempts["m"] == 1
        assert "quota exhausted" in caught.value.message


def test_openai_context_length_errors_are_context_truncated() -> None:
    message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."
    with (
        ScriptedOpenAI({"m": Script(fixed("x"), failures=always(400, message))}) as server,
        pytest.raises(ProviderError) as caught,
    ):
        make_provider(spec("openai", server.url + "/v1"), policy=FAST).chat([{"role": "user", "content": "x"}])
    assert caught.value.kind == "context_truncated" and caught.value.attempts == 1


def test_openai_sends_the_bearer_key_and_max_completion_tokens_when_asked() -> None:
    with ScriptedOpenAI({"m": Script(fixed("ok"))}) as server:
        model = spec(
            "openai",
            server.url + "/v1",
            api_key="sk-openai-0123456789",
            settings=MappingProxyType({"max_tokens": 100, "max_completion_tokens": 500}),
        )
        make_provider(model, policy=FAST).chat([{"role": "user", "content": "x"}])
        body = server.bodies["m"][0]
        assert body["max_completion_tokens"] == 500 and "max_tokens" not in body
        assert body["stream_options"] == {"include_usage": True}
        assert server.headers_seen[0]["authorization"] == "Bearer sk-openai-0123456789"


# --- Retry-After --------------------------------------------------------------------------------


def test_retry_after_parses_seconds_dates_and_milliseconds() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "7"})) == 7
    assert parse_retry_after(httpx.Headers({"retry-after": "1.5"})) == 1.5
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after(httpx.Headers({"retry-after": date})) or 0) <= 30
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after(httpx.Headers({"retry-after": past})) == 0
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers({})) is None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=8.0)
    for attempt, nominal in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        delays = {policy.backoff(attempt) for _ in range(20)}
        assert all(0.75 * nominal <= d <= nominal for d in delays)
        assert len(delays) > 1  # jitter, so a crowd of clients does not retry in step


# --- Ollama: truncation ---------------------------------------------------------------------------


def test_ollama_context_truncation_is_only_claimed_on_proof() -> None:
    big: list[ChatMessage] = [{"role": "user", "content": "word " * 2000}]  # 10,000 bytes: at least 1,250 tokens
    assert prompt_truncation(big, 1024, 1024) is not None  # cannot fit; Ollama kept 1,024
    assert prompt_truncation(big, 1024, None) is not None
    assert prompt_truncation(big, 4096, 12) is None  # fits num_ctx: a small count is the KV cache at work
    assert prompt_truncation(big, None, 12) is None  # runtime num_ctx unknown: no claim
    assert prompt_truncation(big, 1024, 2500) is None  # the server evaluated it all: num_ctx was not applied


def test_ollama_reports_a_truncated_prompt_and_keeps_length_finishes() -> None:
    with ScriptedOllama({"m": Script(fixed("ok"), prompt_eval_count=1024)}) as server:
        model = spec("ollama", server.url, settings=MappingProxyType({"num_ctx": 1024}))
        with pytest.raises(ProviderError) as caught:
            make_provider(model, policy=FAST).chat([{"role": "user", "content": "word " * 2000}])
        assert caught.value.kind == "context_truncated" and "num_ctx=1024" in caught.value.message
        assert caught.value.attempts == 1 == server.attempts["m"]
        assert server.bodies["m"][0]["options"]["num_ctx"] == 1024
        # A short prompt under the same num_ctx is fine, whatever the count.
        reply = make_provider(model, policy=FAST).chat([{"role": "user", "content": "hi"}])
        assert reply.text == "ok"


# --- discovery from /models ----------------------------------------------------------------------


def test_a_wildcard_entry_lists_every_model_of_an_openai_compatible_server(tmp_path: Path) -> None:
    scripts = {name: Script(fixed("ok")) for name in ("gpt-4o", "gpt-4o-mini", "whisper-1")}
    with ScriptedOpenAI(scripts) as server:
        config = load_config(
            write_config(
                tmp_path / "m.yaml",
                f"""
models:
  - name: "gpt-4o*"
    provider: openai
    base_url: {server.url}/v1
    edit_format: whole
    pricing: {{input_per_mtok: 1, output_per_mtok: 2}}
    category: fast
  - name: gpt-4o
    provider: openai
    display_name: The explicit one
    base_url: {server.url}/v1
""",
            )
        )
        catalog = discover(config, embedded=False)
    found = {m.key: m for m in catalog.models}
    assert set(found) == {"gpt-4o", "gpt-4o-mini"}  # whisper-1 filtered out by the pattern
    assert found["gpt-4o"].display_name == "The explicit one"  # an explicit entry wins
    mini = found["gpt-4o-mini"]
    assert mini.source == "discovered" and mini.edit_format == "whole" and mini.pricing is not None
    assert mini.base_url == f"{server.url}/v1" and "fast" in mini.categories
    assert catalog.categories["fast"] == ("gpt-4o-mini",)


def test_discover_true_lists_an_anthropic_server_too(tmp_path: Path, anthropic_server: ScriptedAnthropic) -> None:
    config = load_config(
        write_config(
            tmp_path / "m.yaml",
            f"""
models:
  - provider: anthropic
    discover: true
    base_url: {anthropic_server.url}
""",
        )
    )
    (model,) = discover(config, embedded=False).models
    assert (model.key, model.provider, model.available) == ("claude-test", "anthropic", True)


def test_a_discover_entry_that_cannot_list_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test-0123456789abcdef")
    with ScriptedOpenAI({}) as locked:
        locked.handle_get = lambda handler: locked.send_json(handler, 401, {"error": {"message": "bad key"}})  # type: ignore[method-assign]
        config = load_config(
            write_config(
                tmp_path / "m.yaml",
                f"""
models:
  - name: "*"
    provider: openai
    base_url: http://127.0.0.1:9/v1
  - name: "*"
    provider: openai
    base_url: {locked.url}/v1
    api_key: ${{GROQ_API_KEY}}
  - name: "*"
    provider: openai
    base_url: https://api.groq.com/openai/v1
    api_key: ${{UNSET_KEY_FOR_TEST}}
""",
            )
        )
        catalog = discover(config, embedded=False)
    reasons = {m.key: m.unavailable_reason for m in catalog.models}
    assert reasons["* @ http://127.0.0.1:9/v1"] == "server unreachable at http://127.0.0.1:9/v1 (ConnectError)"
    assert reasons[f"* @ {locked.url}/v1"] == f"listing models at {locked.url}/v1 answered HTTP 401 (check the api_key)"
    assert reasons["* @ https://api.groq.com/openai/v1"] == "${UNSET_KEY_FOR_TEST} unset"
    assert not any(m.available for m in catalog.models)


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ("  - name: '*'\n    provider: ollama\n", 3, "'name': model discovery lists GET /models"),
        ("  - name: llama\n    provider: embedded\n    discover: true\n", 5, "'discover': model discovery"),
        ("  - name: 'gpt-*'\n    provider: openai\n    discover: false\n", 3, "only a discover entry"),
        ("  - name: m\n    provider: openai\n    discover: maybe\n", 5, "'discover': expected true or false"),
    ],
)
def test_discover_config_errors_name_the_line(tmp_path: Path, entry: str, line: int, message: str) -> None:
    path = write_config(tmp_path / "m.yaml", "# models\nmodels:\n" + entry)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:{line}: ") and message in str(caught.value)


# --- benchtui models ------------------------------------------------------------------------------


def test_benchtui_models_says_why_each_unavailable_model_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchtui.cli import main

    monkeypatch.setenv("COLUMNS", "400")
    config = write_config(
        tmp_path / "m.yaml",
        """
embedded: {enabled: false}
models:
  - name: llama3.2:1b
    provider: ollama
  - name: gpt-4o
    provider: openai
    api_key: ${OPENAI_API_KEY}
  - name: old-model
    provider: openai
    base_url: http://127.0.0.1:9/v1
    enabled: false
  - name: claude-sonnet-4-5
    provider: anthropic
""",
    )
    assert main(["models", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert main(["--config", str(config), "models"]) == 0  # global options may come first
    assert capsys.readouterr().out == out
    assert "unavailable: Ollama server unreachable at http://127.0.0.1:9" in out  # OLLAMA_HOST from conftest
    assert "unavailable: ${OPENAI_API_KEY} unset" in out
    assert "unavailable: disabled in the config" in out
    assert "unavailable: no api_key (set api_key: ${ANTHROPIC_API_KEY})" in out
    assert "Ollama not reachable at http://127.0.0.1:9" in err  # a note, beside the table on stdout


def test_benchtui_models_shows_detected_ollama_models_with_size_and_quantization(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchtui.cli import main

    monkeypatch.setenv("COLUMNS", "400")
    with ScriptedOllama({"qwen2.5-coder:7b": Script(fixed("ok"))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert main(["models"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "ollama/qwen2.5-coder:7b" in line)
    assert "1B" in row and "Q4_0" in row and "1.0 KB" in row and "available" in row


# --- a real model ---------------------------------------------------------------------------------


@pytest.mark.llm
def test_the_anthropic_provider_talks_to_a_real_model() -> None:
    embedded = pytest.importorskip("benchtui.engine.embedded")
    model = next((m for m in embedded.known_models() if m.name == "smollm2-135m"), None)
    if model is None or model.unavailable_reason is not None:
        pytest.skip(f"smollm2-135m is not installed: {model.unavailable_reason if model else 'unknown model'}")
    with embedded.EmbeddedServers(threads=1) as servers:
        root = servers.ensure_started("smollm2-135m")
        model_spec = spec(
            "anthropic", root, "smollm2-135m", settings=MappingProxyType({"temperature": 0.0, "max_tokens": 24})
        )
        provider = make_provider(model_spec)
        tokens: list[str] = []
        reply = provider.chat(
            [
                {"role": "system", "content": "You are a terse assistant."},
                {"role": "user", "content": "Name one colour."},
            ],
            on_token=tokens.append,
        )
        provider.close()
    assert reply.text.strip() and "".join(tokens) == reply.text
    assert reply.prompt_tokens and reply.prompt_tokens > 5
    assert reply.completion_tokens and 0 < reply.completion_tokens <= 24
    assert reply.finish_reason in ("stop", "length") and reply.attempts == 1
    assert reply.ttft_s is not None and reply.duration_s > 0


@pytest.fixture(scope="module")
def smollm2_servers() -> Iterator[object]:
    embedded = pytest.importorskip("benchtui.engine.embedded")
    model = next((m for m in embedded.known_models() if m.name == "smollm2-135m"), None)
    if model is None or model.unavailable_reason is not None:
        pytest.skip(f"smollm2-135m is not installed: {model.unavailable_reason if model else 'unknown model'}")
    with embedded.EmbeddedServers(threads=1) as servers:
        yield servers


@pytest.mark.llm
@pytest.mark.parametrize(("dialect", "source"), [("openai", "server"), ("anthropic", None), ("ollama", "server")])
def test_a_real_server_cut_at_max_tokens_is_truncated_in_every_dialect(
    smollm2_servers: object, dialect: str, source: str | None
) -> None:
    # llama.cpp's own length signals (finish_reason "length", stop_reason "max_tokens"), and through the
    # Ollama adapter its done_reason "length"; llama.cpp times its decode for OpenAI's dialect only, and
    # 6 tokens are too few for a client rate.
    from benchtui.engine.embedded import known_models
    from tests.support.ollama_adapter import OllamaAdapter

    root = smollm2_servers.ensure_started("smollm2-135m")  # type: ignore[attr-defined]
    settings = MappingProxyType({"temperature": 0.0, "max_tokens": 6})
    conversation: list[dict[str, str]] = [{"role": "user", "content": "Count from 1 to 100, one number a line."}]
    with OllamaAdapter(known_models(), {"smollm2-135m": root}) as adapter:
        url = {"openai": f"{root}/v1", "anthropic": root, "ollama": adapter.url}[dialect]
        provider = make_provider(spec(dialect, url, "smollm2-135m", settings=settings))
        reply = provider.chat(conversation)  # type: ignore[arg-type]
        provider.close()
    assert reply.truncated and reply.finish_reason == "length" and reply.completion_tokens == 6
    assert reply.tokens_per_s_source == source and (reply.tokens_per_s is None) == (source is None)


def test_timeouts_are_explicit_short_to_connect_long_for_a_cold_load() -> None:
    provider = make_provider(spec("ollama", "http://127.0.0.1:9"))
    timeout = provider.client.timeout
    assert timeout.connect == 5.0  # a dead host is known fast
    assert timeout.read == 300.0  # Ollama may take minutes to load a model before its first byte
    assert provider.policy.request_deadline_s == 600.0  # and the watchdog bounds the whole request
    provider.close()


@requires_tool("openssl")
def test_a_plain_http_client_loads_no_ca_bundle_and_refuses_tls_rather_than_skip_verifying(tmp_path: Path) -> None:
    # https gets the shared context (the CA bundle); plain http one without it, which must fail closed: a real
    # TLS server (self-signed, so a context that skipped verification would get through) refuses the client.
    assert ssl_context_for("https://api.example.com/v1") is shared_ssl_context()
    assert ssl_context_for("HTTPS://x") is shared_ssl_context() and ssl_context_for("x:1") is shared_ssl_context()
    plain = ssl_context_for("http://127.0.0.1:11434")
    assert plain is not shared_ssl_context() and plain.cert_store_stats()["x509_ca"] == 0
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    answered: list[str] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            try:
                with server_context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    answered.append("ok")
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{port}/"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.Client(verify=plain, trust_env=False).get(url)
    # The same server, trusted explicitly: the handshake works, so the refusal above was the missing CA.
    trusting = ssl.create_default_context(cafile=str(cert))
    assert httpx.Client(verify=trusting, trust_env=False).get(url).text == "ok"
    thread.join(timeout=10)
    listener.close()
    assert answered == ["ok"]
