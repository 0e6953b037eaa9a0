"""The metering model gateway, spoken to over real sockets as the assistants speak to it.

Clients are plain httpx speaking each wire format (no vendor SDK); upstreams are the scripted servers:
``scripted_agent`` (the three dialects with tool calls) and ``scripted`` (the text servers the providers
are tested against, with their fault knobs).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest

from benchtui.engine.gateway import Gateway
from benchtui.engine.models import ModelSpec, Pricing
from benchtui.engine.providers import RetryPolicy, make_provider
from tests.support import scripted
from tests.support.scripted_agent import (
    AgentScript,
    ScriptedAgentServer,
    by_tool_results,
    call,
    text,
    turns,
)

CANARY = "sk-canary-0123456789abcdef"
FAST = RetryPolicy(max_retries=2, base_delay_s=0.01, max_delay_s=0.05, connect_timeout_s=1.0)
EDIT_SCHEMA = {
    "type": "object",
    "properties": {"path": {"type": "string"}, "old": {"type": "string"}, "new": {"type": "string"}},
    "required": ["path", "old", "new"],
}
EDIT_ARGS = {"path": "greet.py", "old": "Helo", "new": "Hello"}
CLIENTS = ("openai-chat", "openai-responses", "anthropic")
UPSTREAMS = ("openai", "anthropic", "ollama", "embedded")


def spec_for(upstream: str, url: str, **extra: Any) -> ModelSpec:
    """A model of provider ``upstream`` served at ``url`` (a scripted server's root), with the canary key."""
    base = url + "/v1" if upstream in ("openai", "embedded") else url
    return ModelSpec(
        key=f"{upstream}/m",
        name="m",
        provider=upstream,
        display_name="M",
        base_url=base,
        api_key=CANARY if upstream in ("openai", "anthropic") else None,
        **extra,
    )


@contextmanager
def gateway_for(spec: ModelSpec, **options: Any) -> Iterator[Gateway]:
    provider = make_provider(spec, policy=options.pop("policy", FAST))
    options.setdefault("deadline", None)
    options.setdefault("output_cap", 256)
    try:
        with Gateway(spec, provider, **options) as gateway:
            yield gateway
    finally:
        provider.close()


# A client of each dialect, written from the wire formats (the gateway's code is not used to check itself).


@dataclass
class Reply:
    status: int
    text: str = ""
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (id, name, arguments)
    finish: str | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None
    raw: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def _sse(raw: str) -> Iterator[tuple[str, dict[str, Any] | str]]:
    for block in raw.split("\n\n"):
        event, data = "", []
        for line in block.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            joined = "\n".join(data)
            yield event, (joined if joined == "[DONE]" else json.loads(joined))


def chat_body(conversation: int, stream: bool, **extra: Any) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You fix code."},
        {"role": "user", "content": "Fix the typo in greet.py"},
    ]
    if conversation > 1:
        messages += [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "edit", "arguments": json.dumps(EDIT_ARGS)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": "edited greet.py"},
        ]
    tools = [
        {"type": "function", "function": {"name": "edit", "description": "Edit a file", "parameters": EDIT_SCHEMA}}
    ]
    body = {"model": "anything", "messages": messages, "tools": tools, "stream": stream, **extra}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def responses_body(conversation: int, stream: bool, **extra: Any) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the typo in greet.py"}]}
    ]
    if conversation > 1:
        items += [
            {"type": "reasoning", "summary": []},
            {"type": "function_call", "call_id": "call_a", "name": "edit", "arguments": json.dumps(EDIT_ARGS)},
            {"type": "function_call_output", "call_id": "call_a", "output": "edited greet.py"},
        ]
    tools = [
        {"type": "function", "name": "edit", "description": "Edit a file", "parameters": EDIT_SCHEMA, "strict": False},
        {"type": "web_search"},
    ]
    return {
        "model": "anything",
        "instructions": "You fix code.",
        "input": items,
        "tools": tools,
        "stream": stream,
        **extra,
    }


def anthropic_body(conversation: int, stream: bool, **extra: Any) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Fix the typo in greet.py"}]
    if conversation > 1:
        messages += [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_a", "name": "edit", "input": EDIT_ARGS}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_a", "content": "edited greet.py"}],
            },
        ]
    tools = [{"name": "edit", "description": "Edit a file", "input_schema": EDIT_SCHEMA}]
    body = {"model": "anything", "system": [{"type": "text", "text": "You fix code."}], "messages": messages}
    return {**body, "tools": tools, "max_tokens": 32000, "stream": stream, **extra}


BODIES = {"openai-chat": chat_body, "openai-responses": responses_body, "anthropic": anthropic_body}


