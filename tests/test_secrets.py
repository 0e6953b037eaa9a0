"""API keys never leave the process: a canary key goes through a whole batch and is looked for everywhere.

The canary ``BENCH_KEY=sk-canary-<random>`` is used by every configured model; the servers answer 401
naming the key they got, or echo the request's headers into their error message, one model succeeds
with it. Then every file of the batch folder and everything the CLI printed is searched: zero hits,
while the config snapshot keeps the ``${BENCH_KEY}`` reference.
"""

from __future__ import annotations

import json
import logging
import secrets as random_secrets
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest

from benchtui.cli import main
from benchtui.engine import secrets
from benchtui.engine.config import load_config
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import ProviderError, RetryPolicy, make_provider
from tests.conftest import write_config
from tests.support.scripted import Script, ScriptedAnthropic, ScriptedOpenAI, fixed, solution_reply, tiny_task


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> str:
    value = f"sk-canary-{random_secrets.token_hex(12)}"
    monkeypatch.setenv("BENCH_KEY", value)
    return value


@pytest.fixture
def servers(canary: str, tmp_path: Path) -> Iterator[tuple[ScriptedOpenAI, ScriptedAnthropic, Path]]:
    task = tiny_task(tmp_path / "task")
    openai = ScriptedOpenAI(
        {
            "locked-gpt": Script(fixed("x"), api_key="sk-the-right-one-000000"),  # 401 "invalid api key: <sent>"
            "echo-gpt": Script(fixed("x"), echo_headers_status=400),
            "good-gpt": Script(solution_reply(task), api_key=canary),
        }
    )
    anthropic = ScriptedAnthropic(
        {
            "locked-claude": Script(fixed("x"), api_key="sk-the-right-one-000000"),
            "echo-claude": Script(fixed("x"), echo_headers_status=401),
        }
    )
    with openai, anthropic:
        yield openai, anthropic, task


def files_containing(folder: Path, needle: str) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_a_canary_key_appears_nowhere_after_a_batch_of_401s_and_echoes(
    canary: str,
    servers: tuple[ScriptedOpenAI, ScriptedAnthropic, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    openai, anthropic, task = servers
    monkeypatch.setenv("COLUMNS", "300")
    caplog.set_level(logging.DEBUG)
    entries = "".join(
        f"  - name: {name}\n    provider: {provider}\n    base_url: {url}\n    api_key: ${{BENCH_KEY}}\n"
        for name, provider, url in [
            ("locked-gpt", "openai", f"{openai.url}/v1"),
            ("echo-gpt", "openai", f"{openai.url}/v1"),
            ("good-gpt", "openai", f"{openai.url}/v1"),
            ("locked-claude", "anthropic", anthropic.url),
            ("echo-claude", "anthropic", anthropic.url),
        ]
    )
    config = write_config(tmp_path / "models_config.yaml", f"embedded: {{enabled: false}}\nmodels:\n{entries}")
    out = tmp_path / "out"

    code = main(["--task", str(task), "--config", str(config), "--output", str(out), "--no-ui", "--parallel"])
    models_code = main(["models", "--config", str(config)])
    printed = capsys.readouterr()
    assert code == 0 and models_code == 0, printed.err

    # The key really went out, in each dialect's header...
    sent = [h for s in (openai, anthropic) for h in s.headers_seen]
    assert any(h.get("authorization") == f"Bearer {canary}" for h in sent)
    assert any(h.get("x-api-key") == canary for h in sent)
    # ...and came back in error bodies, which were recorded as typed errors.
    (folder,) = out.iterdir()
    results = {}
    for path in folder.glob("*_result.json"):
        for run in json.loads(path.read_text())["runs"]:
            results[run["model"]] = run
    assert results["good-gpt"]["status"] == "passed"
    for name, kind in [
        ("locked-gpt", "auth"),
        ("echo-gpt", "bad_request"),
        ("locked-claude", "auth"),
        ("echo-claude", "auth"),
    ]:
        assert (results[name]["error"], results[name]["request_attempts"]) == (kind, 1)
        assert "[REDACTED]" in results[name]["error_message"]

    # Nowhere: not in any file of the batch, not on stdout or stderr, not in the logs.
    assert files_containing(folder, canary) == []
    assert canary not in printed.out and canary not in printed.err
    assert canary not in caplog.text
    # The config snapshot keeps the reference, so the batch can be rerun elsewhere with its own key.
    manifest = (folder / "batch.json").read_text()
    assert "${BENCH_KEY}" in manifest
    assert all(m["api_key"] == "${BENCH_KEY}" for m in json.loads(manifest)["models"])


def test_provider_errors_from_httpx_never_carry_a_key(canary: str) -> None:
    secrets.register(canary)
    # A base URL carrying the key as a parameter (some gateways want ?key=) that nothing listens on.
    spec = ModelSpec(
        key="m",
        name="m",
        provider="openai",
        display_name="m",
        base_url=f"http://127.0.0.1:9/v1?key={canary}&x=1",
        api_key=canary,
    )
    with pytest.raises(ProviderError) as caught:
        make_provider(spec, policy=RetryPolicy(max_retries=0)).chat([{"role": "user", "content": "hi"}])
    assert caught.value.kind == "unreachable"
    assert canary not in caught.value.message and canary not in str(caught.value)
    assert "key=[REDACTED]" in caught.value.message


def test_redaction_by_value_and_by_header_name(canary: str) -> None:
    secrets.register(canary)
    assert secrets.redact(f"the key {canary} leaked") == "the key [REDACTED] leaked"
    unregistered = "sk-never-registered-0123456789"
    for text in [
        f"Authorization: Bearer {unregistered}",
        f"{{'authorization': 'Bearer {unregistered}', 'x-api-key': '{unregistered}'}}",
        f'{{"x-api-key": "{unregistered}", "api-key": "{unregistered}"}}',
        f"x-goog-api-key={unregistered}",
        f"Proxy-Authorization: Basic {unregistered}",
        f"GET https://example.com/v1/models?api_key={unregistered}&page=2",
        f"bearer {unregistered}",
    ]:
        redacted = secrets.redact(text)
        assert unregistered not in redacted and "[REDACTED]" in redacted, text
    assert secrets.redact("api_key: ${BENCH_KEY}") == "api_key: ${BENCH_KEY}"


def test_reprs_and_snapshots_never_show_a_resolved_key(canary: str, tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path / "m.yaml",
            """
models:
  - name: from-env
    provider: openai
    api_key: ${BENCH_KEY}
  - name: literal
    provider: anthropic
    api_key: sk-ant-literal-key-0123456789
    settings: {max_tokens: 64}
""",
        )
    )
    from_env, literal = config.models
    assert from_env.api_key == canary and literal.api_key == "sk-ant-literal-key-0123456789"
    for text in (repr(from_env), repr(literal), repr(config), str(from_env.snapshot()), str(literal.snapshot())):
        assert canary not in text and "sk-ant-literal-key-0123456789" not in text
    assert from_env.snapshot()["api_key"] == "${BENCH_KEY}"
    assert literal.snapshot()["api_key"] == "[REDACTED]"
    # A literal key in the file is a secret too: the stored config text loses it.
    assert "sk-ant-literal-key-0123456789" not in secrets.redact(config.source_text)
    assert isinstance(from_env.settings, MappingProxyType)
