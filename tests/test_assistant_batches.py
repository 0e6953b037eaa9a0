"""Assistants in batches: --assistants crossed with --models, contestants named ``assistant · model`` in the
results and reports, a dead upstream failing its runs while the batch goes on, resume by fingerprint
(the assistant's name and version in it), the config section, and ``benchtui assistants``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchtui.engine.assistants import pairs
from benchtui.engine.config import load_config
from benchtui.engine.errors import ConfigError, InputError
from benchtui.engine.events import RecordingSink, RunStarted
from benchtui.engine.models import ModelSpec
from benchtui.engine.runner import BatchOptions, BatchRunner, run_fingerprint
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks
from tests.conftest import write_config
from tests.support.assistants import paired, real_assistant, scripted_spec
from tests.support.scripted import tiny_task
from tests.support.scripted_agent import AgentScript, ScriptedAgentServer, text, turns

pytestmark = pytest.mark.real_assistants
FIX = "answer.txt\n```\n<<<<<<< SEARCH\ntodo\n=======\ndone\n>>>>>>> REPLACE\n```\n"


@pytest.mark.slow
def test_a_batch_runs_the_built_in_loop_and_aider_side_by_side_and_resumes(tmp_path: Path) -> None:
    real_assistant("aider")
    with ScriptedAgentServer({"agent": AgentScript(turns(text(FIX)))}) as server:
        task = load_tasks([tiny_task(tmp_path / "task")])[0]
        model = scripted_spec(server.url)
        dead = replace(scripted_spec("http://127.0.0.1:9", "dead"), settings=model.settings)
        contestants = pairs.cross([model], ["benchtui", "aider"]) + pairs.cross([dead], ["aider"])
        assert [c.key for c in contestants] == ["agent", "aider · agent", "aider · dead"]
        store = ResultsStore(tmp_path / "results")
        runner = BatchRunner(store=store, tasks=[task], models=contestants, options=BatchOptions(timeout_s=240))
        outcome = runner.run()
        assert outcome.status == "finished"
        by_model = {r["model"]: r for r in outcome.results}
        assert by_model["agent"]["status"] == "passed" and by_model["agent"]["assistant"] == "benchtui"
        assert by_model["aider · agent"]["status"] == "passed"
        assert by_model["aider · agent"]["assistant_version"] == "0.86.2"
        assert by_model["aider · dead"]["status"] == "error" and by_model["aider · dead"]["error"] == "unreachable"
        report = json.loads((outcome.batch.path / "comparison_report.json").read_text())
        assert set(report["models"]) == {"agent", "aider · agent", "aider · dead"}
        assert (outcome.batch.path / "runs" / "aider_agent").is_dir()

        # Resume: every run finished with the same fingerprint, so nothing runs again.
        sink = RecordingSink()
        again = BatchRunner(
            store=store, tasks=[task], models=contestants, batch=outcome.batch, sink=sink, options=BatchOptions()
        )
        assert again.run().status == "finished"
        assert not [e for e in sink.events if isinstance(e, RunStarted)]


def test_the_assistant_and_its_version_enter_the_fingerprint_and_the_built_in_loop_keeps_its_own(
    tmp_path: Path,
) -> None:
    task = load_tasks([tiny_task(tmp_path / "task")])[0]
    model = ModelSpec(
        key="agent", name="agent", provider="openai", display_name="agent", base_url="http://127.0.0.1:1/v1"
    )
    # The fingerprint main computed for this spec before assistants existed: old batches resume as they were.
    assert model.fingerprint() == "2524869e3c240a9d"
    prints = {
        run_fingerprint(task, spec)
        for spec in (
            model,
            pairs.pair(model, "aider", "0.86.2", {}),
            pairs.pair(model, "aider", "0.86.3", {}),
            pairs.pair(model, "aider", "0.86.2", {"edit_format": "whole"}),
            pairs.pair(model, "mini-swe-agent", "0.86.2", {}),
        )
    }
    assert len(prints) == 5


def test_assistants_are_parsed_and_unknown_or_missing_ones_refused(tmp_path: Path) -> None:
    assert pairs.parse(None) == ["benchtui"]
    assert pairs.parse("aider, benchtui,aider") == ["aider", "benchtui"]
    with pytest.raises(InputError, match=r"unknown assistant 'aidr'.*known: benchtui, aider"):
        pairs.parse("aidr")
    with pytest.raises(InputError, match="--assistants is empty"):
        pairs.parse(" , ")
    model = scripted_spec("http://127.0.0.1:9")
    with pytest.raises(
        InputError, match="assistant 'aider' is unavailable: not installed: run benchtui assistants install aider"
    ):
        pairs.cross([model], ["aider"], root=tmp_path / "empty")
    assert pairs.split("aider · ollama/x") == ("aider", "ollama/x")
    assert pairs.split("ollama/x") == ("benchtui", "ollama/x")


def test_the_assistants_section_of_the_config_is_checked_with_its_lines(tmp_path: Path) -> None:
    good = write_config(
        tmp_path / "good.yaml",
        "models: []\nassistants:\n  aider:\n    edit_format: whole\n    extra_args: [--no-verify-ssl]\n"
        "  mini-swe-agent:\n    step_limit: 5\n",
    )
    config = load_config(good)
    assert config.models == ()
    assert dict(config.assistants["aider"]) == {"edit_format": "whole", "extra_args": ["--no-verify-ssl"]}
    assert dict(config.assistants["mini-swe-agent"]) == {"step_limit": 5}
    for body, line, message in (
        ("assistants:\n  aidr: {}\n", 2, "unknown assistant 'aidr'"),
        ("assistants:\n  aider:\n    edit_fromat: whole\n", 3, "'assistants.aider.edit_fromat': unknown option"),
        ("assistants:\n  aider: [1]\n", 2, "expected a mapping of options"),
        ("assistants:\n  aider:\n    extra_args: --x\n", 3, "expected a list of strings"),
    ):
        bad = write_config(tmp_path / "bad.yaml", "models: []\n" + body)
        with pytest.raises(ConfigError) as caught:
            load_config(bad)
        assert str(caught.value).startswith(f"{bad}:{line + 1}:"), str(caught.value)
        assert message in str(caught.value)


def test_benchtui_assistants_lists_them_with_versions_and_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchtui.cli import main

    monkeypatch.setenv("BENCHTUI_ASSISTANTS_DIR", str(tmp_path / "assistants"))
    (tmp_path / "assistants" / "aider").mkdir(parents=True)  # an install that never finished
    assert main(["assistants"]) == 0
    out = capsys.readouterr().out
    assert "benchtui" in out and "available (the default)" in out
    assert "aider-chat (pypi)" in out and "0.86.2" in out
    assert "an install did not finish: run benchtui assistants install aider" in out
    assert "not installed: run benchtui assistants install mini-swe-agent" in out
    assert main(["assistants", "install", "nope"]) == 2
    assert "unknown assistant 'nope'" in capsys.readouterr().out


def test_paired_specs_name_the_contestant_and_keep_the_model(tmp_path: Path) -> None:
    model = scripted_spec("http://127.0.0.1:9")
    spec = paired(model, "aider")
    assert spec.key == "aider · agent" and spec.model_key == "agent" and spec.file_stem == "aider_agent"
    assert spec.endpoint == model.endpoint  # the endpoint's limits hold for its assistants too
    snapshot = spec.snapshot()
    assert snapshot["assistant"] == "aider" and snapshot["model_key"] == "agent"
    assert "assistant" not in model.snapshot()
    builtin, paired_ = pairs.split_manifest([model.snapshot(), snapshot])
    assert builtin == ["agent"] and paired_ == [("aider", "agent")]


def test_a_resumed_batch_pairs_its_assistants_again_in_the_manifest_order(tmp_path: Path) -> None:
    """resume_batch finds the models by their own keys and pairs them with the assistant as installed now."""
    model, other = scripted_spec("http://127.0.0.1:9"), scripted_spec("http://127.0.0.1:9", "other")
    asked: list[str] = []

    def find(keys: str) -> list[ModelSpec]:
        asked.append(keys)
        return [m for m in (model, other) if m.key in keys.split(",")]

    snapshots = [pairs.pair(model, "aider", "0", {}).snapshot(), other.snapshot()]
    root = tmp_path / "assistants"
    with pytest.raises(InputError, match="assistant 'aider' is unavailable"):
        pairs.resumed(snapshots, find, root=root)
    fake = root / "aider" / "venv" / "bin" / "aider"
    fake.parent.mkdir(parents=True)
    fake.write_text("")
    (root / "aider" / "installed.json").write_text("{}")
    resumed = pairs.resumed(snapshots, find, root=root)
    assert asked[-1] == "other,agent"
    assert [s.key for s in resumed] == ["aider · agent", "other"]
    assert resumed[0].assistant_version is None  # no dist-info: unknown, so not the batch's "0"
    assert run_fingerprint_of(resumed[0]) != run_fingerprint_of(pairs.pair(model, "aider", "0", {}))


def run_fingerprint_of(spec: ModelSpec) -> str:
    return spec.fingerprint()


class _Pinned:
    """An adapter whose pinned version does not exist: what an install that fails leaves behind."""

    name = "aider"
    dialect = "openai-chat"

    def __init__(self) -> None:
        from benchtui.engine.assistants.base import InstallSpec

        self.install = InstallSpec("pypi", "aider-chat", "0.0.0.1", "aider")

    def locate(self, assistants_dir: Path) -> Path | None:
        from benchtui.engine.assistants.base import installed_executable

        return installed_executable(assistants_dir, self.name, self.install)


@pytest.mark.slow
def test_a_failed_install_says_why_and_never_looks_installed(tmp_path: Path) -> None:
    from benchtui.engine.assistants import install

    adapter = _Pinned()
    said: list[str] = []
    with pytest.raises(install.InstallError, match=r"aider-chat==0\.0\.0\.1") as caught:
        install.install("aider", adapter, tmp_path, say=said.append)  # type: ignore[arg-type]
    assert "exited" in str(caught.value)
    assert said == [f"aider: installing aider-chat==0.0.0.1 into {tmp_path / 'aider'} ..."]
    state = install.availability("aider", adapter, tmp_path)  # type: ignore[arg-type]
    assert not state.usable and state.reason == "an install did not finish: run benchtui assistants install aider"


def test_repairing_tool_calls_is_per_model_off_by_default_and_in_the_fingerprint(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "m.yaml",
        "models:\n  - {name: a, provider: openai, base_url: 'http://127.0.0.1:9/v1'}\n"
        "  - {name: b, provider: openai, base_url: 'http://127.0.0.1:9/v1', repair_tool_calls: true}\n",
    )
    a, b = load_config(path).models
    assert not a.repair_tool_calls and b.repair_tool_calls
    assert b.fingerprint() != replace(b, repair_tool_calls=False).fingerprint()
    assert "repair_tool_calls" not in a.snapshot() and b.snapshot()["repair_tool_calls"] is True
    bad = write_config(tmp_path / "bad.yaml", "models:\n  - {name: a, provider: openai, repair_tool_calls: 3}\n")
    with pytest.raises(ConfigError, match="repair_tool_calls"):
        load_config(bad)


def test_the_wide_headless_summary_names_each_contestant_whole() -> None:
    from rich.console import Console

    from benchtui.cli.summary import summary
    from tests.support.report_fixture import result

    runs = [result("t", "mini-swe-agent · smollm2-135m"), result("t", "aider · smollm2-135m"), result("t", "m")]
    console = Console(width=160, color_system=None, record=True)
    console.print(summary(runs, width=160))
    shown = console.export_text()
    assert "mini-swe-agent · smollm2-135m" in shown and "aider · smollm2-135m" in shown


def test_an_assistants_malformed_replies_show_as_unmeasured_never_as_0() -> None:
    """benchtui counts malformed replies in its own loop; an assistant parses its replies itself, so its
    contestant's Malformed is — in the headless summary (and null in the aggregates), the loop's a count."""
    from rich.console import Console

    from benchtui.cli.summary import summary
    from tests.support.report_fixture import result

    runs = [
        result("t", "mini-swe-agent · smollm2-135m", malformed_replies=None, history_dropped=None),
        result("t", "smollm2-135m", malformed_replies=3),
    ]
    console = Console(width=200, color_system=None, record=True)
    console.print(summary(runs, width=200))
    lines = console.export_text().splitlines()
    rows = {line.split()[1]: line for line in lines if "smollm2-135m" in line}
    header = next(line for line in lines if "Malformed" in line)
    column = header.index("Malformed") + len("Malformed")  # right-aligned: the cell ends where the header does
    assert rows["mini-swe-agent"][column - 1] == "—"
    assert rows["smollm2-135m"][column - 1] == "3"