def send(
    gateway: Gateway, dialect: str, body: dict[str, Any], *, token: str | None = None, timeout: float = 30
) -> Reply:
    """POST ``body`` in ``dialect`` with the run's token (or ``token``) and read the reply as a client does."""
    key = gateway.token if token is None else token
    if dialect == "anthropic":
        url, headers = gateway.anthropic_base_url + "/v1/messages?beta=true", {"x-api-key": key}
    else:
        path = "/chat/completions" if dialect == "openai-chat" else "/responses"
        url, headers = gateway.openai_base_url + path, {"authorization": f"Bearer {key}"}
    if not key:
        headers = {}
    response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    reply = Reply(status=response.status_code, raw=response.text, headers=dict(response.headers))
    if response.status_code != 200:
        reply.error = response.text
        return reply
    if not body.get("stream"):
        read_whole(dialect, response.json(), reply)
    else:
        read_stream(dialect, response.text, reply)
    return reply


def read_whole(dialect: str, data: dict[str, Any], reply: Reply) -> None:
    if dialect == "openai-chat":
        choice = data["choices"][0]
        reply.text = choice["message"].get("content") or ""
        for c in choice["message"].get("tool_calls") or []:
            reply.calls.append((c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])))
        reply.finish, reply.usage = choice["finish_reason"], data.get("usage")
    elif dialect == "openai-responses":
        for item in data["output"]:
            if item["type"] == "message":
                reply.text += "".join(p["text"] for p in item["content"])
            elif item["type"] == "function_call":
                reply.calls.append((item["call_id"], item["name"], json.loads(item["arguments"])))
        reply.finish = data["status"] if data["status"] != "completed" else "stop"
        reply.usage = data.get("usage")
    else:
        for block in data["content"]:
            if block["type"] == "text":
                reply.text += block["text"]
            elif block["type"] == "tool_use":
                reply.calls.append((block["id"], block["name"], block["input"]))
        reply.finish, reply.usage = data["stop_reason"], data["usage"]


def read_stream(dialect: str, raw: str, reply: Reply) -> None:
    events = list(_sse(raw))
    if dialect == "openai-chat":
        partial: dict[int, dict[str, Any]] = {}
        done = False
        for _, data in events:
            if data == "[DONE]":
                done = True
                continue
            assert isinstance(data, dict)
            if "error" in data:
                reply.error = json.dumps(data["error"])
                continue
            for choice in data["choices"]:
                reply.text += choice["delta"].get("content") or ""
                for fragment in choice["delta"].get("tool_calls") or []:
                    entry = partial.setdefault(fragment["index"], {"id": None, "name": "", "arguments": ""})
                    entry["id"] = fragment.get("id") or entry["id"]
                    entry["name"] += fragment.get("function", {}).get("name") or ""
                    entry["arguments"] += fragment.get("function", {}).get("arguments") or ""
                reply.finish = choice.get("finish_reason") or reply.finish
            if data.get("usage"):
                reply.usage = data["usage"]
        reply.calls = [(c["id"], c["name"], json.loads(c["arguments"])) for _, c in sorted(partial.items())]
        if not done and reply.error is None:
            reply.error = "no [DONE]"
    elif dialect == "openai-responses":
        numbers = []
        done_ids = []
        completed = False
        for name, data in events:
            assert isinstance(data, dict) and data["type"] == name
            numbers.append(data["sequence_number"])
            if name == "response.output_text.delta":
                reply.text += data["delta"]
            elif name == "response.output_item.done":
                done_ids.append(data["item"]["id"])
                item = data["item"]
                if item["type"] == "function_call":
                    reply.calls.append((item["call_id"], item["name"], json.loads(item["arguments"])))
            elif name == "response.completed":
                completed = True
                assert [item["id"] for item in data["response"]["output"]] == done_ids  # the same items, in order
                status = data["response"]["status"]
                reply.finish = "stop" if status == "completed" else status
                reply.usage = data["response"]["usage"]
            elif name == "response.failed":
                reply.error = json.dumps(data["response"]["error"])
        assert numbers == sorted(numbers), "sequence numbers out of order"
        if not completed and reply.error is None:
            reply.error = "no response.completed"
    else:
        blocks: dict[int, dict[str, Any]] = {}
        stopped = False
        for name, data in events:
            assert isinstance(data, dict)
            if name == "content_block_start":
                blocks[data["index"]] = {**data["content_block"], "json": ""}
            elif name == "content_block_delta":
                delta = data["delta"]
                if delta["type"] == "text_delta":
                    reply.text += delta["text"]
                else:
                    blocks[data["index"]]["json"] += delta["partial_json"]
            elif name == "content_block_stop":
                block = blocks[data["index"]]
                if block["type"] == "tool_use":
                    reply.calls.append((block["id"], block["name"], json.loads(block["json"])))
            elif name == "message_delta":
                reply.finish, reply.usage = data["delta"]["stop_reason"], data["usage"]
            elif name == "message_stop":
                stopped = True
            elif name == "error":
                reply.error = json.dumps(data["error"])
        if not stopped and reply.error is None:
            reply.error = "no message_stop"


