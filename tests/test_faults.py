"""Fault injection: what each provider does when its server misbehaves, one fault per test, per dialect.

Every case runs against a real loopback server speaking the dialect (tests/support/scripted.py) and
asserts two things the user relies on: how many HTTP attempts the server really saw, and which typed
error (if any) the run records. Backoff is shrunk with RetryPolicy so the matrix stays fast; the waits
that are the point of a test (Retry-After, the deadline, Ctrl-C) are real.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import ChatMessage, Provider, ProviderError, RetryPolicy, make_provider
from benchtui.engine.results import RunResult
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks
from tests.support.scripted import (
    Script,
    ScriptedAnthropic,
    ScriptedOllama,
    ScriptedOpenAI,
    ScriptedServer,
    always,
    fixed,
    solution_reply,
    tiny_task,
)

DIALECTS = ("ollama", "openai", "anthropic")
ANSWER = "The quick brown fox jumps over the lazy dog, twice over."
HELLO: list[ChatMessage] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Say the sentence."},
]
# Three retries (four attempts) at 0.01 s, 0.02 s, 0.04 s: the real schedule, shrunk.
FAST = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.05, max_retry_after_s=60.0, request_deadline_s=20.0)
SERVERS: dict[str, type[ScriptedServer]] = {
    "ollama": ScriptedOllama,
    "openai": ScriptedOpenAI,
    "anthropic": ScriptedAnthropic,
}


def base_url(dialect: str, root: str) -> str:
    return f"{root}/v1" if dialect == "openai" else root


@dataclass
class Rig:
    """One scripted server of a dialect and a way to build providers against it."""

    dialect: str
    server: ScriptedServer

    def provider(self, model: str = "m", policy: RetryPolicy = FAST, api_key: str | None = None) -> Provider:
        spec = ModelSpec(
            key=model,
            name=model,
            provider=self.dialect,
            display_name=model,
            base_url=base_url(self.dialect, self.server.url),
            api_key=api_key,
        )
        return make_provider(spec, policy=policy)

    def spec(self, model: str, **extra: object) -> ModelSpec:
        key = f"ollama/{model}" if self.dialect == "ollama" else model
        return ModelSpec(
            key=key,
            name=model,
            provider=self.dialect,
            display_name=model,
            base_url=base_url(self.dialect, self.server.url),
            **extra,  # type: ignore[arg-type]
        )


@pytest.fixture(params=DIALECTS)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    server = SERVERS[request.param]({})
    server.start()
    yield Rig(request.param, server)
    server.close()


@pytest.fixture
def openai_rig() -> Iterator[Rig]:
    """For behaviour of the shared retry layer that no dialect changes: one dialect is enough."""
    server = ScriptedOpenAI({})
    server.start()
    yield Rig("openai", server)
    server.close()


def script(rig: Rig, **knobs: object) -> Script:
    made = Script(fixed(ANSWER), chunk_size=8, **knobs)  # type: ignore[arg-type]
    rig.server.scripts["m"] = made
    return made


def fails(rig: Rig) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        rig.provider().chat(HELLO)
    return caught.value


# --- statuses ------------------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_succeeds(rig: Rig) -> None:
    script(rig, failures={1: (429, {"retry-after": "1"}, "slow down")})
    reply = rig.provider().chat(HELLO)
    assert reply.text == ANSWER and reply.attempts == 2 == rig.server.attempts["m"]
    first, second = rig.server.attempt_times["m"]
    assert second - first >= 0.99  # the backoff alone would have been ~0.05 s


def test_retry_after_ms_is_honoured(openai_rig: Rig) -> None:
    rig = openai_rig
    script(rig, failures={1: (429, {"retry-after-ms": "400"}, "slow down")})
    assert rig.provider().chat(HELLO).attempts == 2
    first, second = rig.server.attempt_times["m"]
    assert second - first >= 0.39


def test_retry_after_above_the_cap_is_not_waited_for(rig: Rig) -> None:
    script(rig, failures=always(429, "come back tomorrow", {"retry-after": "3600"}))
    started = time.monotonic()
    error = fails(rig)
    assert error.kind == "rate_limited" and error.attempts == 1 == rig.server.attempts["m"]
    assert "3600 s, above the 60 s cap" in error.message
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("status", [500, 503, 529])
def test_transient_statuses_are_retried_then_succeed(rig: Rig, status: int) -> None:
    script(rig, failures={1: (status, {}, "busy"), 2: (status, {}, "busy")})
    reply = rig.provider().chat(HELLO)
    assert reply.text == ANSWER and reply.attempts == 3 == rig.server.attempts["m"]


def test_a_transient_status_that_never_clears_ends_as_server_error(rig: Rig) -> None:
    script(rig, failures=always(503, "server busy, please try again"))
    error = fails(rig)
    assert error.kind == "server_error" and error.status == 503
    assert error.attempts == FAST.max_retries + 1 == rig.server.attempts["m"]


def test_backoff_grows_between_attempts(openai_rig: Rig) -> None:
    rig = openai_rig
    script(rig, failures=always(502, "bad gateway"))
    policy = RetryPolicy(max_retries=3, base_delay_s=0.1, max_delay_s=1.0)
    with pytest.raises(ProviderError):
        rig.provider(policy=policy).chat(HELLO)
    times = rig.server.attempt_times["m"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # 0.1, 0.2, 0.4 s, each less up to 25 % jitter (upper bounds are loose: CI machines are busy)
    assert len(gaps) == 3
    for n, gap in enumerate(gaps):
        assert 0.75 * 0.1 * 2**n - 0.005 <= gap < 0.1 * 2**n + 1.5


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "bad_request"),
        (401, "auth"),
        (403, "auth"),
        (404, "model_not_found"),
        (422, "bad_request"),
    ],
)
def test_final_statuses_are_never_retried(rig: Rig, status: int, kind: str) -> None:
    script(rig, failures=always(status, "no"))
    error = fails(rig)
    assert (error.kind, error.status, error.attempts, rig.server.attempts["m"]) == (kind, status, 1, 1)


def test_x_should_retry_false_stops_a_retry(openai_rig: Rig) -> None:
    rig = openai_rig
    script(rig, failures=always(500, "do not bother", {"x-should-retry": "false"}))
    error = fails(rig)
    assert error.kind == "server_error" and rig.server.attempts["m"] == 1


def test_an_unknown_model_is_model_not_found_in_one_attempt(rig: Rig) -> None:
    error = fails(rig)  # no script named "m": the server answers its dialect's 404
    assert error.kind == "model_not_found" and rig.server.attempts["m"] == 1 == error.attempts


def test_the_overall_deadline_cuts_a_long_retry_wait(openai_rig: Rig) -> None:
    rig = openai_rig
    script(rig, failures=always(503, "busy", {"retry-after": "5"}))
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        rig.provider().chat(HELLO, deadline=started + 1.0)
    assert caught.value.kind == "server_error" and rig.server.attempts["m"] == 1
    assert time.monotonic() - started < 0.5


# --- connections and streams ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_connection_refused_is_retried_then_unreachable(dialect: str) -> None:
    root = f"http://127.0.0.1:{free_port()}"
    spec = ModelSpec(key="m", name="m", provider=dialect, display_name="m", base_url=base_url(dialect, root))
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        make_provider(spec, policy=FAST).chat(HELLO)
    assert caught.value.kind == "unreachable" and caught.value.attempts == FAST.max_retries + 1
    assert root in caught.value.message
    assert time.monotonic() - started < 2


def test_a_stream_cut_mid_answer_is_retried_whole(rig: Rig) -> None:
    script(rig, cut_after_chunks={1: 3})
    streamed: list[str] = []
    reply = rig.provider().chat(HELLO, on_token=streamed.append)
    assert reply.text == ANSWER and reply.attempts == 2 == rig.server.attempts["m"]
    assert "".join(streamed).endswith(ANSWER) and len("".join(streamed)) > len(ANSWER)  # partial text discarded


def test_a_stream_that_ends_without_its_final_event_is_retried(rig: Rig) -> None:
    script(rig, truncate_after_chunks={1: 2})
    reply = rig.provider().chat(HELLO)
    assert reply.text == ANSWER and reply.attempts == 2 == rig.server.attempts["m"]


def test_a_stream_that_always_ends_early_is_bad_response(rig: Rig) -> None:
    script(rig, truncate_after_chunks={n: 1 for n in range(1, 10)})
    error = fails(rig)
    assert error.kind == "bad_response" and error.attempts == 4 == rig.server.attempts["m"]


def test_an_error_inside_the_stream_is_retried(rig: Rig) -> None:
    script(rig, stream_error_after={1: 2})
    reply = rig.provider().chat(HELLO)
    assert reply.text == ANSWER and reply.attempts == 2 == rig.server.attempts["m"]


def test_garbage_json_is_retried_then_typed(rig: Rig) -> None:
    script(rig, garbage_attempts={1})
    assert rig.provider().chat(HELLO).attempts == 2
    rig.server.attempts.clear()
    script(rig, garbage_attempts=set(range(1, 10)))
    error = fails(rig)
    assert error.kind == "bad_response" and error.attempts == 4 == rig.server.attempts["m"]
    assert "invalid JSON" in error.message


def test_a_dripping_stream_hits_the_wall_clock_deadline(rig: Rig) -> None:
    # One byte every 0.3 s keeps httpx's per-read timeout (300 s here) from ever firing.
    script(rig, drip_attempts={n: 0.3 for n in range(1, 10)})
    policy = RetryPolicy(max_retries=3, base_delay_s=0.05, request_deadline_s=1.5)
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        rig.provider(policy=policy).chat(HELLO)
    elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout" and "deadline" in caught.value.message
    assert caught.value.attempts == 1 == rig.server.attempts["m"]  # a dripping server would drip again
    assert 1.5 <= elapsed < 2.5


def test_a_silent_server_hits_the_deadline_before_the_first_byte(rig: Rig) -> None:
    script(rig, first_byte_delay_s=5)
    policy = RetryPolicy(max_retries=0, request_deadline_s=0.5)
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        rig.provider(policy=policy).chat(HELLO)
    assert caught.value.kind == "timeout" and 0.5 <= time.monotonic() - started < 1.2


# --- Ctrl-C --------------------------------------------------------------------------------------


def _chat_in_thread(provider: Provider, cancel: threading.Event) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def call() -> None:
        try:
            outcome["reply"] = provider.chat(HELLO, cancel=cancel)
        except ProviderError as error:
            outcome["error"] = error
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread, outcome


def _wait_for(predicate: object, timeout: float = 5.0) -> None:
    until = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < until, "timed out waiting"
        time.sleep(0.01)


def test_ctrl_c_during_a_backoff_wait_stops_within_a_second(rig: Rig) -> None:
    script(rig, failures={1: (429, {"retry-after": "30"}, "slow down")})
    cancel = threading.Event()
    thread, outcome = _chat_in_thread(rig.provider(), cancel)
    _wait_for(lambda: rig.server.attempts["m"] == 1)
    time.sleep(0.2)  # well inside the 30 s wait
    pressed = time.monotonic()
    cancel.set()
    thread.join(2)
    assert not thread.is_alive()
    error = outcome["error"]
    assert isinstance(error, ProviderError) and error.kind == "cancelled" and error.attempts == 1
    assert float(outcome["ended"]) - pressed < 1.0  # type: ignore[arg-type]
    time.sleep(0.1)
    assert rig.server.attempts["m"] == 1  # no attempt after the cancel


def test_ctrl_c_mid_stream_stops_within_a_second(rig: Rig) -> None:
    script(rig, chunk_delay_s=0.5)
    cancel = threading.Event()
    thread, outcome = _chat_in_thread(rig.provider(), cancel)
    _wait_for(lambda: rig.server.attempts["m"] == 1)
    time.sleep(0.3)
    pressed = time.monotonic()
    cancel.set()
    thread.join(2)
    error = outcome["error"]
    assert isinstance(error, ProviderError) and error.kind == "cancelled"
    assert float(outcome["ended"]) - pressed < 1.0  # type: ignore[arg-type]


# --- in a batch ----------------------------------------------------------------------------------


def test_a_401_costs_one_attempt_and_spares_the_other_models(rig: Rig, tmp_path: Path) -> None:
    task = tiny_task(tmp_path / "task")
    rig.server.scripts["locked"] = Script(fixed("never seen"), failures=always(401, "invalid x-api-key"))
    rig.server.scripts["open"] = Script(solution_reply(task))
    runner = BatchRunner(
        store=ResultsStore(tmp_path / "out"),
        tasks=load_tasks([task]),
        models=[rig.spec("locked"), rig.spec("open")],
        options=BatchOptions(repeats=2),
        policy=FAST,
    )
    outcome = runner.run()
    by_model: dict[str, list[RunResult]] = {}
    for result in outcome.results:
        by_model.setdefault(str(result["model"]).removeprefix("ollama/"), []).append(result)
    assert [(r["status"], r["error"], r["request_attempts"]) for r in by_model["locked"]] == [
        ("error", "auth", 1),
        ("error", "auth", 0),
    ]  # the second run is not even sent
    assert rig.server.attempts["locked"] == 1
    assert [(r["status"], r["error"], r["request_attempts"]) for r in by_model["open"]] == [
        ("passed", None, 1),
        ("passed", None, 1),
    ]
    assert "invalid x-api-key" in str(by_model["locked"][0]["error_message"])


def test_a_run_cancelled_while_queued_never_starts_and_is_not_sent(rig: Rig, tmp_path: Path) -> None:
    from benchtui.engine.events import RecordingSink, RunFinished, RunStarted

    task = tiny_task(tmp_path / "task")
    rig.server.scripts["m"] = Script(solution_reply(task))
    sink = RecordingSink()
    runner = BatchRunner(
        store=ResultsStore(tmp_path / "out"),
        tasks=load_tasks([task]),
        models=[rig.spec("m")],
        options=BatchOptions(repeats=2),
        policy=FAST,
        sink=sink,
    )
    second = runner.plan()[1].run_id
    runner.cancel_run(second)  # as the app's x does on a queued row
    outcome = runner.run()
    assert [r["repeat"] for r in outcome.results] == [1] and rig.server.attempts["m"] == 1
    assert second not in {e.run_id for e in sink.events if isinstance(e, RunStarted)}
    (finished,) = [e.result for e in sink.events if isinstance(e, RunFinished) and e.run_id == second]
    assert finished["status"] == "cancelled" and finished["turns"] == 0 and finished["prompts_sent"] == 0
