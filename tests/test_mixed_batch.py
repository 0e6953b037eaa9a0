"""One batch, three wire dialects, and the runner's per-endpoint limits.

The mixed batch goes through the real CLI (``benchtui ... --no-ui``) with a models config: a detected
Ollama model (OLLAMA_HOST), an OpenAI-compatible model and an Anthropic model, each on its own loopback
server, and asserts on the JSON result files (status, tokens, retries, cost). The concurrency test
proves that a slow, rate-limited server does not hold up a fast one and that no server sees more
requests at once than its limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchtui.cli import main
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import RetryPolicy
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks
from tests.conftest import TASKS, write_config
from tests.support.scripted import (
    Script,
    ScriptedAnthropic,
    ScriptedOllama,
    ScriptedOpenAI,
    solution_reply,
    tiny_task,
)

ADD_COMMENT = TASKS / "smoke" / "add_comment.md"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ScriptedOllama, ScriptedOpenAI, ScriptedAnthropic]]:
    solve = solution_reply(ADD_COMMENT)
    ollama = ScriptedOllama({"coder": Script(solve)})
    # One transient failure each for the cloud dialects, so the batch also shows retries being recorded.
    openai = ScriptedOpenAI({"gpt-test": Script(solve, failures={1: (429, {"retry-after-ms": "100"}, "slow")})})
    anthropic = ScriptedAnthropic({"claude-test": Script(solve, failures={1: (529, {}, "Overloaded")})})
    for server in (ollama, openai, anthropic):
        server.start()
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)
    monkeypatch.setenv("MIXED_OPENAI_KEY", "sk-mixed-openai-0123456789")
    monkeypatch.setenv("MIXED_ANTHROPIC_KEY", "sk-ant-mixed-0123456789")
    yield ollama, openai, anthropic
    for server in (ollama, openai, anthropic):
        server.close()


def runs(folder: Path, stem: str) -> list[dict[str, Any]]:
    return list(json.loads((folder / f"{stem}_result.json").read_text())["runs"])


def test_one_batch_mixes_ollama_openai_and_anthropic_and_passes_on_all_three(
    servers: tuple[ScriptedOllama, ScriptedOpenAI, ScriptedAnthropic],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ollama, openai, anthropic = servers
    config = write_config(
        tmp_path / "models_config.yaml",
        f"""
embedded: {{enabled: false}}
models:
  - name: gpt-test
    provider: openai
    base_url: {openai.url}/v1
    api_key: ${{MIXED_OPENAI_KEY}}
    pricing: {{input_per_mtok: 2.5, output_per_mtok: 10}}
  - name: claude-test
    provider: anthropic
    base_url: {anthropic.url}
    api_key: ${{MIXED_ANTHROPIC_KEY}}
""",
    )
    out = tmp_path / "out"
    code = main(
        [
            "--task",
            str(ADD_COMMENT),
            "--models",
            "coder,gpt-test,claude-test",
            "--parallel",
            "--config",
            str(config),
            "--output",
            str(out),
            "--no-ui",
            "--timeout",
            "120",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    (folder,) = out.iterdir()

    (coder,) = runs(folder, "ollama_coder")
    (gpt,) = runs(folder, "gpt-test")
    (claude,) = runs(folder, "claude-test")
    for result in (coder, gpt, claude):
        assert (result["status"], result["error"], result["prompts_sent"]) == ("passed", None, 1)
        assert result["prompt_tokens"] > 100 and result["completion_tokens"] > 0
        assert result["files_modified"] == 1 and result["ttft_s"] is not None
    assert (coder["request_attempts"], gpt["request_attempts"], claude["request_attempts"]) == (1, 2, 2)
    assert (ollama.attempts["coder"], openai.attempts["gpt-test"], anthropic.attempts["claude-test"]) == (1, 2, 2)

    # Cost: local is free, a priced cloud model is priced, an unpriced one is unknown (never 0).
    assert coder["cost_usd"] == 0.0
    assert gpt["cost_usd"] == pytest.approx(
        (gpt["prompt_tokens"] * 2.5 + gpt["completion_tokens"] * 10) / 1e6, abs=5e-7
    )  # cost is rounded to 6 places
    assert gpt["cost_usd"] > 0
    assert claude["cost_usd"] is None

    # Each dialect got its own wire format and its own auth header.
    assert anthropic.bodies["claude-test"][-1]["system"].strip()
    assert all(m["role"] != "system" for m in anthropic.bodies["claude-test"][-1]["messages"])
    assert anthropic.headers_seen[-1]["x-api-key"] == "sk-ant-mixed-0123456789"
    assert openai.headers_seen[-1]["authorization"] == "Bearer sk-mixed-openai-0123456789"
    assert openai.bodies["gpt-test"][-1]["messages"][0]["role"] == "system"

    manifest = json.loads((folder / "batch.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["progress"] == {"planned": 3, "finished": 3, "passed": 3}
    assert {m["provider"] for m in manifest["models"]} == {"ollama", "openai", "anthropic"}
    report = json.loads((folder / "comparison_report.json").read_text())
    assert {row["model"] for row in report["rankings"]["leaderboard"]} == {"ollama/coder", "gpt-test", "claude-test"}


def test_a_slow_rate_limited_server_does_not_hold_up_a_fast_one(tmp_path: Path) -> None:
    task = tiny_task(tmp_path / "task")
    solve = solution_reply(task)
    # The slow server answers 429 twice, then streams slowly; its model allows one request at a time.
    storm = {n: (429, {"retry-after-ms": "300"}, "rate limited") for n in (1, 2)}
    slow = ScriptedOpenAI({"slow": Script(solve, failures=storm, chunk_size=4, chunk_delay_s=0.03)})
    fast = ScriptedOpenAI({name: Script(solve, first_byte_delay_s=0.3) for name in ("fast-a", "fast-b")})
    with slow, fast:

        def model(name: str, server: ScriptedOpenAI, concurrency: int | None = None) -> ModelSpec:
            return ModelSpec(
                key=name,
                name=name,
                provider="openai",
                display_name=name,
                base_url=f"{server.url}/v1",
                concurrency=concurrency,
            )

        runner = BatchRunner(
            store=ResultsStore(tmp_path / "out"),
            tasks=load_tasks([task]),
            models=[model("slow", slow, concurrency=1), model("fast-a", fast), model("fast-b", fast)],
            options=BatchOptions(parallel=2, repeats=3),
            policy=RetryPolicy(base_delay_s=0.01, max_delay_s=0.05),
        )
        outcome = runner.run()

    assert outcome.status == "finished"
    assert [r["status"] for r in outcome.results] == ["passed"] * 9
    # Limits per endpoint: the slow one (concurrency: 1) never saw two requests at once; the fast one
    # (--parallel 2) did see two, and never more.
    assert slow.peak_in_flight == 1
    assert fast.peak_in_flight == 2
    # The storm is recorded where it happened...
    slow_attempts = sorted(int(r["request_attempts"]) for r in outcome.results if r["model"] == "slow")
    assert slow_attempts == [1, 1, 3] and slow.attempts["slow"] == 5
    assert all(r["request_attempts"] == 1 for r in outcome.results if r["model"] != "slow")
    # ...and the fast server's six runs were all sent before the slow server's last one.
    last_fast = max(t for name in ("fast-a", "fast-b") for t in fast.attempt_times[name])
    assert last_fast < max(slow.attempt_times["slow"])
    assert fast.attempts["fast-a"] == fast.attempts["fast-b"] == 3
