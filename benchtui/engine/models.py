"""ModelSpec: one model benchtui can run, whichever place it was found (config, Ollama, embedded)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

PROVIDERS = ("ollama", "openai", "anthropic", "embedded")
EDIT_FORMATS = ("diff", "whole")
CATEGORIES = ("fast", "balanced", "powerful", "coding_specialized")
LOCAL_PROVIDERS = ("ollama", "embedded")


@dataclass(frozen=True)
class Pricing:
    """US dollars per million tokens.

    A prompt token is billed at one of three rates: read from the vendor's prompt cache
    (``cached_input_per_mtok``: OpenAI's ``cached_tokens``, Anthropic's ``cache_read_input_tokens``), written
    to it (``cache_write_per_mtok``: Anthropic's ``cache_creation_input_tokens``), or neither
    (``input_per_mtok``). benchtui's prompt count holds all three, so a cache rate left out is a cost not
    known once the server reports such tokens, never the full input rate guessed in its place."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None

    def cost(
        self,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        cached_tokens: int | None = None,
        cache_write_tokens: int | None = None,
    ) -> float | None:
        """The cost of ``prompt_tokens`` (every prompt token, cached and written ones included) and
        ``completion_tokens``; None when a count is missing or a rate the counts need is not set. Linear in
        the counts, so a run priced from its totals costs what its requests priced one by one sum to."""
        if prompt_tokens is None or completion_tokens is None or self.missing_rate(cached_tokens, cache_write_tokens):
            return None
        read, written = cached_tokens or 0, cache_write_tokens or 0
        uncached = prompt_tokens - read - written
        if uncached < 0:
            return None  # the server's counts contradict each other: no figure is honest
        total = (
            uncached * self.input_per_mtok
            + read * (self.cached_input_per_mtok or 0.0)
            + written * (self.cache_write_per_mtok or 0.0)
            + completion_tokens * self.output_per_mtok
        )
        # Nano-dollars: a token at a cached rate costs well under a micro-dollar, and a run priced from its
        # totals must cost what its requests sum to (rounding each to micro-dollars would drift apart).
        return round(total / 1e6, 9)

    def missing_rate(self, cached_tokens: int | None, cache_write_tokens: int | None) -> str | None:
        """Why these cache counts cannot be priced (the first rate they need that is not set); None if they can."""
        if cached_tokens and self.cached_input_per_mtok is None:
            return f"it read {cached_tokens} cached prompt tokens and its pricing has no cached_input_per_mtok"
        if cache_write_tokens and self.cache_write_per_mtok is None:
            return (
                f"it wrote {cache_write_tokens} prompt tokens to the cache and its pricing has no cache_write_per_mtok"
            )
        return None

    def snapshot(self) -> dict[str, float]:
        """What results record; the cache rates only when set, so older snapshots read the same."""
        rates = {"input_per_mtok": self.input_per_mtok, "output_per_mtok": self.output_per_mtok}
        if self.cached_input_per_mtok is not None:
            rates["cached_input_per_mtok"] = self.cached_input_per_mtok
        if self.cache_write_per_mtok is not None:
            rates["cache_write_per_mtok"] = self.cache_write_per_mtok
        return rates


@dataclass(frozen=True)
class Endpoint:
    """One server of a model's pool (docs/SCALE.md): where its requests go, at most how many at once, its key.

    ``api_key`` is the resolved key (never shown, never stored); ``api_key_ref`` what the config wrote
    (``${VAR}``), which snapshots record instead."""

    base_url: str
    concurrency: int | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_ref: str | None = None

    @property
    def label(self) -> str:
        """What results and reports call the endpoint: ``host:port`` and its path, never a password or query."""
        return endpoint_label_of(self.base_url)


def endpoint_label_of(base_url: str) -> str:
    """``http://user:pw@gpu1:8000/v1?x=1`` -> ``gpu1:8000/v1``: the host, its port and the path only."""
    parts = urlsplit(base_url.rstrip("/"))
    if not parts.netloc:
        return base_url.rstrip("/")
    host = parts.netloc.rsplit("@", 1)[-1]
    return host + parts.path


@dataclass(frozen=True)
class ModelSpec:
    """A model as the engine sees it.

    ``key`` is the stable name used on the command line, in result file names and in reports;
    ``name`` is what is sent to the server. Several specs may share a ``name`` with different keys
    (contestants: the same model with other settings or edit formats).

    ``context`` and ``threads`` are an embedded model's server settings (context tokens of each of its
    slots, CPU threads; ``threads`` None: the ``embedded:`` default); None for every other provider.

    ``assistant`` names the real coding assistant that plays the model (``aider``, ``claude-code``, ...:
    see engine/assistants/pairs.py, which makes such a pair with the key ``assistant · model``); None for
    benchtui's own edit loop, whose specs keep their plain keys. ``assistant_version`` is the installed
    version and ``assistant_options`` its ``assistants:`` config section: both decide the run, so both
    enter the fingerprint.
    """

    key: str
    name: str
    provider: str
    display_name: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_ref: str | None = None
    settings: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    pricing: Pricing | None = None
    edit_format: str = "diff"
    categories: tuple[str, ...] = ()
    available: bool = True
    unavailable_reason: str | None = None
    details: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    concurrency: int | None = None
    source: str = "config"
    context: int | None = None
    threads: int | None = None
    gguf: str | None = None
    """An embedded model given by path (``gguf: PATH`` in the config): the GGUF file its server loads."""
    assistant: str | None = None
    assistant_version: str | None = None
    assistant_options: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    model_key: str | None = None  # an assistant pair's: the key of the model it plays (None: ``key``)
    # The gateway turns tool calls this model writes as text into real ones (engine/gateway/repair.py).
    repair_tool_calls: bool = False
    # A model served by several endpoints (docs/SCALE.md): every one of them, the first being the one
    # ``base_url``, ``api_key`` and ``concurrency`` describe. Empty: the one endpoint those fields give.
    pool: tuple[Endpoint, ...] = ()

    @property
    def is_local(self) -> bool:
        return self.provider in LOCAL_PROVIDERS

    @property
    def endpoint(self) -> str:
        """The server this model's requests go to; concurrency is limited per endpoint."""
        if self.provider == "embedded":
            return f"embedded/{self.name}"
        return (self.base_url or self.provider).rstrip("/")

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """The endpoints that serve this model: its pool, else the one its fields describe."""
        if self.pool:
            return self.pool
        # An embedded model's one endpoint is its server, named ``embedded/<model>`` (its port is known
        # only once benchtui starts it).
        return (Endpoint(self.endpoint, self.concurrency, self.api_key, self.api_key_ref),)

    def at(self, endpoint: Endpoint | None) -> ModelSpec:
        """The model as one endpoint of its pool serves it (what a provider for that endpoint is built from).

        The fingerprint stays the pool's (``base_url`` is the pool's first endpoint in it): which endpoint
        serves a run does not change what the run is, so resume works across endpoints."""
        if endpoint is None or not self.pool:
            return self
        return replace(
            self,
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            api_key_ref=endpoint.api_key_ref,
            concurrency=endpoint.concurrency,
            pool=(),
        )

    @property
    def file_stem(self) -> str:
        """A file-name-safe form of the key (``ollama/llama3`` -> ``ollama_llama3``)."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.key).strip("._") or "model"

    def cost(
        self,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        cached_tokens: int | None = None,
        cache_write_tokens: int | None = None,
    ) -> float | None:
        """Cost in USD: priced models by their price (``Pricing.cost``), local ones 0 unless priced, others
        unknown. ``cached_tokens`` and ``cache_write_tokens`` are the parts of ``prompt_tokens`` the server
        read from and wrote to its prompt cache (None: it did not say, and every prompt token is plain input)."""
        if self.pricing is not None:
            return self.pricing.cost(prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens)
        return 0.0 if self.is_local else None

    def cost_unknown(self, cached_tokens: int | None, cache_write_tokens: int | None) -> str | None:
        """Why ``cost`` is None for these cache counts although the model is priced; None otherwise."""
        if self.pricing is None:
            return None
        why = self.pricing.missing_rate(cached_tokens, cache_write_tokens)
        if why is None:
            return None
        return f"cost of {self.key} not known: {why} (set it from the vendor's price page in models_config.yaml)"

    def snapshot(self) -> dict[str, Any]:
        """What results and reports record about the model. Never the resolved key, only its reference."""
        snapshot: dict[str, Any] = {
            "key": self.key,
            "name": self.name,
            "provider": self.provider,
            "display_name": self.display_name,
            "base_url": self.base_url,
            "api_key": self.api_key_ref,
            "settings": dict(self.settings),
            "pricing": None if self.pricing is None else self.pricing.snapshot(),
            "edit_format": self.edit_format,
            "categories": list(self.categories),
            "details": dict(self.details),
            "source": self.source,
        }
        if self.provider == "embedded":
            snapshot["context"] = self.context
            snapshot["threads"] = self.threads
            if self.gguf is not None:
                snapshot["gguf"] = self.gguf
        if self.assistant is not None:
            snapshot["assistant"] = self.assistant
            snapshot["assistant_version"] = self.assistant_version
            snapshot["assistant_options"] = dict(self.assistant_options)
            snapshot["model_key"] = self.model_key
        if self.repair_tool_calls:
            snapshot["repair_tool_calls"] = True
        if self.pool:
            snapshot["endpoints"] = [
                {"base_url": e.base_url, "concurrency": e.concurrency, "api_key": e.api_key_ref} for e in self.pool
            ]
        return snapshot

    def fingerprint(self) -> str:
        """Hash of what decides the model's behaviour: provider, model, endpoint, settings, edit format."""
        identity = {
            "provider": self.provider,
            "name": self.name,
            "base_url": self.base_url,
            "settings": dict(self.settings),
            "edit_format": self.edit_format,
            "digest": self.details.get("digest"),
        }
        if self.context is not None:
            # Only set for embedded models, so every other model's fingerprint (and resume) is unchanged.
            identity["context"] = self.context
        if self.gguf is not None:
            # Another file at the same path is another model; the size tells most replacements apart
            # without reading gigabytes (the header's figures are in details, the weights are not hashed).
            identity["gguf"] = self.gguf
            identity["gguf_size"] = self.details.get("size_bytes")
        if self.repair_tool_calls:
            identity["repair_tool_calls"] = True
        if self.assistant is not None:
            # Only for assistant pairs, so the built-in loop's fingerprints (and resume) are unchanged.
            identity["assistant"] = self.assistant
            identity["assistant_version"] = self.assistant_version
            identity["assistant_options"] = dict(self.assistant_options)
            from benchtui.engine.assistants import texts  # stdlib only; no cycle

            identity["assistant_texts"] = texts.digest()
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
