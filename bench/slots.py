"""Aggregate generation speed of one embedded server with 1, 2 and 4 slots (``python -m bench.slots``).

Why: ``--parallel N`` gives an embedded model's server N slots, and plain ``--parallel`` a default
(``embedded.DEFAULT_SLOTS``) chosen from these figures. llama.cpp decodes all busy slots in one batched
forward pass per step, so on a CPU the weights are read once for every slot: aggregate tokens/s can grow
with slots even on one thread, until the step turns compute-bound.

One server per slot count is started up front (each with the default 1 thread), then the rounds are
interleaved (1, 2, 4, then 2, 4, 1, ...) so that a change in the machine's load hits every count alike;
each round sends as many requests at once as the server has slots, each generating a fixed number of
tokens (``ignore_eos``), and reports completion tokens / wall time. Medians over the rounds are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from typing import Any

import httpx

from benchtui.engine import embedded


def code_prompt(functions: int) -> str:
    """A code-reading request: about 200 prompt tokens with the chat template at 6 functions."""
    code = "\n".join(f"def f{i}(x):\n    return x * {i} + {i * 3} if x > {i} else x - {i}\n" for i in range(functions))
    return "Here is a Python module. Explain what each function does, then suggest one improvement.\n\n" + code


def _one(url: str, model: str, tokens: int, out: list[dict[str, Any]], prompt: str) -> None:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": tokens,
        "temperature": 0,
        "ignore_eos": True,
        "cache_prompt": False,
    }
    started = time.monotonic()
    response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=600, trust_env=False)
    response.raise_for_status()
    data = response.json()
    out.append(
        {
            "start": started,
            "end": time.monotonic(),
            "completion": data["usage"]["completion_tokens"],
            "prompt": data["usage"]["prompt_tokens"],
            "timings": data.get("timings", {}),
        }
    )


def concurrent_round(url: str, model: str, slots: int, tokens: int, prompt: str) -> dict[str, float]:
    out: list[dict[str, Any]] = []
    threads = [threading.Thread(target=_one, args=(url, model, tokens, out, prompt)) for _ in range(slots)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    if len(out) != slots:
        raise RuntimeError(f"{slots - len(out)} request(s) failed")
    completion = sum(r["completion"] for r in out)
    prompt = sum(r["prompt"] for r in out)
    # The model's own per-request generation speed: what each run sees.
    per_request = statistics.median(float(r["timings"].get("predicted_per_second") or 0) for r in out)
    return {"wall": wall, "agg_tps": completion / wall, "all_tps": (completion + prompt) / wall, "per_req": per_request}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=embedded.SMOLLM2)
    parser.add_argument("--slots", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--functions", type=int, default=6, help="functions in the prompt's code (its length)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.slots.split(",")]
    prompt = code_prompt(args.functions)
    figures: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    loads: list[float] = []
    servers = [embedded.EmbeddedServers(threads=args.threads) for _ in counts]
    try:
        urls = {n: s.ensure_started(args.model, slots=n) for n, s in zip(counts, servers, strict=True)}
        for n, url in urls.items():  # warm-up: the first request of a server pays for its buffers
            concurrent_round(url, args.model, n, 8, prompt)
        for r in range(args.rounds):
            order = counts[r % len(counts) :] + counts[: r % len(counts)]
            for n in order:
                loads.append(os.getloadavg()[0])
                figures[n].append(concurrent_round(urls[n], args.model, n, args.tokens, prompt))
                print(f"round {r + 1} slots {n}: {figures[n][-1]}", file=sys.stderr)
    finally:
        for server in servers:
            server.close()
    summary = {
        n: {key: round(statistics.median(f[key] for f in runs), 2) for key in runs[0]} for n, runs in figures.items()
    }
    if args.json:
        print(json.dumps({"model": args.model, "threads": args.threads, "load": loads, "median": summary}))
    else:
        print(f"{args.model}, {args.threads} thread(s), {args.tokens} tokens per request, {args.rounds} rounds")
        print(f"load average during the rounds: {min(loads):.1f}-{max(loads):.1f}")
        print(
            "slots  aggregate tok/s (prompt + generated)  aggregate generated tok/s  each request's gen tok/s  wall s"
        )
        for n, row in summary.items():
            print(f"{n:>5}  {row['all_tps']:>38}  {row['agg_tps']:>25}  {row['per_req']:>24}  {row['wall']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
