"""Nothing lost: kill-and-resume fuzzing, changed fingerprints, a full disk, hostile text."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from benchtui.cli import main
from benchtui.engine.textsafety import strip_control
from tests.conftest import TASKS
from tests.support.fuzz_resume import fuzz
from tests.support.scripted import Script, ScriptedOllama, fixed, solution_reply

FIX_TYPO = TASKS / "easy" / "fix_typo.md"


@pytest.mark.slow
def test_twenty_batches_killed_at_random_moments_all_resume_to_the_same_report() -> None:
    fuzz(rounds=20, seed=20261126)


def test_a_client_killed_mid_request_is_not_counted_as_a_request() -> None:
    """The fuzz kills the CLI at random moments, sometimes between a request's headers and its body."""
    with ScriptedOllama({"alpha": Script(fixed("hi"))}) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            conn.sendall(b'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"model": ')
        deadline = time.monotonic() + 5
        while server.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.bodies_snapshot() == {}
        assert sum(server.attempts.values()) == 0


def copy_task(tmp_path: Path) -> Path:
    target = tmp_path / "tasks"
    shutil.copytree(TASKS / "easy", target, ignore=shutil.ignore_patterns("*pagination*", "*slugify*", "*duration*"))
    return target / "fix_typo.md"


def test_resume_reruns_a_run_whose_task_changed_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    task = copy_task(tmp_path)
    with ScriptedOllama(
        {"solver": Script(solution_reply(FIX_TYPO)), "other": Script(solution_reply(FIX_TYPO))}
    ) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert main(["--task", str(task), "--models", "solver,other", "--no-ui", "--output", str(tmp_path / "o")]) == 0
        (batch,) = (tmp_path / "o").iterdir()
        assert server.attempts["solver"] == 1
        # A finished run whose fingerprint no longer matches: the task's prompt changed since.
        task.write_text(task.read_text().replace("has a typo.", "has a small typo."))
        assert main(["--resume", batch.name, "--no-ui", "--output", str(tmp_path / "o")]) == 0
        assert server.attempts["solver"] == 2 and server.attempts["other"] == 2
        assert "fingerprint differs" in capsys.readouterr().out


def test_resume_of_a_finished_batch_sends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedOllama({"solver": Script(solution_reply(FIX_TYPO))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert main(["--task", str(FIX_TYPO), "--models", "solver", "--no-ui", "--output", str(tmp_path)]) == 0
        (batch,) = tmp_path.iterdir()
        report = (batch / "comparison_report.json").read_bytes()
        assert main(["--resume", batch.name, "--no-ui", "--output", str(tmp_path)]) == 0
        assert server.attempts["solver"] == 1
        assert (batch / "comparison_report.json").read_bytes() == report


def small_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return result.returncode == 0


def test_a_full_disk_fails_the_batch_cleanly_and_leaves_no_torn_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "tiny"
    if not small_tmpfs(output, "96k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        # 12,000 different lines (about 400 KB): a reply that repeats itself would be stopped as a runaway
        # before it filled anything, so the disk fills with the model's edit, not by chance with the reports.
        big = "".join(f"n_{hashlib.sha1(str(i).encode()).hexdigest()[:20]} = {i}\n" for i in range(12_000))
        reply = f"greet.py\n```\n<<<<<<< SEARCH\n=======\n{big}>>>>>>> REPLACE\n```\n"
        with ScriptedOllama({"bloater": Script(fixed(reply), chunk_size=4096)}) as server:
            monkeypatch.setenv("OLLAMA_HOST", server.url)
            code = main(["--task", str(FIX_TYPO), "--models", "bloater", "--no-ui", "--output", str(output)])
        out = capsys.readouterr().out
        assert code == 1
        assert "disk full" in out
        for path in output.rglob("*.json"):
            json.loads(path.read_text())  # every file there is whole: old or new, never half
        assert not list(output.rglob("*.tmp"))
    finally:
        subprocess.run(["umount", str(output)], check=False)


def test_escape_sequences_from_models_never_reach_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "\x1b]0;pwned-title\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07 done"
    assert strip_control(hostile) == " done"
    with ScriptedOllama({"\x1b[31mred": Script(fixed(hostile))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        # A hostile model name listed by a server is also just text.
        main(["--task", str(FIX_TYPO), "--no-ui", "--output", str(tmp_path), "--timeout", "30"])
    captured = capsys.readouterr()
    assert "\x1b]" not in captured.out + captured.err and "\x1b[2J" not in captured.out + captured.err


def test_unique_canary_never_lands_in_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"sk-canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    with ScriptedOllama({"solver": Script(solution_reply(FIX_TYPO))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert main(["--task", str(FIX_TYPO), "--models", "solver", "--no-ui", "--output", str(tmp_path)]) == 0
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert canary not in path.read_text(errors="replace")


def test_run_folders_left_by_a_killed_benchtui_are_cleaned_at_start(tmp_path: Path) -> None:
    import os

    from benchtui.engine.workspace import OWNER_FILE, TEMP_PREFIX, clean_stale_workspaces

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale, live = tmp_path / f"{TEMP_PREFIX}stale", tmp_path / f"{TEMP_PREFIX}live"
    for folder, pid in ((stale, dead.pid), (live, os.getpid())):
        (folder / "workspace").mkdir(parents=True)
        (folder / OWNER_FILE).write_text(str(pid))
    fresh_without_owner = tmp_path / f"{TEMP_PREFIX}starting"
    fresh_without_owner.mkdir()
    assert clean_stale_workspaces(tmp_path) == 1
    assert not stale.exists() and live.exists() and fresh_without_owner.exists()


def test_a_check_stopped_by_the_memory_limit_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "state.txt").write_text("todo\n")
    task = tmp_path / "hog.md"
    task.write_text(
        "---\nid: hog\ndifficulty: smoke\nworkspace: ws/\nmax_turns: 1\n"
        'check: python -c "b = bytearray(3 * 1024**3)"\n---\nAnything.\n'
    )
    with ScriptedOllama({"m": Script(fixed("nothing to do"))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert main(["--task", str(task), "--models", "m", "--no-ui", "--output", str(tmp_path / "o")]) == 0
    (batch,) = (tmp_path / "o").iterdir()
    (run,) = json.loads((batch / "ollama_m_result.json").read_text())["runs"]
    assert run["status"] == "failed" and run["resource_limit"] == "memory"
