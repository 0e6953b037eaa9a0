"""What each endpoint gets: how many requests at once a batch sends it, why, and what the batch calls it.

An endpoint is never sent more requests at once than it serves (an embedded server's slots, Ollama's
configured parallelism): a request queued inside the server would count as the model's time.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from benchtui.engine import embedded
from benchtui.engine.models import ModelSpec

CLOUD_CONCURRENCY = 4
# Ollama's documented default: OLLAMA_NUM_PARALLEL is "the maximum number of parallel requests each model
# will process at the same time, default 1" (Ollama FAQ). A server started with more says so only in its own
# environment, which benchtui cannot see: `concurrency:` in models_config.yaml tells it.
OLLAMA_DEFAULT_PARALLEL = 1


def endpoint_capacity(model: ModelSpec) -> tuple[int | None, str]:
    """How many requests the model's server serves at once (None: no known limit), and what says so."""
    configured = model.concurrency
    if model.provider == "embedded":
        slots = embedded.SLOTS_PER_SERVER
        if configured is not None and configured < slots:
            return configured, f"concurrency: {configured} in models_config.yaml"
        return slots, "it has one slot" if slots == 1 else f"it has {slots} slots"
    if configured is not None:
        return configured, f"concurrency: {configured} in models_config.yaml"
    if model.provider == "ollama":
        return OLLAMA_DEFAULT_PARALLEL, (
            f"Ollama serves {OLLAMA_DEFAULT_PARALLEL} request per model by default "
            "(OLLAMA_NUM_PARALLEL); for a server that serves more, set ollama: "
            "{concurrency: N} in models_config.yaml"
        )
    return None, ""


def endpoint_concurrency(model: ModelSpec, parallel: int | None) -> tuple[int, str]:
    """The requests at once the batch sends the model's endpoint, and why (said at the batch's start)."""
    if parallel is None:
        return 1, "one run at a time for the whole batch (no --parallel)"
    capacity, why = endpoint_capacity(model)
    if parallel > 0:
        if capacity is not None and capacity < parallel:
            return max(capacity, 1), f"{why} (--parallel asked for {parallel})"
        return parallel, f"--parallel {parallel}"
    if capacity is not None:
        return max(capacity, 1), why
    return CLOUD_CONCURRENCY, "the --parallel default for cloud endpoints"


def endpoint_limit(model: ModelSpec, parallel: int | None) -> int:
    return endpoint_concurrency(model, parallel)[0]


def endpoint_label(model: ModelSpec) -> str:
    """The endpoint as the batch-start line names it: ``embedded smollm2-135m``, ``api.openai.com/v1``."""
    if model.provider == "embedded":
        return f"embedded {model.name}"
    if model.provider == "ollama":
        return f"Ollama at {model.endpoint}"
    parts = urlsplit(model.endpoint)
    return (parts.netloc + parts.path) if parts.netloc else model.endpoint
