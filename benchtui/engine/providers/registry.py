"""Which Provider class speaks to which kind of model."""

from __future__ import annotations

from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.anthropic import AnthropicProvider
from benchtui.engine.providers.base import Provider, RetryPolicy
from benchtui.engine.providers.ollama import OllamaProvider
from benchtui.engine.providers.openai import OpenAIProvider

_DIALECTS: dict[str, type[Provider]] = {
    "ollama": OllamaProvider,
    "openai": OpenAIProvider,
    "anthropic": AnthropicProvider,
    # benchtui serves embedded models itself with llama.cpp, which speaks the OpenAI dialect.
    "embedded": OpenAIProvider,
}


def make_provider(spec: ModelSpec, *, base_url: str | None = None, policy: RetryPolicy | None = None) -> Provider:
    """A provider for ``spec``; ``base_url`` overrides the spec's (embedded servers get theirs at start)."""
    try:
        cls = _DIALECTS[spec.provider]
    except KeyError:
        raise ValueError(f"no provider speaks {spec.provider!r}") from None
    url = base_url or spec.base_url
    if url is None:
        raise ValueError(f"model {spec.key!r} has no base_url")
    return cls(spec, base_url=url, policy=policy)
