"""The spine, end to end through the real CLI: task -> scripted Ollama over HTTP -> edits -> hidden check ->
metrics -> batch folder -> comparison report, plus exit codes, Ctrl-C, and kill-and-resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from benchtui.cli import main
from benchtui.engine.results import RunResult
from tests.conftest import REPO, TASKS, write_config
from tests.support.scripted import Script, ScriptedOllama, distinct_words, fixed, solution_reply

FIX_TYPO = TASKS / "easy" / "fix_typo.md"
STUBBORN = (
    'I\'ll add a note.\n\ngreet.py\n```\n<<<<<<< SEARCH\ndef greet(name="world"):\n=======\n'
    'def greet(name="world"):\n    # looked at this\n>>>>>>> REPLACE\n```\n'
)


def batch_dir(output: Path) -> Path:
    (folder,) = [p for p in output.iterdir() if p.name.startswith("batch_")]
    return folder


def model_runs(folder: Path, stem: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = json.loads((folder / f"{stem}_result.json").read_text())["runs"]
    return runs


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOllama]:
    server = ScriptedOllama(
        {
            "solver": Script(solution_reply(FIX_TYPO)),
            "stubborn": Script(fixed(STUBBORN)),
            "garbage": Script(fixed("Bananas are yellow. ¯\\_(ツ)_/¯")),
            "sleepy": Script(fixed(distinct_words(400, 9)), chunk_delay_s=0.2, chunk_size=9),
        }
    ).start()
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    yield server
    server.close()


def test_a_headless_batch_records_what_each_model_really_did(
    ollama: ScriptedOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "models.yaml", "models:\n  - name: ghost\n    provider: ollama\n")
    code = main(
        [
            "--task",
            str(FIX_TYPO),
            "--models",
            "solver,stubborn,garbage,ghost",
            "--no-ui",
            "--output",
            str(tmp_path / "out"),
            "--config",
            str(config),
            "--timeout",
            "120",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    folder = batch_dir(tmp_path / "out")

    (solver,) = model_runs(folder, "ollama_solver")
    assert solver["status"] == "passed" and solver["error"] is None
    assert solver["prompts_sent"] == 1 and solver["human_interventions"] == 0 and solver["malformed_replies"] == 0
    assert (solver["files_modified"], solver["lines_added"], solver["lines_removed"]) == (1, 1, 1)
    assert '+    print(f"Hello, {name}!")' in solver["diff"]
    assert solver["completion_tokens"] > 0 and solver["prompt_tokens"] > 0 and solver["tokens_per_s"] > 0
    assert solver["load_time_s"] == pytest.approx(0.001)
    assert solver["cost_usd"] == 0.0
    assert solver["completion_time_s"] >= solver["model_time_s"] + solver["check_time_s"] - 0.01
    transcript = json.loads((folder / solver["transcript_file"]).read_text())["transcript"]
    assert [e["kind"] for e in transcript][:4] == ["system", "prompt", "reply", "edits"]

    (stubborn,) = model_runs(folder, "ollama_stubborn")
    assert stubborn["status"] == "failed"
    assert stubborn["prompts_sent"] == 5 == ollama.attempts["stubborn"]
    assert stubborn["human_interventions"] == 3 == stubborn["hints_given"]
    sent = ollama.bodies["stubborn"][-1]["messages"]
    assert any("The misspelled word is in greet.py." in m["content"] for m in sent)
    assert "failed" in stubborn["check_output"]

    (garbage,) = model_runs(folder, "ollama_garbage")
    assert garbage["status"] == "failed" and garbage["malformed_replies"] == 5 and garbage["files_modified"] == 0

    (ghost,) = model_runs(folder, "ollama_ghost")
    assert ghost["status"] == "error" and ghost["error"] == "model_not_found"
    assert ghost["request_attempts"] == 1 == ollama.attempts["ghost"]

    report = json.loads((folder / "comparison_report.json").read_text())
    assert report["rankings"]["fastest"][0]["model"] == "ollama/solver"
    assert next(e["model"] for e in report["rankings"]["leaderboard"]) == "ollama/solver"
    assert report["aggregates"]["ollama/stubborn"]["success_rate"] == 0
    manifest = json.loads((folder / "batch.json").read_text())
    assert manifest["status"] == "finished" and manifest["progress"] == {"planned": 4, "finished": 4, "passed": 1}
    assert "Fastest" in printed and folder.name in printed
    assert main(["history", "--output", str(tmp_path / "out")]) == 0
    listed = capsys.readouterr().out
    assert folder.name in listed and "finished" in listed and "1/4" in listed and "--resume BATCH" in listed


def test_a_model_that_echoes_the_files_back_is_told_nothing_changed_and_gets_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small models often answer with the files exactly as shown; the model must learn that its edit was a no-op."""
    greet = (FIX_TYPO.parent / "fix_typo" / "greet.py").read_text()
    with ScriptedOllama({"echo": Script(fixed(f"greet.py\n```\n{greet}```\n"))}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        code = main(["--task", str(FIX_TYPO), "--models", "echo", "--no-ui", "--output", str(tmp_path)])
        second_prompt = server.bodies["echo"][1]["messages"][-1]["content"]
    assert code == 0
    assert "nothing changed" in second_prompt and "Hint from the user: The misspelled word" in second_prompt
    (run,) = model_runs(batch_dir(tmp_path), "ollama_echo")
    assert run["status"] == "failed" and run["files_modified"] == 0 and run["malformed_replies"] == 0
    transcript = json.loads((batch_dir(tmp_path) / run["transcript_file"]).read_text())["transcript"]
    edits = [e for e in transcript if e["kind"] == "edits"]
    assert all(e["changed_nothing"] and e["content"] == "applied to greet.py (no file changed)" for e in edits)
    assert sum(e["kind"] == "check" for e in transcript) == 1  # an unchanged workspace is not checked again


def test_a_model_slower_than_the_timeout_times_out_and_the_batch_goes_on(
    ollama: ScriptedOllama, tmp_path: Path
) -> None:
    started = time.monotonic()
    code = main(
        ["--task", str(FIX_TYPO), "--models", "sleepy,solver", "--no-ui", "--output", str(tmp_path), "--timeout", "2"]
    )
    assert code == 0
    # The sleepy model streams its answer over about 9 s: the bounds say the 2 s deadline cut it off, with room for a
    # loaded machine (the run's teardown and the other model's run), not how fast that happens.
    assert time.monotonic() - started < 30
    folder = batch_dir(tmp_path)
    (sleepy,) = model_runs(folder, "ollama_sleepy")
    assert sleepy["status"] == "timeout" and sleepy["completion_time_s"] < 2 + 5
    assert model_runs(folder, "ollama_solver")[0]["status"] == "passed"


def test_global_options_before_a_subcommand_belong_to_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--output", str(tmp_path), "history"]) == 0
    assert "No batches" in capsys.readouterr().out
    assert main(["hsitory"]) == 2
    assert "unknown command 'hsitory'" in capsys.readouterr().err
    assert main(["--parallel", "4", "--timeout", "0", "--no-ui"]) == 2  # "4" is --parallel's N, not a command
    assert "--timeout must be" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # an option the subcommand does not take is refused
        main(["--task", "x.md", "history"])
    assert refused.value.code == 2
    assert "unrecognized arguments: --task x.md" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--models", "nonexistent"], "unknown model 'nonexistent'"),
        (["--category", "nope"], "unknown category 'nope'"),
        (["--timeout", "0"], "--timeout must be"),
        (["--timeout", "nan"], "--timeout must be"),
        (["--timeout", "inf"], "--timeout must be"),
        (["--parallel", "-1"], "--parallel must be 0"),
        (["--models", ""], "--models is empty"),
        (["--models", " , "], "--models is empty"),
        (["--models", "solvr"], "did you mean 'ollama/solver'?"),
        (["--assistants", "aidr"], "unknown assistant 'aidr' in --assistants; did you mean 'aider'? known:"),
    ],
)
def test_bad_command_line_input_exits_2_with_one_line(
    ollama: ScriptedOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    code = main(["--task", str(FIX_TYPO), "--no-ui", "--output", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_did_you_mean_prefers_the_plain_model_to_a_variant_sharing_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The built-in variant smollm2-135m-diff sends the same name as smollm2-135m: the guess is the plain key."""
    config = write_config(tmp_path / "models.yaml", "ollama: {enabled: false}\n")
    args = ["--task", str(FIX_TYPO), "--no-ui", "--config", str(config), "--output", str(tmp_path / "out")]
    assert main([*args, "--models", "smolm2"]) == 2
    assert "unknown model 'smolm2' in --models; did you mean 'smollm2-135m'? known" in capsys.readouterr().err
    assert main([*args, "--models", "smollm2-135m-dif"]) == 2  # the variant, when it is the one typed
    assert "did you mean 'smollm2-135m-diff'?" in capsys.readouterr().err


def test_a_malformed_task_exits_2_naming_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: x\ndifficulty: impossible\n---\nhi\n")
    assert main(["--task", str(bad), "--no-ui", "--output", str(tmp_path / "out")]) == 2
    assert f"{bad}:3: 'difficulty'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_invalid_config_exits_2_naming_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "c.yaml", "models:\n  - name: a\n    provider: skynet\n")
    assert main(["--task", str(FIX_TYPO), "--no-ui", "--config", str(config)]) == 2
    assert f"{config}:3: 'provider': unknown provider 'skynet'" in capsys.readouterr().err


def test_no_models_at_all_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path / "c.yaml", "embedded: {enabled: false}\n")
    assert main(["--task", str(FIX_TYPO), "--no-ui", "--config", str(config), "--output", str(tmp_path)]) == 2
    assert "no model is available" in capsys.readouterr().err


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchtui", *args],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_interrupts_exits_3_and_prints_the_resume_command(
    ollama: ScriptedOllama, tmp_path: Path, signum: signal.Signals
) -> None:
    env = {**os.environ, "OLLAMA_HOST": ollama.url}
    proc = run_cli(["--task", str(FIX_TYPO), "--models", "solver,sleepy", "--no-ui", "--output", str(tmp_path)], env)
    wait_for(lambda: ollama.attempts["sleepy"] >= 1)
    started = time.monotonic()
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 3, output
    assert time.monotonic() - started < 5
    folder = batch_dir(tmp_path)
    assert json.loads((folder / "batch.json").read_text())["status"] == "interrupted"
    assert f"--resume {folder.name}" in output
    assert not (folder / "runs" / "ollama_sleepy").exists()


def test_interrupted_before_any_run_finished_prints_no_empty_rankings(ollama: ScriptedOllama, tmp_path: Path) -> None:
    env = {**os.environ, "OLLAMA_HOST": ollama.url}
    proc = run_cli(["--task", str(FIX_TYPO), "--models", "sleepy", "--no-ui", "--output", str(tmp_path)], env)
    wait_for(lambda: ollama.attempts["sleepy"] >= 1)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 3, output
    assert "No run finished" in output and "Leaderboard" not in output and "no model passed" not in output
    assert f"--resume {batch_dir(tmp_path).name}" in output


def test_sigkill_midway_then_resume_reruns_only_unfinished_runs(ollama: ScriptedOllama, tmp_path: Path) -> None:
    env = {**os.environ, "OLLAMA_HOST": ollama.url}
    proc = run_cli(
        [
            "--task",
            str(FIX_TYPO),
            "--models",
            "solver,sleepy,garbage",
            "--no-ui",
            "--output",
            str(tmp_path),
            "--timeout",
            "60",
        ],
        env,
    )
    wait_for(lambda: ollama.attempts["sleepy"] >= 1)
    proc.kill()
    proc.communicate(timeout=10)
    folder = batch_dir(tmp_path)
    assert (folder / "runs" / "ollama_solver" / "fix_typo__r1.json").exists()
    solver_calls, sleepy_calls = ollama.attempts["solver"], ollama.attempts["sleepy"]

    ollama.scripts["sleepy"] = Script(solution_reply(FIX_TYPO))
    resumed = run_cli(["--resume", folder.name, "--no-ui", "--output", str(tmp_path)], env)
    output, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, output
    assert ollama.attempts["solver"] == solver_calls  # finished before the kill: never sent again
    assert ollama.attempts["sleepy"] == sleepy_calls + 1
    report = json.loads((folder / "comparison_report.json").read_text())
    assert sorted(report["aggregates"]) == ["ollama/garbage", "ollama/sleepy", "ollama/solver"]
    assert {r["model"]: r["status"] for r in report["runs"]} == {
        "ollama/solver": "passed",
        "ollama/sleepy": "passed",
        "ollama/garbage": "failed",
    }
    assert json.loads((folder / "batch.json").read_text())["status"] == "finished"


def test_an_empty_ollama_and_nothing_else_exits_2_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedOllama({}) as empty:
        monkeypatch.setenv("OLLAMA_HOST", empty.url)
        assert main(["--task", str(FIX_TYPO), "--no-ui", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no models installed" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.timeout(30)  # a display that writes while holding its lock deadlocks against rich's refresh
def test_in_a_terminal_the_live_table_shows_each_run_as_the_board_sees_it() -> None:
    import io

    from rich.console import Console

    from benchtui.cli.headless import HeadlessDisplay
    from benchtui.engine.events import BatchFinished, BatchStarted, PlannedRun, RunFinished, RunStarted, RunUpdate

    screen = io.StringIO()
    display = HeadlessDisplay(Console(file=screen, force_terminal=True, width=140, color_system=None))
    display.emit(
        BatchStarted(
            "b1",
            Path("/tmp/b1"),
            (
                PlannedRun("r1", "fix_typo", "ollama/solver", 1),
                PlannedRun("r2", "fix_typo", "ollama/slow", 1, done=True),
            ),
        )
    )
    display.emit(RunStarted("r1"))
    display.emit(RunUpdate("r1", "checking", 2, 5, 2, 1, 120, 33.3, 4.0, "1 failed, 2 passed"))
    live = Console(width=140, color_system=None)
    with live.capture() as captured:
        live.print(display._render())
    mid_run = captured.get()
    assert "checking" in mid_run and "2/5" in mid_run and "33.3" in mid_run and "1 failed, 2 passed" in mid_run
    assert "kept" in mid_run  # finished before this resume
    # A partial result: the live table reads only these keys, so the test leaves out task_id and model.
    display.emit(
        RunFinished(
            "r1",
            cast(
                RunResult,
                {
                    "status": "error",
                    "error": "timeout",
                    "error_message": "no answer in 30 s",
                    "prompts_sent": 2,
                    "completion_time_s": 31.0,
                    "turns": 2,
                },
            ),
        )
    )
    display.emit(BatchFinished("b1", Path("/tmp/b1"), "finished"))
    with live.capture() as captured:
        live.print(display._render())
    assert "timeout: no answer in 30 s" in captured.get() and "31.0 s" in captured.get()
    assert [r["status"] for r in display.results] == ["error"]
    assert "Starting batch b1: 1 run(s) to do" in screen.getvalue()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--parallel", "abc"], "--parallel takes a whole number N (or nothing), got 'abc'"),
        (["--modls", "x"], "unknown option '--modls'; did you mean --models?"),
        (["--taks", "tasks/easy"], "unknown option '--taks'; did you mean --task?"),
        (["--frobnicate"], "unknown option '--frobnicate' (see benchtui --help)"),
    ],
)
def test_a_bad_flag_is_named_not_its_value(args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args, "--no-ui"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "unknown command" not in err and len(err.strip().splitlines()) == 1


def test_abbreviated_and_negative_values_still_reach_argparse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--outp", str(tmp_path), "history"]) == 0  # argparse's unambiguous abbreviation
    assert "No batches" in capsys.readouterr().out
    assert main(["--task", str(FIX_TYPO), "--parallel", "-1", "--no-ui"]) == 2
    assert "--parallel must be 0" in capsys.readouterr().err


def test_help_says_what_no_ui_prints_in_a_terminal_and_in_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert (
        "a live progress table in a terminal, one line per started and finished run when the output is piped" in shown
    )


def test_help_gives_parallels_defaults_for_every_kind_of_endpoint_as_the_engine_sets_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchtui.engine import embedded, endpoints

    with pytest.raises(SystemExit):
        main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    ollama, cloud, local = endpoints.OLLAMA_DEFAULT_PARALLEL, endpoints.CLOUD_CONCURRENCY, embedded.DEFAULT_SLOTS
    assert f"each endpoint's default: Ollama {ollama}, cloud {cloud}, embedded {local} server slots" in shown


def test_an_interrupted_batch_says_so_before_its_partial_rankings_and_resumes_headless(
    ollama: ScriptedOllama, tmp_path: Path
) -> None:
    env = {**os.environ, "OLLAMA_HOST": ollama.url}
    proc = run_cli(["--task", str(FIX_TYPO), "--models", "garbage,sleepy", "--no-ui", "--output", str(tmp_path)], env)
    wait_for(lambda: ollama.attempts["garbage"] >= 5 and ollama.attempts["sleepy"] >= 1)
    wait_for(lambda: (batch_dir(tmp_path) / "runs" / "ollama_garbage").exists())
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 3, output
    assert "no model passed" not in output  # no empty podium rows
    assert output.index("Interrupted after 1 of 2 run(s) finished") < output.index("Leaderboard")
    assert "No model passed, so there is no podium." in output
    assert f"Resume with: benchtui --resume {batch_dir(tmp_path).name} --output {tmp_path} --no-ui" in output


def test_the_podium_shows_whole_counts_as_integers() -> None:
    import io

    from rich.console import Console

    from benchtui.cli.summary import summary

    run: RunResult = {
        "model": "m",
        "task_id": "t",
        "status": "passed",
        "completion_time_s": 1.5,
        "prompts_sent": 5,
        "human_interventions": 0,
    }
    console = Console(file=io.StringIO(), width=120)
    console.print(summary([run]))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "(5 prompts)" in shown and "(0 interventions)" in shown and "5.00" not in shown
    console = Console(file=io.StringIO(), width=120)
    console.print(summary([{**run, "prompts_sent": 1}, {**run, "prompts_sent": 2, "repeat": 2}]))
    assert "(1.5 prompts)" in console.file.getvalue()  # type: ignore[attr-defined]


def test_a_closed_stdout_pipe_ends_quietly_with_exit_0(tmp_path: Path) -> None:
    """`benchtui history | head -1`: the reader went away; that is no error."""
    for name in ("a", "b"):
        (tmp_path / f"batch_2026010{len(name)}_00000{name}").mkdir()
    read, write = os.pipe()
    os.close(read)  # the reader is gone before benchtui writes a byte
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchtui", "history", "--output", str(tmp_path)],
            cwd=REPO,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert proc.returncode == 0 and proc.stderr == ""


def test_the_summary_shows_replies_cut_off_by_the_token_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ollama's num_predict cuts the reply and its done_reason says "length": only the transcript showed it.
    config = write_config(
        tmp_path / "models.yaml", "models:\n  - name: chatty\n    provider: ollama\n    settings: {max_tokens: 6}\n"
    )
    with ScriptedOllama({"chatty": Script(fixed("Let me explain at length. " * 30), honour_max_tokens=True)}) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        code = main(
            [
                "--task",
                str(FIX_TYPO),
                "--models",
                "chatty",
                "--no-ui",
                "--output",
                str(tmp_path / "out"),
                "--config",
                str(config),
            ]
        )
    assert code == 0
    (run,) = model_runs(batch_dir(tmp_path / "out"), "ollama_chatty")
    assert run["truncated_replies"] == run["prompts_sent"] == 5
    printed = " ".join(capsys.readouterr().out.split())
    assert "⚠ 5 replies were cut off by the token limit (ollama/chatty 5): raise settings.max_tokens" in printed


def test_the_wide_summary_has_a_cut_off_column() -> None:
    from rich.console import Console

    from benchtui.cli.summary import summary
    from tests.support.report_fixture import result

    runs = [result("t", "cut", truncated_replies=2), result("t", "whole")]
    console = Console(width=140, color_system=None, record=True)
    console.print(summary(runs, width=140))
    shown = console.export_text()
    lines = shown.splitlines()
    header = next(line for line in lines if "Malformed  Cut off" in line)
    end = header.index("Cut off") + len("Cut off")  # figures are right-aligned under their header
    assert [line[:end].split()[-1] for line in lines if line.split()[1:2] in (["cut"], ["whole"])] == ["2", "0"]
    assert "⚠ 2 replies were cut off by the token limit (cut 2)" in shown


def test_the_summary_shows_the_cache_hit_ratio_and_warns_of_runaway_replies() -> None:
    from rich.console import Console

    from benchtui.cli.summary import summary
    from tests.support.report_fixture import result

    runs = [
        result("t", "cached", prompt_tokens=1000, cached_prompt_tokens=750, runaway_replies=3),
        result("t", "silent", prompt_tokens=1000),
    ]
    console = Console(width=140, color_system=None, record=True)
    console.print(summary(runs, width=140))
    shown = console.export_text()
    rows = {line.split()[1]: line for line in shown.splitlines() if line.split()[1:2] in (["cached"], ["silent"])}
    # A server that reported no cache figure shows none, not 0 %.
    assert rows["cached"].rstrip().endswith("75 %") and rows["silent"].rstrip().endswith("—")
    assert "⚠ 3 replies were stopped for repeating the same text (cached 3)" in shown
    narrow = Console(width=80, color_system=None, record=True)
    narrow.print(summary(runs, width=80))
    header = next(line for line in narrow.export_text().splitlines() if "Model" in line and "Pass" in line)
    assert "Cache" not in header and "Cache" in next(line for line in shown.splitlines() if "Model" in line)


def test_the_summary_marks_the_contestant_whose_tool_calls_were_repaired_and_no_other() -> None:
    from rich.console import Console

    from benchtui.cli.summary import summary
    from tests.support.report_fixture import result

    runs = [
        result("t", "aider · needs", repaired_tool_calls=4),
        result("u", "aider · needs", repaired_tool_calls=3),
        result("t", "aider · fine", repaired_tool_calls=0),
        result("t", "loop"),
    ]
    for width in (140, 80):
        console = Console(width=width, color_system=None, record=True)
        console.print(summary(runs, width=width))
        shown = console.export_text()
        # The leaderboard's rows by model; the mark goes first in the Model cell, where a name too long for
        # 80 columns is cut at its end and the mark stays.
        rows = {}
        for line in shown.splitlines():
            for model in ("aider · needs", "aider · fine", "loop"):
                if line[:3].strip().lstrip("=").isdigit() and model in line:  # "=1": a shared place
                    rows[model] = line
        assert rows["aider · needs"].split()[1] == "⚒"
        assert "⚒" not in rows["aider · fine"] + rows["loop"]
        assert "⚒ 7 tool calls written as text were made real calls by the gateway (aider · needs 7)" in " ".join(
            shown.split()
        )
    # Wide: a Repaired column, 0 for a repair never needed, a dash for one that was off (or benchtui's loop).
    wide = Console(width=140, color_system=None, record=True)
    wide.print(summary(runs, width=140))
    lines = wide.export_text().splitlines()
    assert next(line for line in lines if "Model" in line and "Pass" in line).rstrip().endswith("Repaired")
    last = {
        model: line.split()[-1]
        for line in lines
        if line[:3].strip().lstrip("=").isdigit()
        for model in ("aider · needs", "aider · fine", "loop")
        if model in line
    }
    assert last == {"aider · needs": "7", "aider · fine": "0", "loop": "—"}


def test_a_summary_without_repairs_has_no_repaired_column_or_mark() -> None:
    from rich.console import Console

    from benchtui.cli.summary import summary
    from tests.support.report_fixture import result

    console = Console(width=140, color_system=None, record=True)
    console.print(summary([result("t", "loop"), result("t", "other")], width=140))
    assert "Repaired" not in console.export_text() and "⚒" not in console.export_text()


def test_the_summary_never_shows_a_partial_sum_as_a_models_cost() -> None:
    from rich.console import Console

    from benchtui.cli.summary import summary
    from tests.support.report_fixture import result

    runs = [
        result("t1", "partly", cost_usd=0.5, prompts_sent=1),
        result("t2", "partly", cost_usd=None, prompts_sent=1),  # e.g. cached tokens its pricing cannot price
        result("t1", "priced", cost_usd=0.25, prompts_sent=1),
        result("t2", "priced", cost_usd=None, prompts_sent=0),  # never asked the model: cost nothing
        result("t1", "unpriced", cost_usd=None, prompts_sent=1),
    ]
    console = Console(width=140, color_system=None, record=True)
    console.print(summary(runs, width=140))
    shown = console.export_text()
    rows = {line.split()[1]: line for line in shown.splitlines() if line.split()[1:2] in (["partly"], ["priced"])}
    assert "$0.5000" not in rows["partly"] and "—" in rows["partly"] and "$0.2500" in rows["priced"]
    assert "Cost —: some runs' cost is not known (partly 1 of 2 runs; the batch log says why)" in shown
    assert "unpriced" not in shown.split("Cost —")[1]  # an unpriced model's — is no surprise: no note


def test_piped_run_lines_name_the_repeat_as_the_board_does() -> None:
    """With --repeats 2 the two runs of one model on one task must be told apart in the log."""
    import io

    from rich.console import Console

    from benchtui.cli.headless import HeadlessDisplay
    from benchtui.engine.events import BatchStarted, PlannedRun, RunFinished, RunStarted

    pipe = io.StringIO()
    display = HeadlessDisplay(Console(file=pipe, force_terminal=False, width=200, color_system=None))
    runs = (PlannedRun("r1", "fix_typo", "smollm2-135m", 1), PlannedRun("r2", "fix_typo", "smollm2-135m", 2))
    display.emit(BatchStarted("b1", Path("/tmp/b1"), runs))
    for run in runs:
        display.emit(RunStarted(run.run_id))
        display.emit(
            RunFinished(
                run.run_id,
                cast(RunResult, {"status": "failed", "error": None, "prompts_sent": 5, "completion_time_s": 234.2}),
            )
        )
    lines = pipe.getvalue().splitlines()
    assert "▶ smollm2-135m · fix_typo" in lines and "▶ smollm2-135m · fix_typo #2" in lines
    finished = [line for line in lines if line.startswith("■")]
    assert finished[0].startswith("■ smollm2-135m · fix_typo: failed in 234.2 s")
    assert finished[1].startswith("■ smollm2-135m · fix_typo #2: failed in 234.2 s")
