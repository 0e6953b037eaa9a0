"""Waiting for a busy server or a busy CPU is queue time, never the model's time (issue 12, section 2).

An endpoint is never sent more requests at once than it serves; a run that waits for a request slot or a
check slot shows as ``queued``, its wait is ``queue_time_s``, and the wait counts in neither its
``completion_time_s`` nor its timeout. The batch says at its start what each endpoint gets and why.
Real loopback servers throughout (tests/support/scripted.py); the waits are made long and the assertions
keep wide margins, because the machine running the tests is shared.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import httpx
import pytest
from rich.console import Console

from benchtui.cli import build_parser, main
from benchtui.cli.headless import HeadlessDisplay
from benchtui.engine import embedded
from benchtui.engine.contestants import RunControl, run_task
from benchtui.engine.endpoints import endpoint_concurrency
from benchtui.engine.events import (
    BatchStarted,
    LogMessage,
    PlannedRun,
    RecordingSink,
    RunProgress,
    RunStarted,
    RunUpdate,
)
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import make_provider
from benchtui.engine.results import RunResult
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import Task, load_tasks
from benchtui.present.board import RunBoard
from tests.conftest import write_config
from tests.support.scripted import (
    Script,
    ScriptedOllama,
    ScriptedOpenAI,
    ScriptedServer,
    sequence,
    solution_reply,
    tiny_task,
)

HOLD_S = 3.0  # how long a test keeps a slot busy once the run is seen waiting for it


def _openai(name: str, server: ScriptedServer, concurrency: int | None = None) -> ModelSpec:
    return ModelSpec(
        key=name, name=name, provider="openai", display_name=name, base_url=f"{server.url}/v1", concurrency=concurrency
    )


def _slow_check_task(folder: Path, seconds: float) -> Path:
    """tiny_task, with a check that takes ``seconds`` (so runs reaching it together wait for one another)."""
    task = tiny_task(folder)
    task.write_text(
        task.read_text().replace("check: grep -q done answer.txt", f"check: sleep {seconds} && grep -q done answer.txt")
    )
    return task


class _Holder:
    """Keeps a slot of ``slots`` taken until the run is seen queued for it, then ``hold_s`` longer."""

    def __init__(self, slots: threading.Semaphore, hold_s: float = HOLD_S) -> None:
        self.slots = slots
        self.hold_s = hold_s
        self.slots.acquire()
        self.seen_queued = threading.Event()
        self.phases: list[str] = []
        self.thread = threading.Thread(target=self._release, daemon=True)
        self.thread.start()

    def progress(self, p: RunProgress) -> None:
        self.phases.append(p.phase)
        if p.phase == "queued":
            self.seen_queued.set()

    def _release(self) -> None:
        self.seen_queued.wait(60)
        time.sleep(self.hold_s)
        self.slots.release()


def _measured(figure: float | None) -> float:
    """A figure the test needs: None (not measured) fails here as it would in the comparison."""
    assert figure is not None
    return figure


def _run_once(
    task: Task,
    spec: ModelSpec,
    holder: _Holder,
    *,
    request_slots: threading.Semaphore | None = None,
    check_slots: threading.Semaphore | None = None,
) -> tuple[RunResult, float]:
    provider = make_provider(spec)
    started = time.monotonic()
    try:
        result, _transcript = run_task(
            task,
            spec,
            provider,
            on_progress=holder.progress,
            timeout_s=60,
            request_slots=request_slots,
            check_slots=check_slots,
        )
    finally:
        provider.close()
    holder.thread.join(10)
    return result, time.monotonic() - started


def test_a_run_waiting_for_a_request_slot_is_queued_and_the_wait_is_queue_time(tmp_path: Path) -> None:
    task_md = tiny_task(tmp_path / "task")
    slots = threading.Semaphore(1)
    holder = _Holder(slots)  # another run's request holds the endpoint's only slot
    with ScriptedOpenAI({"m": Script(solution_reply(task_md))}) as server:
        result, wall = _run_once(load_tasks([task_md])[0], _openai("m", server), holder, request_slots=slots)

    assert result["status"] == "passed"
    assert holder.phases.count("queued") == 1 and holder.phases.index("queued") < holder.phases.index("checking")
    assert _measured(result["queue_time_s"]) >= HOLD_S - 0.1
    # The wait is not the run's: its own time is the wall time less the wait (a small margin for the
    # moments before and after run_task's own clock).
    assert result["completion_time_s"] <= wall - _measured(result["queue_time_s"]) + 0.05
    assert result["completion_time_s"] < wall - HOLD_S + 0.1
    assert _measured(result["model_time_s"]) < HOLD_S - 1


def test_a_run_waiting_for_a_check_slot_is_queued_and_the_wait_is_queue_time(tmp_path: Path) -> None:
    task_md = tiny_task(tmp_path / "task")
    slots = threading.Semaphore(1)
    holder = _Holder(slots)  # another run's check holds the only CPU
    with ScriptedOpenAI({"m": Script(solution_reply(task_md))}) as server:
        result, wall = _run_once(load_tasks([task_md])[0], _openai("m", server), holder, check_slots=slots)

    assert result["status"] == "passed"
    # The wait is not the run's (before the fix it was all of it, though not in check_time_s).
    assert result["completion_time_s"] < wall - HOLD_S + 0.1
    assert "queued" in holder.phases
    assert holder.phases[-2:] == ["checking", "passed"]  # back to checking once a slot is free
    assert _measured(result["queue_time_s"]) >= HOLD_S - 0.1
    assert result["completion_time_s"] <= wall - _measured(result["queue_time_s"]) + 0.05
    assert _measured(result["check_time_s"]) < HOLD_S - 1


def test_queueing_for_a_check_slot_does_not_use_up_the_timeout(tmp_path: Path) -> None:
    task_md = tiny_task(tmp_path / "task")
    # A wrong first reply, so the run needs a second turn after the check it queued for.
    wrong = "answer.txt\n```\n<<<<<<< SEARCH\ntodo\n=======\nnot yet\n>>>>>>> REPLACE\n```\n"
    right = "answer.txt\n```\n<<<<<<< SEARCH\nnot yet\n=======\ndone\n>>>>>>> REPLACE\n```\n"
    task = replace(load_tasks([task_md])[0], timeout_s=5.0)  # shorter than the wait for the check slot
    slots = threading.Semaphore(1)
    holder = _Holder(slots, hold_s=8.0)
    with ScriptedOpenAI({"m": Script(sequence(wrong, right))}) as server:
        result, _wall = _run_once(task, _openai("m", server), holder, check_slots=slots)

    assert result["status"] == "passed", (result["status"], result["error_message"])
    assert result["turns"] == 2
    assert _measured(result["queue_time_s"]) >= 7.9


def test_runs_queued_for_the_check_slots_keep_the_wait_out_of_their_times(tmp_path: Path) -> None:
    # --parallel 4 with one check slot: four runs reach their check together, three of them wait.
    task_md = _slow_check_task(tmp_path / "task", 1.5)
    with ScriptedOpenAI({"m": Script(solution_reply(task_md))}) as server:
        sink = RecordingSink()
        runner = BatchRunner(
            store=ResultsStore(tmp_path / "out"),
            tasks=load_tasks([task_md]),
            models=[_openai("m", server)],
            options=BatchOptions(parallel=4, repeats=4),
            sink=sink,
            check_slots=1,
        )
        outcome = runner.run()

    assert [r["status"] for r in outcome.results] == ["passed"] * 4
    for result in outcome.results:
        own = result["completion_time_s"] - _measured(result["model_time_s"]) - _measured(result["check_time_s"])
        assert own < 1.5, result  # benchtui's own overhead; before the fix it held up to 4.5 s of waiting
    # Three checks of 1.5 s ran before the last one: it waited about 4.5 s.
    assert max(_measured(r["queue_time_s"]) for r in outcome.results) >= 3.0
    queued = {e.run_id for e in sink.events if isinstance(e, RunUpdate) and e.phase == "queued"}
    assert len(queued) >= 2


def test_an_ollama_endpoint_gets_no_more_requests_than_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    task_md = tiny_task(tmp_path / "task")
    server = ScriptedOllama({"solver": Script(solution_reply(task_md), first_byte_delay_s=0.3)}).start()
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    try:
        code = main(
            [
                "--task",
                str(task_md),
                "--models",
                "solver",
                "--parallel",
                "4",
                "--repeats",
                "3",
                "--no-ui",
                "--output",
                str(tmp_path / "out"),
            ]
        )
    finally:
        server.close()
    printed = capsys.readouterr().out
    assert code == 0
    # Ollama serves one request per model unless told otherwise: --parallel 4 sent it one at a time...
    assert server.peak_in_flight == 1
    # ...and the batch said so, and why, before the first run.
    line = (
        f"Ollama at {server.url}: 1 request at a time, Ollama serves 1 request per model by default "
        "(OLLAMA_NUM_PARALLEL)"
    )
    assert line in printed
    assert "(--parallel asked for 4)" in printed
    assert printed.index(line) < printed.index("▶")


def test_a_configured_ollama_concurrency_is_used_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    task_md = tiny_task(tmp_path / "task")
    server = ScriptedOllama({"solver": Script(solution_reply(task_md), first_byte_delay_s=0.5)}).start()
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    config = write_config(tmp_path / "models.yaml", "embedded: {enabled: false}\nollama: {concurrency: 2}\n")
    try:
        code = main(
            [
                "--task",
                str(task_md),
                "--models",
                "solver",
                "--parallel",
                "--repeats",
                "4",
                "--no-ui",
                "--output",
                str(tmp_path / "out"),
                "--config",
                str(config),
            ]
        )
    finally:
        server.close()
    printed = capsys.readouterr().out
    assert code == 0
    assert server.peak_in_flight == 2
    assert f"Ollama at {server.url}: 2 requests at a time, concurrency: 2 in models_config.yaml" in printed


def test_plain_parallel_gives_a_cloud_endpoint_four_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task_md = tiny_task(tmp_path / "task")
    with ScriptedOpenAI({"gpt-test": Script(solution_reply(task_md), first_byte_delay_s=1.0)}) as server:
        config = write_config(
            tmp_path / "models.yaml",
            "embedded: {enabled: false}\nollama: {enabled: false}\n"
            f"models:\n  - name: gpt-test\n    provider: openai\n    base_url: {server.url}/v1\n",
        )
        argv = [
            "--task",
            str(task_md),
            "--models",
            "gpt-test",
            "--repeats",
            "6",
            "--parallel",
            "--no-ui",
            "--output",
            str(tmp_path / "out"),
            "--config",
            str(config),
        ]
        assert build_parser().parse_args(argv).parallel == 0
        code = main(argv)
    printed = capsys.readouterr().out
    assert code == 0
    assert server.peak_in_flight == 4
    assert f"127.0.0.1:{server.port}/v1: 4 requests at a time, the --parallel default for cloud endpoints" in printed


def test_without_parallel_the_batch_says_one_run_at_a_time(tmp_path: Path) -> None:
    task_md = tiny_task(tmp_path / "task")
    with ScriptedOpenAI({"a": Script(solution_reply(task_md)), "b": Script(solution_reply(task_md))}) as server:
        sink = RecordingSink()
        BatchRunner(
            store=ResultsStore(tmp_path / "out"),
            tasks=load_tasks([task_md]),
            models=[_openai("a", server), _openai("b", server)],
            sink=sink,
        ).run()
    said = [e.text for e in sink.events if isinstance(e, LogMessage)]
    assert said.count("One run at a time for the whole batch (no --parallel)") == 1
    assert server.peak_in_flight == 1


def test_each_endpoint_gets_what_it_serves_and_the_reason() -> None:
    def spec(provider: str, concurrency: int | None = None) -> ModelSpec:
        return ModelSpec(
            key=f"{provider}-m",
            name="smollm2-135m",
            provider=provider,
            display_name="m",
            base_url=None if provider == "embedded" else "http://127.0.0.1:1",
            concurrency=concurrency,
        )

    # Embedded: benchtui starts the server, so it gets the slots the batch asks for (within bounds).
    assert endpoint_concurrency(spec("embedded"), 2) == (2, "--parallel 2: its server has 2 slots")
    assert endpoint_concurrency(spec("embedded"), 0) == (
        embedded.DEFAULT_SLOTS,
        f"the --parallel default for an embedded server: its server has {embedded.DEFAULT_SLOTS} slots",
    )
    assert endpoint_concurrency(spec("embedded", concurrency=1), 4) == (
        1,
        "concurrency: 1 in models_config.yaml: its server has 1 slot",
    )
    assert endpoint_concurrency(spec("embedded"), 50) == (
        embedded.MAX_SLOTS,
        f"--parallel 50, but at most {embedded.MAX_SLOTS} slots per embedded server: its server has "
        f"{embedded.MAX_SLOTS} slots",
    )
    assert endpoint_concurrency(spec("embedded"), None) == (1, "one run at a time for the whole batch (no --parallel)")
    # Ollama: its configured concurrency, else Ollama's documented default of 1.
    assert endpoint_concurrency(spec("ollama"), 4)[0] == 1
    assert endpoint_concurrency(spec("ollama", concurrency=3), 0) == (3, "concurrency: 3 in models_config.yaml")
    assert endpoint_concurrency(spec("ollama", concurrency=3), 2) == (2, "--parallel 2")
    # Cloud: --parallel N, capped by a configured limit; plain --parallel: the limit, else 4.
    assert endpoint_concurrency(spec("openai"), 0) == (4, "the --parallel default for cloud endpoints")
    assert endpoint_concurrency(spec("openai"), 8) == (8, "--parallel 8")
    assert endpoint_concurrency(spec("openai", concurrency=2), 8) == (
        2,
        "concurrency: 2 in models_config.yaml (--parallel asked for 8)",
    )
    assert endpoint_concurrency(spec("openai"), None)[0] == 1


def test_an_embedded_servers_slots_are_bounded_by_memory() -> None:
    mib = 1024 * 1024
    # SmolLM2's 23,040 bytes per token: 90 MiB of KV cache per 4096-token slot.
    fits = embedded.slots_within_memory(
        8, context=4096, kv_bytes_per_token=23_040, model_bytes=100 * mib, available_bytes=900 * mib
    )
    assert fits == (4, "4 slots of 4096 tokens fit in memory (90 MiB of KV cache each, 400 MiB allowed)")
    # Always one, even with no room; and unknown memory or KV size leaves only the cap.
    assert (
        embedded.slots_within_memory(4, context=4096, kv_bytes_per_token=23_040, model_bytes=0, available_bytes=0)[0]
        == 1
    )
    assert embedded.slots_within_memory(4, context=4096, kv_bytes_per_token=None, model_bytes=None) == (4, None)
    assert embedded.slots_within_memory(
        3, context=4096, kv_bytes_per_token=23_040, model_bytes=0, available_bytes=mib**2
    ) == (
        3,
        None,
    )
    # The batch says why it sends fewer: the model's details carry its KV size and file size.
    model = ModelSpec(
        key="m",
        name="big",
        provider="embedded",
        display_name="m",
        context=32_768,
        details=MappingProxyType({"kv_bytes_per_token": 10**9, "size_bytes": 1}),
    )
    limit, why = endpoint_concurrency(model, 4)
    assert limit == 1 and why.startswith("--parallel 4, but 1 slot of 32768 tokens fit in memory"), why


@pytest.mark.llm
def test_the_embedded_server_has_the_slots_the_batch_asks_for_each_with_the_whole_context(tmp_path: Path) -> None:
    model = next(m for m in embedded.known_models() if m.name == embedded.SMOLLM2)
    if model.unavailable_reason is not None:
        pytest.skip(f"{embedded.SMOLLM2} is not installed: {model.unavailable_reason}")
    spec = ModelSpec(key=model.name, name=model.name, provider="embedded", display_name=model.display_name)
    slots = endpoint_concurrency(spec, 3)[0]
    with embedded.EmbeddedServers(threads=1, log_dir=tmp_path) as servers:
        url = servers.ensure_started(embedded.SMOLLM2, n_ctx=1024, slots=slots)
        props = httpx.get(f"{url}/props", timeout=30, trust_env=False).json()
        each = httpx.get(f"{url}/slots", timeout=30, trust_env=False).json()
    assert props["total_slots"] == slots == 3
    assert [s["n_ctx"] for s in each] == [1024, 1024, 1024]  # not 1024 split three ways


def test_a_queued_run_shows_as_queued_and_its_time_stands_still() -> None:
    now = [100.0]
    board = RunBoard(lambda: now[0])
    board.apply(BatchStarted("b1", Path("/tmp/b1"), (PlannedRun("t::m::1", "t", "m", 1),)))
    board.apply(RunStarted("t::m::1"))
    board.apply_updates([RunUpdate("t::m::1", "queued", 1, 3, 0, 0, 0, None, 1.5)])
    row = board.rows["t::m::1"]
    now[0] += 30.0
    assert row.shown_status == "queued"
    assert board.live_elapsed(row) == 1.5
    board.apply_updates([RunUpdate("t::m::1", "prompting", 1, 3, 1, 0, 0, None, 1.5)])
    now[0] += 2.0
    assert row.shown_status == "prompting"
    assert board.live_elapsed(row) == 3.5


def test_the_headless_table_shows_a_queued_run_with_its_clock_stopped() -> None:
    screen = io.StringIO()
    display = HeadlessDisplay(Console(file=screen, force_terminal=True, width=140, color_system=None))
    now = [100.0]
    display.board.clock = lambda: now[0]
    display.emit(BatchStarted("b1", Path("/tmp/b1"), (PlannedRun("r1", "fix_typo", "gpt-test", 1),)))
    display.emit(RunStarted("r1"))
    display.emit(RunUpdate("r1", "queued", 2, 5, 1, 0, 120, None, 1.5))
    now[0] += 30.0
    live = Console(width=140, color_system=None)
    with live.capture() as captured:
        live.print(display._render())
    display.stop()
    table = captured.get()
    assert "queued" in table and "1.5 s" in table and "31.5 s" not in table


def test_a_run_queued_for_a_check_slot_can_be_cancelled_while_it_waits(tmp_path: Path) -> None:
    task_md = tiny_task(tmp_path / "task")
    slots = threading.Semaphore(1)
    slots.acquire()  # another run's check holds the only CPU for longer than this test
    control = RunControl()

    def cancel_when_queued(p: RunProgress) -> None:
        if p.phase == "queued":
            control.cancel.set()

    with ScriptedOpenAI({"m": Script(solution_reply(task_md))}) as server:
        spec = _openai("m", server)
        provider = make_provider(spec)
        started = time.monotonic()
        try:
            result, _transcript = run_task(
                load_tasks([task_md])[0],
                spec,
                provider,
                control=control,
                on_progress=cancel_when_queued,
                check_slots=slots,
            )
        finally:
            provider.close()
    assert result["status"] == "cancelled"
    assert time.monotonic() - started < 10  # not held until the slot came free
