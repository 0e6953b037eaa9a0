"""What each endpoint gets: how many requests at once a batch sends it, why, and what the batch calls it.

An endpoint is never sent more requests at once than it serves (Ollama's configured parallelism): a
request queued inside the server would count as the model's time. An embedded server is started by
benchtui for the batch, so it is given as many slots as the batch sends it requests at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from benchtui.engine import embedded
from benchtui.engine.models import Endpoint, ModelSpec

CLOUD_CONCURRENCY = 4
# Ollama's documented default: OLLAMA_NUM_PARALLEL is "the maximum number of parallel requests each model
# will process at the same time, default 1" (Ollama FAQ). A server started with more says so only in its own
# environment, which benchtui cannot see: `concurrency:` in models_config.yaml tells it.
OLLAMA_DEFAULT_PARALLEL = 1


def endpoint_capacity(model: ModelSpec) -> tuple[int | None, str]:
    """How many requests the model's server serves at once (None: no known limit), and what says so.

    Not for embedded models: their servers get as many slots as the batch asks (:func:`embedded_slots`)."""
    configured = model.concurrency
    if configured is not None:
        return configured, f"concurrency: {configured} in models_config.yaml"
    if model.provider == "ollama":
        return OLLAMA_DEFAULT_PARALLEL, (
            f"Ollama serves {OLLAMA_DEFAULT_PARALLEL} request per model by default "
            "(OLLAMA_NUM_PARALLEL); for a server that serves more, set ollama: "
            "{concurrency: N} in models_config.yaml"
        )
    return None, ""


def embedded_slots(model: ModelSpec, parallel: int) -> tuple[int, str]:
    """The slots an embedded model's server gets for a batch run with ``--parallel`` (0: no number), and why.

    benchtui starts that server itself, so it gets the slots the batch asks for: ``--parallel N``, else the
    measured default (:data:`embedded.DEFAULT_SLOTS`), lowered by the entry's ``concurrency:`` and by
    what fits in memory (:func:`embedded.slots_within_memory`)."""
    wanted = parallel if parallel > 0 else embedded.DEFAULT_SLOTS
    why = f"--parallel {parallel}" if parallel > 0 else "the --parallel default for an embedded server"
    if model.concurrency is not None and model.concurrency < wanted:
        wanted, why = model.concurrency, f"concurrency: {model.concurrency} in models_config.yaml"
    size = model.details.get("size_bytes")
    kv = model.details.get("kv_bytes_per_token")
    slots, bound = embedded.slots_within_memory(
        wanted,
        context=model.context or embedded.DEFAULT_CONTEXT,
        kv_bytes_per_token=kv if isinstance(kv, int) else None,
        model_bytes=size if isinstance(size, int) else None,
    )
    if bound is not None:
        why = f"{why}, but {bound}"
    return slots, f"{why}: its server has {slots} slot{'s' if slots > 1 else ''}"


def endpoint_concurrency(model: ModelSpec, parallel: int | None) -> tuple[int, str]:
    """The requests at once the batch sends the model's endpoint, and why (said at the batch's start)."""
    if parallel is None:
        return 1, "one run at a time for the whole batch (no --parallel)"
    if model.provider == "embedded":
        return embedded_slots(model, parallel)
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


def lane_concurrency(
    models: Iterable[ModelSpec], endpoint: Endpoint | None, parallel: int | None
) -> tuple[int, str, bool]:
    """The requests at once a batch sends one endpoint serving ``models`` (each as that endpoint of its pool
    serves it; models sharing an endpoint share its smallest limit), the batch-start line saying why, and
    whether the endpoint is a local server. ``endpoint`` None: the one lane of a batch without --parallel."""
    served = list(models)
    if endpoint is None:
        return 1, "One run at a time for the whole batch (no --parallel)", False
    best: tuple[int, str] | None = None
    for model in served:
        at = model.at(endpoint)
        limit, reason = endpoint_concurrency(at, parallel)
        if best is None or limit < best[0]:
            best = (limit, f"{endpoint_label(at)}: {limit} request{'s' if limit > 1 else ''} at a time, {reason}")
    if best is None:
        return 1, f"{endpoint.label}: 1 request at a time (no model)", False
    pooled = sorted(model.key for model in served if len(model.endpoints) > 1)
    said = best[1] + (f" (in the pool of {', '.join(pooled)})" if pooled else "")
    return best[0], said, any(model.is_local for model in served)
