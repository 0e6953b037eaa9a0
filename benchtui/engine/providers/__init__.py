"""Model providers: one small class per wire dialect over one shared retry layer."""

from __future__ import annotations

from benchtui.engine.providers.base import (
    ChatMessage,
    ChatReply,
    Provider,
    ProviderError,
    RetryPolicy,
    TokenCallback,
)
from benchtui.engine.providers.registry import make_provider

__all__ = [
    "ChatMessage",
    "ChatReply",
    "Provider",
    "ProviderError",
    "RetryPolicy",
    "TokenCallback",
    "make_provider",
]