TOOL_FINISH = {"openai-chat": "tool_calls", "openai-responses": "stop", "anthropic": "tool_use"}
TEXT_FINISH = {"openai-chat": "stop", "openai-responses": "stop", "anthropic": "end_turn"}


def edit_then_done() -> AgentScript:
    return AgentScript(turn=by_tool_results(call("edit", say="I will fix it.", **EDIT_ARGS), text("Fixed the typo.")))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("upstream", UPSTREAMS)
@pytest.mark.parametrize("client", CLIENTS)
def test_a_tool_call_round_trip_in_every_dialect_through_every_upstream(
    client: str, upstream: str, stream: bool
) -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for(upstream, server.url)) as gateway:
        first = send(gateway, client, BODIES[client](1, stream))
        assert first.error is None, first.raw
        assert first.text == "I will fix it."
        assert [(name, args) for _, name, args in first.calls] == [("edit", EDIT_ARGS)]
        assert first.finish == TOOL_FINISH[client]
        second = send(gateway, client, BODIES[client](2, stream))
        assert second.error is None, second.raw
        assert (second.text, second.calls, second.finish) == ("Fixed the typo.", [], TEXT_FINISH[client])
        recorded = server.recorded()
        # The upstream was spoken to in its own dialect, always streaming, and saw the tool result.
        expected = "/v1/messages" if upstream == "anthropic" else "/v1/chat/completions"
        assert [r.path for r in recorded] == [expected, expected]
        assert all(r.body["stream"] is True and r.model == "m" for r in recorded)
        blob = json.dumps(recorded[1].body)
        assert "edited greet.py" in blob and "Helo" in blob
        # The figures are the upstream's own.
        usage = gateway.usage()
        assert usage.requests == usage.completed == 2
        assert usage.prompt_tokens == sum(r["prompt_tokens"] for r in server.reported)
        assert usage.completion_tokens == sum(r["completion_tokens"] for r in server.reported)
        assert usage.tool_calls == 1 and usage.repaired_tool_calls == 0 and usage.errors == {}
        assert usage.ttft_s is not None and 0 < usage.ttft_s < 5


def test_the_client_is_told_the_upstreams_counts_in_its_own_dialect() -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        chat = send(gateway, "openai-chat", chat_body(1, True))
        responses = send(gateway, "openai-responses", responses_body(1, False))
        anthropic = send(gateway, "anthropic", anthropic_body(1, True))
    reported = server.reported
    assert chat.usage is not None and chat.usage["prompt_tokens"] == reported[0]["prompt_tokens"]
    assert responses.usage is not None and responses.usage["output_tokens"] == reported[1]["completion_tokens"]
    assert anthropic.usage is not None and anthropic.usage["input_tokens"] == reported[2]["prompt_tokens"]


def test_translation_carries_the_conversation_into_the_other_dialect() -> None:
    """Responses in, Anthropic out: instructions become system, function calls tool_use, outputs tool_result."""
    with (
        ScriptedAgentServer({"m": edit_then_done()}) as server,
        gateway_for(spec_for("anthropic", server.url)) as gateway,
    ):
        assert send(gateway, "openai-responses", responses_body(2, False)).error is None
    body = server.recorded()[0].body
    assert body["system"] == "You fix code."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    tool_use = body["messages"][1]["content"][0]
    assert tool_use == {"type": "tool_use", "id": "call_a", "name": "edit", "input": EDIT_ARGS}
    assert body["messages"][2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "call_a",
        "content": "edited greet.py",
    }
    assert [t["name"] for t in body["tools"]] == ["edit"]  # web_search has no equivalent: not offered
    assert body["tools"][0]["input_schema"] == EDIT_SCHEMA


# Keys and tokens


def test_only_the_runs_token_is_accepted_and_nothing_is_forwarded_otherwise() -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        for client in CLIENTS:
            for token in ("", "wrong", CANARY, gateway.token + "x"):
                reply = send(gateway, client, BODIES[client](1, False), token=token)
                assert reply.status == 401, (client, token)
        models = httpx.get(gateway.openai_base_url + "/models", headers={"authorization": "Bearer nope"})
        assert models.status_code == 401
        assert server.recorded() == []
        assert gateway.usage().rejected == 13 and gateway.usage().requests == 0
        listed = httpx.get(gateway.openai_base_url + "/models", headers={"authorization": f"Bearer {gateway.token}"})
        assert [m["id"] for m in listed.json()["data"]] == [gateway.model_name]
        assert httpx.head(gateway.anthropic_base_url + "/").status_code == 200


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
def test_the_real_key_goes_upstream_only_and_never_back_to_the_client(upstream: str) -> None:
    replies: list[Reply] = []
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for(upstream, server.url)) as gateway:
        for client in CLIENTS:
            for stream in (False, True):
                replies.append(send(gateway, client, BODIES[client](1, stream)))
        usage = gateway.usage()
    seen = [r.headers for r in server.recorded()]
    assert all(CANARY in (h.get("authorization", "") + h.get("x-api-key", "")) for h in seen)
    assert all(gateway.token not in json.dumps(h) for h in seen)  # the run's token stops at the gateway
    for reply in replies:
        assert reply.error is None and CANARY not in reply.raw and CANARY not in json.dumps(reply.headers)
    assert CANARY not in repr(usage)


