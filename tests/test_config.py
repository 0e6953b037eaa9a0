"""models_config.yaml: schema, ${ENV} keys, categories, and errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchtui.engine.config import load_config, normalize_ollama_host
from benchtui.engine.errors import ConfigError
from tests.conftest import REPO, write_config


def test_shipped_config_loads_and_keeps_unset_keys_as_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(REPO / "models_config.yaml")
    gpt = next(m for m in config.models if m.key == "gpt-4o")
    assert not gpt.available and gpt.unavailable_reason == "${OPENAI_API_KEY} unset"
    assert gpt.pricing is not None and gpt.pricing.input_per_mtok == 2.5
    assert "powerful" in gpt.categories
    assert set(config.categories) >= {"fast", "balanced", "powerful", "coding_specialized"}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-1234567890")
    gpt = next(m for m in load_config(REPO / "models_config.yaml").models if m.key == "gpt-4o")
    assert gpt.available and gpt.api_key == "sk-test-1234567890"
    assert gpt.snapshot()["api_key"] == "${OPENAI_API_KEY}"
    assert "sk-test" not in repr(gpt)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("models:\n  - name: a\n    provider: grok\n", 3, "unknown provider 'grok'"),
        ("models:\n  - name: a\n    provider: openai\n    edit_format: patch\n", 4, "'edit_format'"),
        ("models:\n  - name: a\n    provider: openai\n    pricing: {input: 1}\n", 4, "'pricing'"),
        ("models:\n  - provider: openai\n", 2, "needs a 'name'"),
        ("modles: []\n", 1, "'modles': unknown key"),
        ("models:\n  - name: a\n    provider: openai\n  - name: a\n    provider: openai\n", 4, "listed twice"),
        ("models: [\n", None, "invalid YAML"),
    ],
)
def test_config_errors_name_file_and_line(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    path = write_config(tmp_path / "models_config.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path))
    assert fragment in str(caught.value)
    if line is not None:
        assert caught.value.line == line


def test_ollama_host_follows_ollamas_convention(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert normalize_ollama_host("127.0.0.1") == "http://127.0.0.1:11434"
    assert normalize_ollama_host("0.0.0.0:8080") == "http://127.0.0.1:8080"
    assert normalize_ollama_host("https://ollama.example:443/") == "https://ollama.example:443"
    monkeypatch.setenv("OLLAMA_HOST", "10.1.2.3:1234")
    path = write_config(tmp_path / "c.yaml", "ollama: {host: 'http://elsewhere:11434'}\n")
    assert load_config(path).ollama_host == "http://10.1.2.3:1234"


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")


def test_retry_section_sets_the_one_retry_policy(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", "retry:\n  max_retries: 2\n  request_deadline_s: 30\n")
    policy = load_config(path).retry
    assert policy.max_retries == 2 and policy.request_deadline_s == 30.0
    bad = write_config(tmp_path / "bad.yaml", "retry:\n  max_retries: 2\n  retries_forever: true\n")
    with pytest.raises(ConfigError, match="'retries_forever': unknown retry setting") as caught:
        load_config(bad)
    assert caught.value.line == 3


def test_a_vendor_api_without_a_key_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", "models:\n  - name: gpt-4o\n    provider: openai\n"
                        "  - name: local\n    provider: openai\n    base_url: http://127.0.0.1:8080/v1\n")
    gpt, local = load_config(path).models
    assert not gpt.available and gpt.unavailable_reason == "no api_key (set api_key: ${OPENAI_API_KEY})"
    assert local.available


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ("{max_tokens: lots}", "'max_tokens': expected a whole number of at least 1, got 'lots'"),
        ("{temperature: hot}", "'temperature': expected a number from 0 to 2, got 'hot'"),
        ("{max_tokens: -5}", "'max_tokens': expected a whole number"),
        ("{bogus: 1}", "'bogus': unknown setting"),
        ("{stop: [1, 2]}", "'stop': expected text or a list of texts"),
    ],
)
def test_generation_settings_are_checked_at_load(tmp_path: Path, settings: str, fragment: str) -> None:
    path = write_config(tmp_path / "c.yaml", f"models:\n  - name: x\n    provider: openai\n    settings: {settings}\n")
    with pytest.raises(ConfigError, match="^" + str(path).replace(".", r"\.") + ":4: ") as caught:
        load_config(path)
    assert fragment in str(caught.value)
    defaults = write_config(tmp_path / "d.yaml", f"defaults:\n  settings: {settings}\n")
    with pytest.raises(ConfigError):
        load_config(defaults)
