"""Endpoint pools (issue 18): a model served by several endpoints, runs to whichever has a free slot, a
failing endpoint out of the pool with its run redone on another, the endpoint of every result, OLLAMA_HOST
with several hosts, the config's pools and their errors, resume across endpoints, the per-endpoint table.

Real loopback servers throughout (tests/support/scripted.py); a dead endpoint is a port nothing listens on.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from benchtui.cli.summary import summary
from benchtui.engine.config import load_config
from benchtui.engine.discovery import discover
from benchtui.engine.errors import ConfigError
from benchtui.engine.events import LogMessage, RecordingSink
from benchtui.engine.models import Endpoint, ModelSpec
from benchtui.engine.providers import RetryPolicy
from benchtui.engine.reports.data import build_report_data
from benchtui.engine.reports.endpoints import endpoint_rows
from benchtui.engine.reports.html.page import render
from benchtui.engine.results import RunResult
from benchtui.engine.runner import BatchOptions, BatchOutcome, BatchRunner, run_fingerprint
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import Task, load_tasks
from tests.conftest import REPO, write_config
from tests.support.scripted import Script, ScriptedOllama, ScriptedOpenAI, always, solution_reply, tiny_task

# Few, quick retries: a dead endpoint costs a run a few milliseconds, not the default backoff's seconds.
QUICK = RetryPolicy(max_retries=1, base_delay_s=0.01, max_delay_s=0.02, connect_timeout_s=2.0)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was just free): connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def pooled(name: str, *urls: str, concurrency: int | None = None) -> ModelSpec:
    endpoints = tuple(Endpoint(url, concurrency) for url in urls)
    return ModelSpec(
        key=name,
        name=name,
        provider="openai",
        display_name=name,
        base_url=urls[0],
        concurrency=concurrency,
        pool=endpoints if len(endpoints) > 1 else (),
    )


def label(url: str) -> str:
    return url.removeprefix("http://")


def run_batch(
    tmp_path: Path,
    tasks: list[Task],
    models: list[ModelSpec],
    *,
    parallel: int | None = 0,
    repeats: int = 4,
    outcome: BatchOutcome | None = None,
) -> tuple[BatchOutcome, RecordingSink]:
    sink = RecordingSink()
    runner = BatchRunner(
        store=ResultsStore(tmp_path / "out"),
        tasks=tasks,
        models=models,
        options=BatchOptions(parallel=parallel, repeats=repeats),
        sink=sink,
        policy=QUICK,
        batch=outcome.batch if outcome is not None else None,
    )
    return runner.run(), sink


def logs(sink: RecordingSink) -> list[str]:
    return [e.text for e in sink.events if isinstance(e, LogMessage)]


@pytest.fixture
def task(tmp_path: Path) -> tuple[Path, Task]:
    task_md = tiny_task(tmp_path / "task")
    return task_md, load_tasks([task_md])[0]


# Dispatch and failover


@pytest.mark.parametrize("fault", ["closed port", "HTTP 500 through every retry", "HTTP 429 out of quota"])
@pytest.mark.parametrize("parallel", [None, 0])
def test_a_model_served_by_a_live_and_a_failing_endpoint_finishes_its_batch_on_the_live_one(
    tmp_path: Path, task: tuple[Path, Task], fault: str, parallel: int | None
) -> None:
    task_md, loaded = task
    reply = solution_reply(task_md)
    sick = Script(
        reply,
        failures=always(429, "You exceeded your current quota (insufficient_quota)")
        if "429" in fault
        else always(500, "the GPU fell off the bus"),
    )
    with ScriptedOpenAI({"m": Script(reply)}) as live, ScriptedOpenAI({"m": sick}) as broken:
        bad = closed_port_url() if fault == "closed port" else broken.url
        # The failing endpoint first, so the batch's first runs go to it.
        spec = pooled("m", f"{bad}/v1", f"{live.url}/v1")
        outcome, sink = run_batch(tmp_path, [loaded], [spec], parallel=parallel)

    assert [r["status"] for r in outcome.results] == ["passed"] * 4
    assert {r["endpoint"] for r in outcome.results} == {label(f"{live.url}/v1")}
    assert live.attempts["m"] == 4
    said = [line for line in logs(sink) if "out of m's pool" in line]
    assert len(said) == 1, logs(sink)
    assert said[0].startswith(label(f"{bad}/v1"))
    expected = {"closed port": "unreachable", "HTTP 500 through every retry": "server_error: HTTP 500"}
    assert expected.get(fault, "rate_limited: HTTP 429") in said[0]
    assert f"its runs go to {label(f'{live.url}/v1')}" in said[0]
    # The failed attempt left nothing behind: one run file per run, none recorded as failed.
    stored = [json.loads(p.read_text())["result"] for p in (outcome.batch.path / "runs").rglob("*.json")]
    assert sorted(r["status"] for r in stored) == ["passed"] * 4


def test_runs_waiting_on_an_endpoint_taken_out_stop_retrying_it_and_go_to_another(
    tmp_path: Path, task: tuple[Path, Task]
) -> None:
    # The sick endpoint serves one request at a time, so its second run waits for the slot while the first
    # retries. Once the first has taken the endpoint out, the second stops retrying it and moves on: it
    # does not wait out the whole backoff again (4 attempts each would be 8).
    task_md, loaded = task
    reply = solution_reply(task_md)
    sick = Script(reply, failures=always(503, "overloaded"))
    with ScriptedOpenAI({"m": Script(reply)}) as live, ScriptedOpenAI({"m": sick}) as broken:
        spec = replace(
            pooled("m", f"{broken.url}/v1", f"{live.url}/v1"),
            pool=(Endpoint(f"{broken.url}/v1", 1), Endpoint(f"{live.url}/v1", 4)),
        )
        sink = RecordingSink()
        outcome = BatchRunner(
            store=ResultsStore(tmp_path / "out"),
            tasks=[loaded],
            models=[spec],
            options=BatchOptions(parallel=0, repeats=6),
            sink=sink,
            policy=RetryPolicy(max_retries=3, base_delay_s=0.2, max_delay_s=0.4),
        ).run()

    assert [r["status"] for r in outcome.results] == ["passed"] * 6
    # The first run's 4 attempts, then the second's: 1, or 2 when its first attempt raced the first run's
    # last failure (sent in the moment between the slot's release and the endpoint going out).
    assert broken.attempts["m"] in (4 + 1, 4 + 2)


def test_two_live_endpoints_each_with_one_slot_both_serve_runs_and_never_two_at_once(
    tmp_path: Path, task: tuple[Path, Task]
) -> None:
    task_md, loaded = task
    # Slow enough replies that one endpoint cannot take every run while the other waits for work.
    slow = Script(solution_reply(task_md), chunk_delay_s=0.05)
    with ScriptedOpenAI({"m": slow}) as one, ScriptedOpenAI({"m": slow}) as two:
        spec = pooled("m", f"{one.url}/v1", f"{two.url}/v1", concurrency=1)
        outcome, sink = run_batch(tmp_path, [loaded], [spec], repeats=6)

    assert [r["status"] for r in outcome.results] == ["passed"] * 6
    assert one.attempts["m"] >= 1 and two.attempts["m"] >= 1
    assert one.attempts["m"] + two.attempts["m"] == 6
    # Each endpoint keeps its own limit: a request arrives only once the one before it has been answered
    # (a reply streams 8 chunks 50 ms apart). Arrival gaps, not the servers' in-flight count: on a loaded
    # machine a finished handler's thread may count itself out after the next request came in.
    for server in (one, two):
        arrivals = server.attempt_times["m"]
        assert all(later - earlier >= 0.3 for earlier, later in itertools.pairwise(arrivals))
    served = [r["endpoint"] for r in outcome.results]
    assert served.count(label(f"{one.url}/v1")) == one.attempts["m"]
    assert served.count(label(f"{two.url}/v1")) == two.attempts["m"]
    # The batch says each endpoint's limit, and that it is in a pool.
    assert any(line.startswith(label(f"{two.url}/v1")) and "in the pool of m" in line for line in logs(sink))


def test_when_every_endpoint_of_a_pool_is_dead_the_models_runs_fail_as_before_and_the_batch_goes_on(
    tmp_path: Path, task: tuple[Path, Task]
) -> None:
    task_md, loaded = task
    with ScriptedOpenAI({"ok": Script(solution_reply(task_md))}) as other:
        dead = pooled("dead", f"{closed_port_url()}/v1", f"{closed_port_url()}/v1")
        healthy = pooled("ok", f"{other.url}/v1")
        outcome, sink = run_batch(tmp_path, [loaded], [dead, healthy], repeats=3)

    by_model = {m: [r for r in outcome.results if r["model"] == m] for m in ("dead", "ok")}
    assert [r["status"] for r in by_model["ok"]] == ["passed"] * 3
    assert {r["endpoint"] for r in by_model["ok"]} == {label(f"{other.url}/v1")}  # a single endpoint too
    assert [(r["status"], r["error"]) for r in by_model["dead"]] == [("error", "unreachable")] * 3
    out = [line for line in logs(sink) if "out of dead's pool" in line]
    assert len(out) == 2 and "no endpoint of the pool is left" in out[1]
    # The run that tried every endpoint names the last one; the runs skipped after it reached none.
    tried = [r for r in by_model["dead"] if r["request_attempts"]]
    assert len(tried) >= 1 and all(r["endpoint"] is not None for r in tried)
    assert all(r["endpoint"] is None for r in by_model["dead"] if not r["request_attempts"])


def test_a_server_error_at_the_last_endpoint_left_is_the_runs_and_an_endpoint_out_for_one_model_serves_another(
    tmp_path: Path, task: tuple[Path, Task]
) -> None:
    # Model "a" answers 500 on both its endpoints; "b" shares the first server and is fine there. The first
    # endpoint to fail "a" is out of a's pool; at the last one left a server error is the run's, as before
    # pools (the endpoint stays in: one bad prompt must not take out a whole pool, one endpoint at a time).
    task_md, loaded = task
    reply = solution_reply(task_md)
    failing = Script(reply, failures=always(500, "no"))
    with ScriptedOpenAI({"a": failing, "b": Script(reply)}) as shared, ScriptedOpenAI({"a": failing}) as other:
        a = pooled("a", f"{shared.url}/v1", f"{other.url}/v1")
        b = pooled("b", f"{shared.url}/v1")
        outcome, sink = run_batch(tmp_path, [loaded], [a, b], repeats=2)

    assert [(r["model"], r["status"], r["error"]) for r in outcome.results] == [
        ("a", "error", "server_error"),
        ("a", "error", "server_error"),
        ("b", "passed", None),
        ("b", "passed", None),
    ]
    assert len([line for line in logs(sink) if "out of a's pool" in line]) == 1
    assert {r["endpoint"] for r in outcome.results if r["model"] == "b"} == {label(f"{shared.url}/v1")}


# Resume


def test_resume_adopts_runs_whatever_endpoint_served_them_and_the_fingerprint_ignores_it(
    tmp_path: Path, task: tuple[Path, Task]
) -> None:
    task_md, loaded = task
    reply = solution_reply(task_md)
    with ScriptedOpenAI({"m": Script(reply)}) as first, ScriptedOpenAI({"m": Script(reply)}) as second:
        spec = pooled("m", f"{first.url}/v1", f"{second.url}/v1", concurrency=1)
        # The fingerprint is the pool's: each endpoint's view of the model has the same runs.
        assert run_fingerprint(loaded, spec) == run_fingerprint(loaded, pooled("m", f"{first.url}/v1", "http://x/v1"))
        outcome, _ = run_batch(tmp_path, [loaded], [spec], repeats=4)
        served = {r["repeat"]: r["endpoint"] for r in outcome.results}
        # One run is lost (as by a kill before its file was written); the second endpoint is gone, a new
        # one took its place.
        victim = next(r for r in outcome.results if r["endpoint"] == label(f"{second.url}/v1"))
        (outcome.batch.path / str(victim["transcript_file"])).unlink()
        before = first.attempts["m"]
        with ScriptedOpenAI({"m": Script(reply)}) as third:
            again = pooled("m", f"{first.url}/v1", f"{third.url}/v1", concurrency=1)
            resumed, sink = run_batch(tmp_path, [loaded], [again], repeats=4, outcome=outcome)
            rerun = third.attempts["m"] + first.attempts["m"] - before

    assert rerun == 1  # only the lost run ran again
    assert [r["status"] for r in resumed.results] == ["passed"] * 4
    for result in resumed.results:
        if result["repeat"] != victim["repeat"]:
            assert result["endpoint"] == served[result["repeat"]]  # adopted as they were
    assert not any("fingerprint differs" in line for line in logs(sink))


# Discovery: OLLAMA_HOST with several hosts


def test_ollama_host_listing_two_hosts_makes_one_model_served_by_both(monkeypatch: pytest.MonkeyPatch) -> None:
    reply = Script(lambda messages: "hi")
    with (
        ScriptedOllama({"shared": reply, "zonly-one": reply}) as one,
        ScriptedOllama({"shared": reply, "zonly-two": reply}) as two,
    ):
        monkeypatch.setenv("OLLAMA_HOST", f"{one.url}, {two.url.removeprefix('http://')}")
        config = load_config(None)
        assert config.ollama_hosts == (one.url, two.url)
        catalog = discover(config, embedded=False)

    models = {m.key: m for m in catalog.models}
    assert sorted(models) == ["ollama/shared", "ollama/zonly-one", "ollama/zonly-two"]
    shared = models["ollama/shared"]
    assert [e.base_url for e in shared.endpoints] == [one.url, two.url]
    assert shared.base_url == one.url
    # A model only one host has is served by that host alone.
    assert [e.base_url for e in models["ollama/zonly-two"].endpoints] == [two.url]
    assert models["ollama/zonly-two"].pool == ()
    assert shared.snapshot()["endpoints"] == [
        {"base_url": one.url, "concurrency": None, "api_key": None},
        {"base_url": two.url, "concurrency": None, "api_key": None},
    ]


def test_the_same_ollama_name_with_other_weights_on_a_second_host_is_not_pooled_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reply = Script(lambda messages: "hi")
    # The scripted server's digest is the model's place in its sorted list: "a" shifts "m" on host two.
    with ScriptedOllama({"m": reply}) as one, ScriptedOllama({"a": reply, "m": reply}) as two:
        monkeypatch.setenv("OLLAMA_HOST", f"{one.url},{two.url}")
        catalog = discover(load_config(None), embedded=False)

    m = next(spec for spec in catalog.models if spec.key == "ollama/m")
    assert m.pool == () and m.base_url == one.url
    assert any("ollama/m on " + two.url in note and "another digest" in note for note in catalog.notes)


def test_a_dead_host_in_ollama_host_is_a_note_and_the_live_one_serves_its_models(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = closed_port_url()
    with ScriptedOllama({"m": Script(lambda messages: "hi")}) as live:
        monkeypatch.setenv("OLLAMA_HOST", f"{dead},{live.url}")
        catalog = discover(load_config(None), embedded=False, timeout_s=2.0)

    m = next(spec for spec in catalog.models if spec.key == "ollama/m")
    assert m.available and m.base_url == live.url and m.pool == ()
    assert any(f"Ollama not reachable at {dead}" in note for note in catalog.notes)


def test_a_configured_ollama_model_naming_no_host_is_served_by_every_host_that_has_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reply = Script(lambda messages: "hi")
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    with ScriptedOllama({"m": reply}) as one, ScriptedOllama({"m": reply}) as two:
        path = write_config(
            tmp_path / "models.yaml",
            f"ollama:\n  host: [{one.url}, {two.url}]\n  concurrency: 2\nmodels:\n"
            "  - name: m\n    provider: ollama\n    concurrency: 3\n",
        )
        catalog = discover(load_config(path), embedded=False)

    m = next(spec for spec in catalog.models if spec.key == "ollama/m")
    assert [(e.base_url, e.concurrency) for e in m.endpoints] == [(one.url, 3), (two.url, 3)]


# The config's pools


def _load(tmp_path: Path, text: str) -> ModelSpec:
    config = load_config(write_config(tmp_path / "models.yaml", "models:\n" + text))
    return config.models[0]


def test_a_config_entry_lists_its_endpoints_each_with_its_own_limit_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POOL_KEY_ONE", "sk-one-secret")
    monkeypatch.setenv("POOL_KEY_TWO", "sk-two-secret")
    spec = _load(
        tmp_path,
        "  - name: qwen\n    provider: openai\n    concurrency: 2\n    api_key: ${POOL_KEY_ONE}\n    endpoints:\n"
        "      - base_url: http://gpu1:8000/v1/\n"
        "      - base_url: http://gpu2:8000/v1\n        concurrency: 8\n        api_key: ${POOL_KEY_TWO}\n",
    )
    assert spec.available
    assert [(e.base_url, e.concurrency, e.api_key, e.api_key_ref) for e in spec.endpoints] == [
        ("http://gpu1:8000/v1", 2, "sk-one-secret", "${POOL_KEY_ONE}"),
        ("http://gpu2:8000/v1", 8, "sk-two-secret", "${POOL_KEY_TWO}"),
    ]
    assert spec.base_url == "http://gpu1:8000/v1" and spec.concurrency == 2
    assert spec.at(spec.endpoints[1]).api_key == "sk-two-secret"
    assert "secret" not in json.dumps(spec.snapshot())
    short = _load(tmp_path, "  - name: q\n    provider: openai\n    base_url: [http://a:1/v1, http://b:2/v1]\n")
    assert [e.label for e in short.endpoints] == ["a:1/v1", "b:2/v1"]


def test_an_unset_key_of_one_endpoint_makes_the_model_unavailable_naming_the_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POOL_UNSET_KEY", raising=False)
    spec = _load(
        tmp_path,
        "  - name: q\n    provider: openai\n    endpoints:\n      - base_url: http://a:1/v1\n"
        "      - base_url: http://b:2/v1\n        api_key: ${POOL_UNSET_KEY}\n",
    )
    assert not spec.available
    assert spec.unavailable_reason == "${POOL_UNSET_KEY} unset (endpoint 2, http://b:2/v1)"


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        (
            "    base_url: http://a:1/v1\n    endpoints:\n      - base_url: http://b:2/v1\n",
            5,
            "'endpoints': give either base_url or endpoints",
        ),
        ("    endpoints: []\n", 4, "'endpoints': expected a list of {base_url, concurrency, api_key}"),
        ("    endpoints:\n      - http://a:1/v1\n", 4, "'endpoints': item 1: expected a mapping"),
        (
            "    endpoints:\n      - base_url: http://a:1/v1\n        region: eu\n",
            6,
            "'region': unknown endpoint key; expected one of base_url, concurrency, api_key",
        ),
        (
            "    endpoints:\n      - base_url: http://a:1/v1\n      - base_url: gpu2:8000\n",
            6,
            "'base_url': endpoint 2: expected a URL",
        ),
        (
            "    endpoints:\n      - base_url: http://a:1/v1\n      - base_url: http://a:1/v1/\n",
            6,
            "'base_url': http://a:1/v1 is endpoint 1 already",
        ),
        (
            "    endpoints:\n      - base_url: http://a:1/v1\n        concurrency: 0\n",
            6,
            "'concurrency': expected a whole number >= 1",
        ),
        ("    base_url: []\n", 4, "'base_url': expected a URL such as http://127.0.0.1:8080/v1, or a list of them"),
        ("    base_url: [http://a:1/v1, 12]\n", 4, "'base_url': endpoint 2: expected a URL"),
    ],
)
def test_pool_mistakes_in_the_config_name_the_file_and_line(
    tmp_path: Path, entry: str, line: int, message: str
) -> None:
    path = write_config(tmp_path / "models.yaml", "models:\n  - name: q\n    provider: openai\n" + entry)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert f"{path}:{line}" in str(raised.value)
    assert message in str(raised.value)


def test_an_embedded_or_discover_entry_cannot_have_a_pool(tmp_path: Path) -> None:
    embedded = write_config(
        tmp_path / "e.yaml",
        "models:\n  - name: e\n    provider: embedded\n    endpoints:\n      - base_url: http://a:1\n",
    )
    with pytest.raises(ConfigError, match=r"e\.yaml:4.*'endpoints': an embedded model is served by benchtui"):
        load_config(embedded)
    wildcard = write_config(
        tmp_path / "d.yaml",
        "models:\n  - name: '*'\n    provider: openai\n    base_url: [http://a:1/v1, http://b:1/v1]\n",
    )
    with pytest.raises(ConfigError, match=r"d\.yaml:4.*a discover entry lists the models of one server"):
        load_config(wildcard)


def test_ollama_host_in_the_config_may_list_several_and_a_bad_one_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    good = write_config(tmp_path / "g.yaml", "ollama:\n  host: 10.0.0.1, 10.0.0.2:8080\n")
    assert load_config(good).ollama_hosts == ("http://10.0.0.1:11434", "http://10.0.0.2:8080")
    bad = write_config(tmp_path / "b.yaml", "ollama:\n  host: '10.0.0.1, 10.0.0.2 x'\n")
    with pytest.raises(ConfigError, match=r"b\.yaml:2.*'host': expected a URL"):
        load_config(bad)


# The per-endpoint table


def _results(served: dict[str, list[tuple[str, float, float | None]]]) -> list[RunResult]:
    from tests.support.report_fixture import result

    out: list[RunResult] = []
    for model, runs in served.items():
        for repeat, (endpoint, seconds, rate) in enumerate(runs, 1):
            out.append(result("t", model, repeat, endpoint=endpoint, completion_time_s=seconds, tokens_per_s=rate))
    return out


def test_the_endpoints_table_shows_each_endpoint_of_a_pool_with_its_speed(tmp_path: Path) -> None:
    runs = _results(
        {
            "pooled": [("fast:1", 2.0, 80.0), ("fast:1", 4.0, 60.0), ("slow:2", 30.0, 5.0)],
            "single": [("only:3", 1.0, None)],
        }
    )
    text = io.StringIO()
    Console(file=text, width=100).print(summary(runs))
    lines = text.getvalue().splitlines()
    table = lines[next(i for i, line in enumerate(lines) if "Endpoints" in line) :]
    fast = next(line for line in table if "fast:1" in line).split()
    slow = next(line for line in table if "slow:2" in line).split()
    assert fast == ["pooled", "fast:1", "2", "2", "3.0", "s", "70.0", "yes"]
    assert slow == ["pooled", "slow:2", "1", "1", "30.0", "s", "5.0", "yes"]
    assert not any("only:3" in line for line in table)  # one endpoint per model: nothing to compare

    store = ResultsStore(tmp_path / "out")
    batch = store.create_batch({"models": [], "tasks": [], "options": {}})
    for run in runs:
        batch.record_run({"key": run["model"]}, run["model"], run, [])
    batch.flush()
    html = render(build_report_data(batch))
    section = html[html.index('<section id="endpoints">') :]
    section = section[: section.index("</section>")]
    assert "<code>fast:1</code>" in section and "<code>slow:2</code>" in section and "only:3" not in section
    assert "30.0 s" in section and "70.0" in section


def test_no_endpoints_table_when_every_model_had_one_endpoint() -> None:
    runs = _results({"a": [("one:1", 2.0, 10.0)], "b": [("two:2", 3.0, 10.0)]})
    text = io.StringIO()
    Console(file=text, width=100).print(summary(runs))
    assert "Endpoints" not in text.getvalue()
    assert '<section id="endpoints">' not in render({"endpoints": [], "runs": []})


def test_benchtui_models_lists_a_pools_endpoints_and_every_ollama_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchtui.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("OLLAMA_HOST", f"{closed_port_url()},{closed_port_url()}")
    config = write_config(
        tmp_path / "m.yaml",
        "embedded: {enabled: false}\nmodels:\n  - name: q\n    provider: openai\n"
        "    base_url: [http://gpu1:8000/v1, http://gpu2:8000/v1]\n",
    )
    assert main(["models", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "http://gpu1:8000/v1, http://gpu2:8000/v1" in out
    hosts = load_config(config).ollama_hosts
    assert f"Ollama: {hosts[0]}, {hosts[1]}" in out


def test_an_endpoint_taken_out_is_in_the_batch_folder_and_the_report_shows_the_pool_with_its_dead_one(
    tmp_path: Path, task: tuple[Path, Task]
) -> None:
    task_md, loaded = task
    with ScriptedOpenAI({"m": Script(solution_reply(task_md))}) as live:
        dead = f"{closed_port_url()}/v1"
        outcome, sink = run_batch(tmp_path, [loaded], [pooled("m", dead, f"{live.url}/v1")], parallel=None, repeats=2)
    assert [r["endpoint"] for r in outcome.results] == [label(f"{live.url}/v1")] * 2
    # The removal is in the manifest (written when it happened), with its reason, for the report to read.
    out = outcome.batch.manifest()["endpoints_out"]
    assert list(out) == ["m"] and list(out["m"]) == [label(dead)] and out["m"][label(dead)].startswith("unreachable")
    # The log names the run as its other lines do (model · task), never by its internal id.
    again = [line for line in logs(sink) if "run again on another endpoint" in line]
    assert again == [f"m · {loaded.id} (repeat 1): run again on another endpoint ({label(dead)} failed it)"]
    assert not any("::" in line for line in logs(sink))

    data = build_report_data(outcome.batch)
    rows = {row["endpoint"]: row for row in data["endpoints"]}
    assert list(rows) == [label(dead), label(f"{live.url}/v1")]  # the pool's order
    assert rows[label(dead)]["runs"] == 0 and rows[label(dead)]["out"].startswith("unreachable")
    assert rows[label(f"{live.url}/v1")]["runs"] == 2 and rows[label(f"{live.url}/v1")]["out"] is None
    html = render(data)
    section = html[html.index('<section id="endpoints">') :]
    section = section[: section.index("</section>")]
    assert f"<code>{label(dead)}</code>" in section and "taken out" in section and "unreachable" in section
    # Each run's panel names the endpoint that served it.
    panels = html[html.index('id="runs"') :]
    assert panels.count(f"<dt>Endpoint</dt><dd><code>{label(f'{live.url}/v1')}</code></dd>") == 2


def test_a_pool_whose_endpoints_all_stayed_in_shows_one_that_served_nothing() -> None:
    snapshot = {"key": "p", "endpoints": [{"base_url": "http://a:1/v1"}, {"base_url": "http://b:2/v1/"}]}
    single = {"key": "s", "base_url": "http://c:3/v1"}
    runs = _results({"p": [("a:1/v1", 2.0, 10.0)], "s": [("c:3/v1", 1.0, None)]})
    rows = endpoint_rows(runs, {"p": snapshot, "s": single}, {})
    assert [(r["endpoint"], r["runs"], r["out"]) for r in rows] == [("a:1/v1", 1, None), ("b:2/v1", 0, None)]
    section = render({"endpoints": rows, "runs": [], "models": {}})
    assert "served no run" in section


def test_headless_prints_a_pool_removal_once_and_its_summary_lists_the_dead_endpoint(
    tmp_path: Path, task: tuple[Path, Task]
) -> None:
    # A child process: under pytest the root logger has handlers, so Python's last-resort printing of a
    # warning (the second copy) would not happen in-process.
    task_md, _loaded = task
    with ScriptedOpenAI({"m": Script(solution_reply(task_md))}) as live:
        dead = f"{closed_port_url()}/v1"
        config = write_config(
            tmp_path / "models.yaml",
            f"models:\n  - name: m\n    provider: openai\n    base_url: [{dead}, {live.url}/v1]\n",
        )
        env = {**os.environ, "OLLAMA_HOST": closed_port_url(), "NO_COLOR": "1"}
        args = ["--no-ui", "--task", str(task_md), "--config", str(config), "--output", str(tmp_path / "out")]
        done = subprocess.run(
            [sys.executable, "-m", "benchtui", *args, "--parallel", "0"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed
    said = [line for line in printed.splitlines() if "out of m's pool" in line]
    assert len(said) == 1 and said[0].startswith(f"[warning] {label(dead)}"), printed
    # The summary's Endpoints table lists the dead endpoint too, as taken out, beside the one that served.
    table = printed[printed.index("Endpoints (") :]
    dead_row = next(line for line in table.splitlines() if label(dead)[:20] in line)
    assert "taken out" in dead_row and " 0 " in dead_row, table
    live_row = next(line for line in table.splitlines() if label(f"{live.url}/v1")[:20] in line)
    assert "yes" in live_row and "taken out" not in live_row, table