@pytest.mark.parametrize("client", CLIENTS)
def test_an_upstream_error_that_quotes_the_key_reaches_the_client_without_it(client: str) -> None:
    """A careless proxy echoes the request headers in its error; the canary is not registered as a secret."""
    script = scripted.Script(reply=scripted.fixed("hi"), echo_headers_status=400)
    with scripted.ScriptedOpenAI({"m": script}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        reply = send(gateway, client, BODIES[client](1, False))
    assert reply.status == 400
    assert "rejected request with headers" in reply.raw and CANARY not in reply.raw


# The output cap


@pytest.mark.parametrize(
    ("client", "asked", "sent"),
    [
        ("openai-chat", {"max_tokens": 32000}, ("max_tokens", 256)),
        ("openai-chat", {"max_tokens": 10}, ("max_tokens", 10)),
        ("openai-chat", {}, ("max_tokens", 256)),
        ("openai-chat", {"max_completion_tokens": 5000}, ("max_completion_tokens", 256)),
        ("openai-responses", {}, ("max_tokens", 256)),
        ("openai-responses", {"max_output_tokens": 100000}, ("max_tokens", 256)),
        ("anthropic", {"max_tokens": 32000}, ("max_tokens", 256)),
        ("anthropic", {"max_tokens": 64}, ("max_tokens", 64)),
    ],
)
@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
def test_the_output_cap_holds_whatever_the_client_asks(
    client: str, asked: dict[str, int], sent: tuple[str, int], upstream: str
) -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for(upstream, server.url)) as gateway:
        body = BODIES[client](1, False)
        body.pop("max_tokens", None)
        assert send(gateway, client, {**body, **asked}).error is None
    received = server.recorded()[0].body
    key, value = sent if upstream == "openai" else ("max_tokens", sent[1])
    assert received[key] == value
    limits = {k: received[k] for k in ("max_tokens", "max_completion_tokens", "max_output_tokens") if k in received}
    assert limits == {key: value}


def test_a_reply_cut_at_the_cap_counts_as_truncated() -> None:
    long = AgentScript(turn=turns(text("word " * 200)), chunk_size=5, honour_max_tokens=True)
    with (
        ScriptedAgentServer({"m": long}) as server,
        gateway_for(spec_for("openai", server.url), output_cap=7) as gateway,
    ):
        chat = send(gateway, "openai-chat", chat_body(1, True))
        codex = send(gateway, "openai-responses", responses_body(1, True))
        claude = send(gateway, "anthropic", anthropic_body(1, False))
        usage = gateway.usage()
    assert chat.finish == "length" and len(chat.text) == 35
    assert codex.finish == "incomplete" and codex.error is None  # still response.completed: Codex would retry
    assert claude.finish == "max_tokens"
    assert usage.truncated_replies == 3


# Deadline, cancel, dead upstreams: the client always gets an answer, quickly


@pytest.mark.parametrize("client", CLIENTS)
def test_a_request_after_the_deadline_is_refused_at_once(client: str) -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server:
        with gateway_for(spec_for("openai", server.url), deadline=time.monotonic() - 1) as gateway:
            started = time.monotonic()
            reply = send(gateway, client, BODIES[client](1, True))
            elapsed = time.monotonic() - started
            usage = gateway.usage()
        assert server.recorded() == []
    assert reply.status == 504 and reply.headers.get("x-should-retry") == "false"
    assert elapsed < 1.0
    assert usage.errors == {"timeout": 1} and usage.last_error_kind == "timeout"


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_in_flight_is_cut_at_the_deadline(stream: bool) -> None:
    slow = AgentScript(turn=turns(text("late")), first_byte_delay_s=20)
    with (
        ScriptedAgentServer({"m": slow}) as server,
        gateway_for(spec_for("openai", server.url), deadline=time.monotonic() + 0.6) as gateway,
    ):
        started = time.monotonic()
        reply = send(gateway, "openai-chat", chat_body(1, stream))
        elapsed = time.monotonic() - started
    assert reply.status == 504
    assert elapsed < 3.0


