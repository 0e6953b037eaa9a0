"""Each repeat's own sampling seed: what makes the repeats of a run independent samples, and reproducible.

A repeat at temperature above 0 must be a new sample, not the same reply again: every repeat sends its own
seed to the providers that take one (OpenAI's ``seed``, Ollama's ``options.seed``, llama.cpp's ``seed`` for
the embedded models; Anthropic's API takes none, so its runs record null). The seed is the model's
configured ``settings.seed`` for repeat 1 and counts up from there (``seed + repeat − 1``); without one, it
counts from 1. So repeat r of a batch is reproducible (a resumed or rerun batch sends the same seeds) and
differs from repeat r + 1. The seed is stored with the run (result key ``seed``) and enters its
fingerprint (``runner.run_fingerprint``). Nothing caches replies anywhere: each repeat is sent to the server.
"""

from __future__ import annotations

from benchtui.engine.models import ModelSpec

#: The providers whose requests carry a seed (each dialect in engine/providers/ sends it).
SEEDED_PROVIDERS = frozenset({"ollama", "openai", "embedded"})
#: Repeat 1's seed when the model's settings name none.
FIRST_SEED = 1


def run_seed(spec: ModelSpec, repeat: int) -> int | None:
    """The seed repeat ``repeat`` (from 1) of ``spec`` sends; None for a provider that takes no seed."""
    if spec.provider not in SEEDED_PROVIDERS:
        return None
    configured = spec.settings.get("seed")
    start = configured if isinstance(configured, int) and not isinstance(configured, bool) else FIRST_SEED
    return start + repeat - 1
