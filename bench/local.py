"""Figure 7: a local model at full speed: one fixed multi-turn batch on the embedded model.

The batch: SmolLM2-135M (the embedded model every install has) on two small tasks whose check never
passes, so every run takes all of its turns (3) and re-sends a growing conversation; temperature 0, one
run at a time. Its physical limit is the model's own work, timed by llama.cpp: prompt processing
(``timings.prompt_ms``, summed per run as ``prompt_eval_s``) plus generation (each reply's completion
tokens over its server-timed rate). Everything above that is benchtui's (checks, the sandbox, files) or
waiting. The figures: wall time against that limit (the issue's target: within 1.15×), the prompt-cache
hit ratio (tokens read from the cache over prompt tokens), the tokens spent in replies that ran to the
cap or were stopped as runaways, and the aggregate tokens/s of one server with 1, 2 and 4 slots
(``bench.slots``: concurrent requests, interleaved rounds, medians).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bench.common import Figure, sandbox_mode
from bench.slots import code_prompt, concurrent_round
from benchtui.engine import embedded
from benchtui.engine.models import ModelSpec
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks

TARGET_RATIO = 1.15
TURNS = 3


def _task(root: Path, task_id: str, text: str) -> Path:
    folder = root / task_id
    (folder / "ws").mkdir(parents=True)
    (folder / "ws" / "notes.py").write_text(text)
    path = folder / f"{task_id}.md"
    path.write_text(
        f"---\nid: {task_id}\ntitle: Local model benchmark\ndifficulty: smoke\nworkspace: ws/\n"
        f"check: 'false'\nmax_turns: {TURNS}\ntimeout: 900\n---\n"
        "Add a docstring to every function in notes.py.\n"
    )
    return path


def _smollm2() -> ModelSpec:
    return ModelSpec(
        key="smollm2-135m",
        name=embedded.SMOLLM2,
        provider="embedded",
        display_name="SmolLM2 135M",
        settings=MappingProxyType({**embedded.default_settings(embedded.SMOLLM2), "temperature": 0}),
        edit_format="whole",
        source="embedded",
    )


def _model_work_s(transcript: list[dict[str, Any]]) -> tuple[float, bool]:
    """The server-timed prompt processing + generation seconds of a run's replies; False when a reply
    lacks either timing (then the limit cannot be stated)."""
    total, complete = 0.0, True
    for entry in transcript:
        if entry.get("kind") != "reply":
            continue
        prompt_s, tokens, rate = entry.get("prompt_eval_s"), entry.get("completion_tokens"), entry.get("tokens_per_s")
        if prompt_s is None or not tokens or not rate:
            complete = False
            continue
        total += prompt_s + tokens / rate
    return total, complete


def _slot_figures(rounds: int) -> dict[int, float]:
    counts = (1, 2, 4)
    prompt = code_prompt(6)
    servers = [embedded.EmbeddedServers(threads=1) for _ in counts]
    samples: dict[int, list[float]] = {n: [] for n in counts}
    try:
        urls = {n: s.ensure_started(embedded.SMOLLM2, slots=n) for n, s in zip(counts, servers, strict=True)}
        for n, url in urls.items():
            concurrent_round(url, embedded.SMOLLM2, n, 8, prompt)
        for r in range(rounds):
            for n in counts[r % 3 :] + counts[: r % 3]:
                samples[n].append(concurrent_round(urls[n], embedded.SMOLLM2, n, 48, prompt)["agg_tps"])
    finally:
        for server in servers:
            server.close()
    return {n: statistics.median(v) for n, v in samples.items()}


def measure(quick: bool) -> list[Figure]:
    if not next((m for m in embedded.known_models() if m.name == embedded.SMOLLM2), None):
        raise RuntimeError("the embedded SmolLM2 is not installed (requirements-embedded.txt)")
    code = "".join(f"def f{i}(x):\n    return x * {i} + {i + 3}\n\n\n" for i in range(8))
    with tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp, sandbox_mode("none"):
        root = Path(tmp)
        paths = [_task(root, "local_a", code)] + ([] if quick else [_task(root, "local_b", code.replace("x", "n"))])
        runner = BatchRunner(
            store=ResultsStore(root / "results"),
            tasks=load_tasks(paths),
            models=[_smollm2()],
            options=BatchOptions(),
        )
        started = time.perf_counter()
        outcome = runner.run()
        wall = time.perf_counter() - started
        transcripts = [outcome.batch.load_transcript(result) for result in outcome.results]
    results = outcome.results
    if outcome.status != "finished" or any(r["status"] not in ("failed", "timeout") for r in results):
        raise RuntimeError(f"local batch: {outcome.status} {[(r['status'], r['error_message']) for r in results]}")
    work = [_model_work_s(t) for t in transcripts]
    limit = sum(seconds for seconds, _ in work)
    replies = [e for t in transcripts for e in t if e.get("kind") == "reply"]
    prompt_tokens = sum(e.get("prompt_tokens") or 0 for e in replies)
    cached = sum(e.get("cached_prompt_tokens") or 0 for e in replies)
    capped = sum(e.get("completion_tokens") or 0 for e in replies if e.get("finish_reason") == "length")
    runaway = sum(e.get("completion_tokens") or 0 for e in replies if e.get("finish_reason") == "runaway")
    generated = sum(e.get("completion_tokens") or 0 for e in replies)
    slots = _slot_figures(1 if quick else 3)
    runs = len(results)
    return [
        Figure(
            "7a local batch wall time",
            wall,
            "s",
            limit,
            "model's own prompt + generation time",
            f"≤ {TARGET_RATIO:g}× baseline",
            all(complete for _, complete in work) and wall <= TARGET_RATIO * limit,
            note=f"{runs} run(s) × {TURNS} turns of SmolLM2 (checks `false`, sandbox none), one at a time; the "
            f"baseline is llama.cpp's own timing of each reply; benchtui's model clock: "
            f"{sum(r['model_time_s'] or 0 for r in results):.1f} s",
        ),
        Figure(
            "7b prompt-cache hit ratio",
            round(100 * cached / prompt_tokens, 1) if prompt_tokens else float("nan"),
            "%",
            note=f"{cached} of {prompt_tokens} prompt tokens read from llama.cpp's cache ({len(replies)} replies)",
        ),
        Figure(
            "7c tokens in capped or runaway replies",
            float(capped + runaway),
            "tokens",
            float(generated),
            "all generated tokens",
            note=f"{capped} in replies cut at the token cap, {runaway} in replies stopped as runaways",
        ),
        *(
            Figure(
                f"7d aggregate tok/s, {n} slot(s)",
                round(slots[n], 1),
                "tok/s",
                round(slots[1], 1),
                "1 slot",
                note=f"generated tokens of {n} concurrent request(s) over the round's wall time, 1 thread, "
                f"median of {1 if quick else 3} round(s)",
            )
            for n in sorted(slots)
        ),
    ]