def test_cancel_ends_a_request_in_flight() -> None:
    cancel = threading.Event()
    slow = AgentScript(turn=turns(text("late")), first_byte_delay_s=20)
    with (
        ScriptedAgentServer({"m": slow}) as server,
        gateway_for(spec_for("openai", server.url), cancel=cancel) as gateway,
    ):
        threading.Timer(0.3, cancel.set).start()
        started = time.monotonic()
        reply = send(gateway, "anthropic", anthropic_body(1, True))
        elapsed = time.monotonic() - started
        after = send(gateway, "openai-chat", chat_body(1, False))
    assert reply.status == 503 and after.status == 503
    assert elapsed < 3.0


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("client", CLIENTS)
def test_a_dead_upstream_fails_fast_and_stays_failed(client: str) -> None:
    spec = spec_for("openai", f"http://127.0.0.1:{_closed_port()}")
    # The default policy's retries: what a real run waits before giving up on a server.
    with gateway_for(spec, policy=RetryPolicy()) as gateway:
        started = time.monotonic()
        first = send(gateway, client, BODIES[client](1, True))
        first_s = time.monotonic() - started
        started = time.monotonic()
        again = send(gateway, client, BODIES[client](1, False))
        again_s = time.monotonic() - started
        usage = gateway.usage()
    assert (first.status, again.status) == (502, 424)
    assert first.headers.get("x-should-retry") == "false"
    assert "unreachable" in first.raw and "not sent again" in again.raw
    assert first_s < 10.0  # four retries with backoff, about 5 s
    assert again_s < 0.5
    assert usage.upstream_attempts == RetryPolicy().max_retries + 1
    assert usage.errors["unreachable"] == RetryPolicy().max_retries + 2 and usage.completed == 0
    assert usage.prompt_tokens is None and usage.cost_usd is None


def test_request_slots_bound_the_upstream_and_the_wait_is_queue_time() -> None:
    slots = threading.Semaphore(1)
    slots.acquire()
    released: list[float] = []

    def release() -> None:
        released.append(time.monotonic())
        slots.release()

    with (
        ScriptedAgentServer({"m": edit_then_done()}) as server,
        gateway_for(spec_for("openai", server.url), request_slots=slots) as gateway,
    ):
        threading.Timer(0.8, release).start()
        sent = time.monotonic()
        reply = send(gateway, "openai-chat", chat_body(1, False))
        usage = gateway.usage()
    assert reply.error is None
    # The request reached the server only once the slot was free, and the wait was counted as queueing.
    assert server.attempt_times["m"][0] >= released[0]
    assert 0 < usage.queue_time_s <= released[0] - sent + 0.05
    assert usage.model_time_s < usage.queue_time_s  # the wait is not the model's time
    assert slots.acquire(blocking=False)  # the gateway gave its slot back


# Faults through the gateway: retried as the providers retry, or passed on typed


