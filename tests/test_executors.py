"""Executors without a cluster: Ray stays unimported unless chosen, a clear error without it, task packs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchtui.cli import main
from benchtui.engine import executors
from benchtui.engine.executors import taskpack
from benchtui.engine.tasks import load_task
from benchtui.present.exits import EXIT_BAD_INPUT
from tests.conftest import REPO, write_config
from tests.support.scripted import Script, ScriptedOpenAI, solution_reply, tiny_task


def test_help_and_a_local_batch_never_import_ray_in_a_fresh_interpreter(tmp_path: Path) -> None:
    task = tiny_task(tmp_path / "t")
    with ScriptedOpenAI({"solver": Script(solution_reply(task))}) as server:
        config = write_config(
            tmp_path / "models.yaml",
            "embedded: {enabled: false}\nollama: {enabled: false}\n"
            f"models:\n  - name: solver\n    provider: openai\n    base_url: {server.url}/v1\n",
        )
        argv = ["--task", str(task), "--no-ui", "--parallel", "--config", str(config), "--output", str(tmp_path / "o")]
        code = (
            "import sys\nfrom benchtui.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
            f"assert main({argv!r}) == 0\n"
            "bad = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))\n"
            "print('ray modules:', bad, file=sys.stderr)\n"
            "sys.exit(1 if bad else 0)\n"
        )
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert server.attempts["solver"] == 1  # the batch ran, through the local executor
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ray modules: []" in result.stderr


def test_executor_ray_without_ray_installed_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(executors, "_RAY_MODULE", "ray_is_not_installed_here")
    task = tiny_task(tmp_path / "t")
    assert (
        main(["--task", str(task), "--no-ui", "--executor", "ray", "--output", str(tmp_path / "o")]) == EXIT_BAD_INPUT
    )
    assert "pip install 'benchtui[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before any batch folder


def test_ray_address_without_executor_ray_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task = tiny_task(tmp_path / "t")
    argv = ["--task", str(task), "--no-ui", "--ray-address", "127.0.0.1:1", "--output", str(tmp_path / "o")]
    assert main(argv) == EXIT_BAD_INPUT
    assert "--ray-address needs --executor ray" in capsys.readouterr().err


def test_a_task_pack_carries_the_workspace_and_check_files_and_keeps_the_fingerprint(tmp_path: Path) -> None:
    source = tmp_path / "src"
    task_md = tiny_task(source)
    text = task_md.read_text().replace("solution: sol/\n", "solution: sol/\ncheck_files: chk/\n")
    task_md.write_text(text)
    (source / "chk").mkdir()
    (source / "chk" / "test_answer.py").write_text("def test_it():\n    assert True\n")
    (source / "ws" / "sub").mkdir()
    (source / "ws" / "sub" / "deep.txt").write_text("deep\n")
    (source / "ws" / "__pycache__").mkdir()
    (source / "ws" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    task = load_task(task_md)
    unpacked = taskpack.unpack(task, taskpack.pack(task), tmp_path / "dest")
    assert unpacked.workspace == tmp_path / "dest" / "workspace"
    assert (unpacked.workspace / "sub" / "deep.txt").read_text() == "deep\n"
    assert not (unpacked.workspace / "__pycache__").exists()
    assert unpacked.check_files is not None and (unpacked.check_files / "test_answer.py").exists()
    assert unpacked.solution is None  # a run never sees the solution: it does not travel
    assert unpacked.fingerprint() == task.fingerprint()


def test_ray_cpus_per_run_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task = tiny_task(tmp_path / "t")
    argv = ["--task", str(task), "--no-ui", "--executor", "ray", "--ray-cpus-per-run", "0", "--output", str(tmp_path)]
    assert main(argv) == EXIT_BAD_INPUT
    assert "--ray-cpus-per-run must be more than 0, got 0" in capsys.readouterr().err


@pytest.mark.skipif(not executors.ray_installed(), reason="ray is not installed: pip install 'benchtui[ray]'")
def test_a_ray_address_nothing_answers_on_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.raycluster import free_port

    task = tiny_task(tmp_path / "t")
    address = f"127.0.0.1:{free_port()}"
    with ScriptedOpenAI({"solver": Script(solution_reply(task))}) as server:
        config = write_config(
            tmp_path / "models.yaml",
            "embedded: {enabled: false}\nollama: {enabled: false}\n"
            f"models:\n  - name: solver\n    provider: openai\n    base_url: {server.url}/v1\n",
        )
        argv = ["--task", str(task), "--no-ui", "--config", str(config), "--output", str(tmp_path / "o")]
        started = time.monotonic()
        assert main([*argv, "--executor", "ray", "--ray-address", address]) == EXIT_BAD_INPUT
        assert server.attempts["solver"] == 0
    assert time.monotonic() - started < 30  # not Ray's minutes of retries
    assert f"could not connect to Ray ({address}): nothing answers at {address}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before any batch folder


def test_the_tui_refuses_executor_ray_without_ray_before_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(executors, "_RAY_MODULE", "ray_is_not_installed_here")
    assert main(["--executor", "ray", "--output", str(tmp_path)]) == EXIT_BAD_INPUT
    assert "pip install 'benchtui[ray]'" in capsys.readouterr().err


def test_the_resume_command_asks_for_the_executor_the_batch_ran_on() -> None:
    from benchtui.cli.common import resume_command

    assert resume_command("b1", None, no_ui=True, executor=executors.make_executor("local")) == (
        "benchtui --resume b1 --no-ui"
    )
    if not executors.ray_installed():
        pytest.skip("ray is not installed (pip install 'benchtui[ray]')")
    ray = executors.make_executor("ray", address="10.0.0.5:6379", cpus_per_run=0.5)
    assert resume_command("b1", "out", no_ui=True, executor=ray) == (
        "benchtui --resume b1 --output out --no-ui --executor ray --ray-address 10.0.0.5:6379 --ray-cpus-per-run 0.5"
    )
    local_ray = executors.make_executor("ray")  # a local Ray for the batch: a fresh one again on resume
    assert resume_command("b1", None, executor=local_ray) == "benchtui --resume b1 --executor ray"