@pytest.mark.parametrize("client", CLIENTS)
def test_a_429_then_a_503_are_retried_unseen(client: str) -> None:
    script = edit_then_done()
    script.failures = {1: (429, {"retry-after": "0"}, "slow down"), 2: (503, {}, "busy")}
    with ScriptedAgentServer({"m": script}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        reply = send(gateway, client, BODIES[client](1, True))
        usage = gateway.usage()
    assert reply.error is None and reply.calls
    assert server.attempts["m"] == 3
    assert usage.errors == {"rate_limited": 1, "server_error": 1} and usage.upstream_attempts == 3


@pytest.mark.parametrize(("status", "kind", "answered"), [(500, "server_error", 502), (429, "rate_limited", 429)])
def test_a_failure_that_outlasts_the_retries_reaches_the_client_typed(status: int, kind: str, answered: int) -> None:
    script = scripted.Script(reply=scripted.fixed("hi"), failures=scripted.always(status, "no"))
    with scripted.ScriptedAnthropic({"m": script}) as server, gateway_for(spec_for("anthropic", server.url)) as gateway:
        reply = send(gateway, "openai-responses", responses_body(1, False))
        usage = gateway.usage()
    assert reply.status == answered and reply.headers["x-should-retry"] == "false"
    assert json.loads(reply.raw)["error"]["code"] == kind
    assert server.attempts["m"] == FAST.max_retries + 1
    assert usage.errors == {kind: FAST.max_retries + 1}


def test_a_stream_cut_before_anything_reached_the_client_is_retried() -> None:
    script = edit_then_done()
    script.cut_after_chunks = {1: 1}
    with ScriptedAgentServer({"m": script}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        reply = send(gateway, "anthropic", anthropic_body(1, False))
        usage = gateway.usage()
    assert reply.error is None and reply.text == "I will fix it."
    assert server.attempts["m"] == 2 and usage.errors == {"server_error": 1}


@pytest.mark.parametrize("client", CLIENTS)
def test_a_stream_cut_after_the_client_has_text_ends_in_the_dialects_error(client: str) -> None:
    script = scripted.Script(reply=scripted.fixed("a long answer " * 10), chunk_size=4, cut_after_chunks={1: 5})
    with scripted.ScriptedOpenAI({"m": script}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        reply = send(gateway, client, BODIES[client](1, True))
        usage = gateway.usage()
    assert reply.status == 200 and reply.text == "a long answer a long"
    assert reply.error is not None and "server_error" in reply.error
    assert server.attempts["m"] == 1  # half an answer was out: no retry
    assert usage.completed == 0 and usage.last_error_kind == "server_error"


def test_an_anthropic_in_stream_overload_is_retried_and_typed() -> None:
    script = scripted.Script(reply=scripted.fixed("fine"), stream_error_after={1: 0})
    with scripted.ScriptedAnthropic({"m": script}) as server, gateway_for(spec_for("anthropic", server.url)) as gateway:
        reply = send(gateway, "openai-chat", chat_body(1, False))
        usage = gateway.usage()
    assert reply.text == "fine" and server.attempts["m"] == 2
    assert usage.errors == {"server_error": 1}


# Figures


def test_server_timing_wins_and_cost_comes_from_benchtuis_pricing() -> None:
    script = AgentScript(turn=turns(text("x" * 400)), chunk_size=4, timings=True)
    spec = spec_for("openai", "", pricing=Pricing(input_per_mtok=1.0, output_per_mtok=2.0))
    with ScriptedAgentServer({"m": script}) as server:
        spec = spec_for("openai", server.url, pricing=Pricing(input_per_mtok=1.0, output_per_mtok=2.0))
        with gateway_for(spec) as gateway:
            send(gateway, "openai-chat", chat_body(1, True))
            send(gateway, "anthropic", anthropic_body(1, False))
            usage = gateway.usage()
    assert usage.tokens_per_s is not None and usage.tokens_per_s_source == "server"
    prompt = sum(r["prompt_tokens"] for r in server.reported)
    completion = sum(r["completion_tokens"] for r in server.reported)
    assert usage.cost_usd == pytest.approx((prompt * 1.0 + completion * 2.0) / 1e6)


def test_the_runs_rate_and_first_token_time_are_rounded_as_benchtuis_loop_rounds_them() -> None:
    """The CSV holds an assistant run's rate beside the loop's (3 decimals, contestants.tally) and its first
    token time (4): a run of two replies whose rates do not divide evenly is not ``33.08409906904231``."""
    from benchtui.engine.gateway.meter import CallRecord, Meter

    meter = Meter(spec_for("openai", "http://127.0.0.1:9"))
    for tokens, rate, ttft in ((100, 30.0, 0.123456789), (7, 33.3, 0.2)):
        meter.record(
            CallRecord(
                "openai-chat",
                True,
                200,
                1,
                1.0,
                completion_tokens=tokens,
                prompt_tokens=5,
                tokens_per_s=rate,
                tokens_per_s_source="server",
                ttft_s=ttft,
            )
        )
    usage = meter.usage()
    # 107 tokens over 100/30 + 7/33.3 s of decoding = 30.1964... tokens/s.
    assert usage.tokens_per_s == 30.196 and usage.ttft_s == 0.1235


def test_a_figure_the_upstream_did_not_report_is_none() -> None:
    script = AgentScript(turn=turns(text("hello")), usage=False)
    with ScriptedAgentServer({"m": script}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        chat = send(gateway, "openai-chat", chat_body(1, True))
        codex = send(gateway, "openai-responses", responses_body(1, True))
        usage = gateway.usage()
    assert chat.text == codex.text == "hello"
    assert chat.usage is None and codex.usage is None  # no invented zeros for the client either
    assert usage.completed == 2 and usage.prompt_tokens is None and usage.completion_tokens is None
    assert usage.cost_usd is None and usage.tokens_per_s is None


def test_a_run_without_requests_used_nothing() -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for("ollama", server.url)) as gateway:
        usage = gateway.usage()
    assert (usage.requests, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd) == (0, 0, 0, 0.0)


@pytest.mark.parametrize("upstream", ["openai", "anthropic", "embedded"])
def test_the_prompt_cache_is_the_upstreams_own_count_summed_over_the_replies(upstream: str) -> None:
    # Each dialect's own words: usage.prompt_tokens_details.cached_tokens (OpenAI), Anthropic's
    # cache_read_input_tokens, llama.cpp's timings.cache_n and prompt_ms (embedded).
    script = replace(edit_then_done(), cached_tokens=12, timings=upstream == "embedded", prompt_ms=250.0)
    with ScriptedAgentServer({"m": script}) as server, gateway_for(spec_for(upstream, server.url)) as gateway:
        for client, conversation in (("openai-chat", 1), ("openai-responses", 2), ("anthropic", 2)):
            assert send(gateway, client, BODIES[client](conversation, True)).error is None
        usage = gateway.usage()
    assert usage.completed == 3 and usage.cached_prompt_tokens == 36
    # Anthropic's input_tokens leave the cache out; the gateway's prompt tokens put it back, as benchtui's loop.
    assert usage.prompt_tokens == sum(r["prompt_tokens"] for r in server.reported)
    assert usage.prompt_eval_s == (pytest.approx(0.75) if upstream == "embedded" else None)


def test_llama_cpps_timings_alone_give_the_cache_and_the_prompt_time() -> None:
    # An older llama.cpp: no usage at all, its timings on the last chunk say what the cache served.
    script = replace(edit_then_done(), usage=False, timings=True, cached_tokens=40, prompt_ms=120.0)
    with ScriptedAgentServer({"m": script}) as server, gateway_for(spec_for("embedded", server.url)) as gateway:
        send(gateway, "openai-chat", chat_body(1, True))
        send(gateway, "anthropic", anthropic_body(2, False))
        usage = gateway.usage()
    assert usage.cached_prompt_tokens == 80 and usage.prompt_eval_s == pytest.approx(0.24)
    assert usage.prompt_tokens is None


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_an_upstream_that_says_nothing_of_a_cache_leaves_it_none_not_zero(upstream: str) -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for(upstream, server.url)) as gateway:
        send(gateway, "openai-chat", chat_body(1, True))
        send(gateway, "anthropic", anthropic_body(2, False))
        usage = gateway.usage()
    assert usage.completed == 2 and usage.prompt_tokens is not None
    assert usage.cached_prompt_tokens is None and usage.prompt_eval_s is None


def test_a_cache_figure_from_some_replies_is_their_sum() -> None:
    # As benchtui's loop sums them (ReplyTally): over the replies whose server said, the others add nothing.
    script = replace(edit_then_done(), cached_tokens=9)
    with ScriptedAgentServer({"m": script}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        send(gateway, "openai-chat", chat_body(1, False))
        script.cached_tokens = None  # the next reply says nothing of a cache
        send(gateway, "openai-chat", chat_body(2, False))
        usage = gateway.usage()
    assert [c.cached_tokens for c in usage.calls] == [9, None]
    assert usage.completed == 2 and usage.cached_prompt_tokens == 9


# Repairing tool calls written as text


FENCED = '```json\n{"name": "edit", "arguments": {"path": "greet.py", "old": "Helo", "new": "Hello"}}\n```'


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("client", CLIENTS)
def test_a_fenced_call_becomes_a_real_one_when_the_model_needs_it(client: str, stream: bool) -> None:
    script = AgentScript(turn=turns(text(FENCED)), chunk_size=7)
    with ScriptedAgentServer({"m": script}) as server:
        with gateway_for(spec_for("embedded", server.url), repair_tool_calls=True) as gateway:
            repaired = send(gateway, client, BODIES[client](1, stream))
            usage = gateway.usage()
        with gateway_for(spec_for("embedded", server.url)) as gateway:
            plain = send(gateway, client, BODIES[client](1, stream))
            plain_usage = gateway.usage()
    assert repaired.text == "" and [(n, a) for _, n, a in repaired.calls] == [("edit", EDIT_ARGS)]
    assert repaired.finish == TOOL_FINISH[client]
    assert usage.repaired_tool_calls == 1 and usage.tool_calls == 1
    assert plain.text == FENCED and plain.calls == [] and plain_usage.repaired_tool_calls == 0


@pytest.mark.parametrize(
    "written",
    [
        '```json\n{"name": "edit", "arguments": {"path": "greet.py", "old": "Helo"}}\n```',  # a required key missing
        '```json\n{"name": "edit", "arguments": {"path": 3, "old": "Helo", "new": "Hello"}}\n```',  # a wrong type
        '```json\n{"name": "delete", "arguments": {"path": "greet.py"}}\n```',  # no such tool offered
        'I would call ```json\n{"name": "edit", "arguments": {"path": "a", "old": "b", "new": "c"}}\n```',  # prose too
        '```json\n{"name": "edit", "arguments": {"path": "a", "old": "b",\n```',  # not JSON
    ],
)
def test_a_written_call_that_is_not_exactly_a_valid_one_stays_text(written: str) -> None:
    script = AgentScript(turn=turns(text(written)))
    with (
        ScriptedAgentServer({"m": script}) as server,
        gateway_for(spec_for("embedded", server.url), repair_tool_calls=True) as gateway,
    ):
        reply = send(gateway, "openai-chat", chat_body(1, True))
        usage = gateway.usage()
    assert reply.text == written and reply.calls == [] and usage.repaired_tool_calls == 0


def test_the_other_written_forms_are_repaired_too() -> None:
    forms = [
        '<tool_call>\n{"name": "edit", "arguments": {"path": "greet.py", "old": "Helo", "new": "Hello"}}\n</tool_call>',
        '  {"name": "edit", "parameters": {"path": "greet.py", "old": "Helo", "new": "Hello"}}\n',
        '```\n{"function": {"name": "edit", "arguments": "{\\"path\\": \\"greet.py\\", \\"old\\": \\"Helo\\", '
        '\\"new\\": \\"Hello\\"}"}}\n```',
    ]
    script = AgentScript(turn=turns(*map(text, forms)))
    with (
        ScriptedAgentServer({"m": script}) as server,
        gateway_for(spec_for("openai", server.url), repair_tool_calls=True) as gateway,
    ):
        replies = [send(gateway, "anthropic", anthropic_body(1, True)) for _ in forms]
        usage = gateway.usage()
    assert all([(n, a) for _, n, a in r.calls] == [("edit", EDIT_ARGS)] for r in replies), replies
    assert usage.repaired_tool_calls == 3


def test_with_repair_on_prose_still_streams_as_it_comes() -> None:
    script = AgentScript(turn=turns(text("Sure, " + "word " * 50)), chunk_size=5, chunk_delay_s=0.02)
    with (
        ScriptedAgentServer({"m": script}) as server,
        gateway_for(spec_for("openai", server.url), repair_tool_calls=True) as gateway,
    ):
        headers = {"authorization": f"Bearer {gateway.token}"}
        url = gateway.openai_base_url + "/chat/completions"
        started = time.monotonic()
        with httpx.stream("POST", url, json=chat_body(1, True), headers=headers) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if "Sure" in line)
            first_s = time.monotonic() - started
            rest = list(lines)
        total_s = time.monotonic() - started
    assert "Sure" in first and rest
    assert first_s < total_s / 2  # the first words arrived long before the last


def test_a_bad_body_is_refused_and_never_forwarded() -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        headers = {"authorization": f"Bearer {gateway.token}"}
        empty = httpx.post(gateway.openai_base_url + "/chat/completions", json={"messages": []}, headers=headers)
        garbage = httpx.post(gateway.openai_base_url + "/responses", content=b"{nope", headers=headers)
        unknown = httpx.post(gateway.openai_base_url + "/completions", json={}, headers=headers)
        usage = gateway.usage()
    assert (empty.status_code, garbage.status_code, unknown.status_code) == (400, 400, 404)
    assert server.recorded() == []
    assert usage.errors == {"bad_request": 1} and usage.upstream_attempts == 0


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
def test_system_messages_among_claude_codes_turns_become_one_system_text(upstream: str) -> None:
    """Claude Code 2.1 sends a system-role message inside ``messages`` as well as the top-level system."""
    body = anthropic_body(1, False)
    body["messages"] = [*body["messages"], {"role": "system", "content": "Reminder: be brief."}]
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for(upstream, server.url)) as gateway:
        assert send(gateway, "anthropic", body).error is None
    sent = server.recorded()[0].body
    if upstream == "openai":
        assert [m["role"] for m in sent["messages"]] == ["system", "user"]
        assert sent["messages"][0]["content"] == "You fix code.\n\nReminder: be brief."
    else:
        assert [m["role"] for m in sent["messages"]] == ["user"]
        assert sent["system"] == [
            {"type": "text", "text": "You fix code."},
            {"type": "text", "text": "Reminder: be brief."},
        ]


def test_a_client_that_hangs_up_mid_stream_ends_the_upstream_request() -> None:
    script = AgentScript(turn=turns(text("word " * 400)), chunk_size=5, chunk_delay_s=0.05)
    with ScriptedAgentServer({"m": script}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        headers = {"authorization": f"Bearer {gateway.token}"}
        with httpx.stream(
            "POST", gateway.openai_base_url + "/chat/completions", json=chat_body(1, True), headers=headers
        ) as r:
            next(line for line in r.iter_lines() if "word" in line)
        until = time.monotonic() + 5
        while gateway.usage().requests == 0 and time.monotonic() < until:
            time.sleep(0.05)
        usage = gateway.usage()
    assert usage.requests == 1 and usage.completed == 0
    assert usage.last_error_kind == "cancelled" and "closed the connection" in (usage.last_error or "")
    assert time.monotonic() < until  # noticed long before the 20 s the whole reply would take


def test_openai_clients_may_send_the_token_as_x_api_key() -> None:
    with ScriptedAgentServer({"m": edit_then_done()}) as server, gateway_for(spec_for("openai", server.url)) as gateway:
        response = httpx.post(
            gateway.openai_base_url + "/chat/completions",
            json=chat_body(1, False),
            headers={"x-api-key": gateway.token},
        )
    assert response.status_code == 200


def test_the_models_settings_fill_in_what_the_client_left_unset() -> None:
    from types import MappingProxyType

    settings = MappingProxyType({"temperature": 0.1, "seed": 7, "top_k": 20})
    with ScriptedAgentServer({"m": edit_then_done()}) as server:
        with gateway_for(spec_for("openai", server.url, settings=settings)) as gateway:
            send(gateway, "openai-chat", chat_body(1, False, temperature=0.9))
            send(gateway, "openai-responses", responses_body(1, False))
        with gateway_for(spec_for("anthropic", server.url, settings=settings)) as gateway:
            send(gateway, "anthropic", anthropic_body(1, False))
    chat, responses, anthropic = (r.body for r in server.recorded())
    assert (chat["temperature"], chat["seed"]) == (0.9, 7)  # the assistant's own choice stands
    assert (responses["temperature"], responses["seed"]) == (0.1, 7)
    assert (anthropic["temperature"], anthropic["top_k"]) == (0.1, 20) and "seed" not in anthropic
