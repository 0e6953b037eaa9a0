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
        ("modles: []\n", 1, "'modles': unknown key; did you mean 'models'? expected one of assistants,"),
        (
            "models:\n  - name: a\n    provider: openai\n    setings: {temperature: 0}\n",
            4,
            "'setings': unknown model key; did you mean 'settings'? expected one of api_key, base_url,",
        ),
        ("defaults:\n  setings: {temperature: 0}\n", 2, "'setings': unknown defaults key; did you mean 'settings'?"),
        ("ollama:\n  hots: x\n", 2, "'hots': unknown ollama key; did you mean 'host'? expected one of"),
        ("retry: {max_retry: 3}\n", 1, "'max_retry': unknown retry setting; did you mean 'max_retries'?"),
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
    path = write_config(
        tmp_path / "c.yaml",
        "models:\n  - name: gpt-4o\n    provider: openai\n"
        "  - name: local\n    provider: openai\n    base_url: http://127.0.0.1:8080/v1\n",
    )
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


# --- embedded entries ---------------------------------------------------------------------------------

EMBEDDED_ENTRIES = """\
embedded: {threads: 2, context: 2048}
defaults:
  settings: {temperature: 0.1, num_ctx: 8192}
models:
  - name: smollm2-135m-diff
    provider: embedded
    settings: {max_tokens: 300}
  - name: smollm2-hot
    provider: embedded
    model: smollm2-135m
    display_name: SmolLM2 hot
    settings: {temperature: 0.8}
    category: fast
  - name: qwen2.5-coder-0.5b
    provider: embedded
    edit_format: diff
    context: 8192
    threads: 1
"""


def test_embedded_entries_name_their_model_and_server_settings(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "models_config.yaml", EMBEDDED_ENTRIES))
    diff, hot, qwen = config.models
    # The name of a built-in contestant: its model and edit format, unless the entry says otherwise.
    assert (diff.key, diff.name, diff.provider, diff.edit_format) == (
        "smollm2-135m-diff",
        "smollm2-135m",
        "embedded",
        "diff",
    )
    # The model's measured settings, then the file's defaults (not Ollama's num_ctx), then the entry's.
    assert dict(diff.settings) == {"temperature": 0.1, "max_tokens": 300, "seed": 42}
    assert (hot.key, hot.name, hot.edit_format, hot.display_name) == (
        "smollm2-hot",
        "smollm2-135m",
        "whole",
        "SmolLM2 hot",
    )
    assert dict(hot.settings) == {"temperature": 0.8, "max_tokens": 256, "seed": 42}
    assert hot.categories == ("fast",)
    assert (diff.context, diff.threads, hot.context, hot.threads) == (2048, 2, 2048, 2)  # the embedded: section
    assert (qwen.name, qwen.edit_format, qwen.context, qwen.threads) == ("qwen2.5-coder-0.5b", "diff", 8192, 1)
    assert dict(qwen.settings)["max_tokens"] == 1024
    assert config.embedded_servers == {"smollm2-135m": (2048, 2), "qwen2.5-coder-0.5b": (8192, 1)}
    assert config.embedded_context == 2048 and config.embedded_threads == 2
    # An entry that sets its server's context sets it for every contestant of that model.
    shared = load_config(
        write_config(
            tmp_path / "shared.yaml",
            "models:\n"
            "  - {name: smollm2-135m, provider: embedded, context: 1024, threads: 2}\n"
            "  - {name: smollm2-135m-diff, provider: embedded}\n",
        )
    )
    assert [(m.context, m.threads) for m in shared.models] == [(1024, 2), (1024, 2)]
    # What is recorded and what decides a resume: the contestant's model, context and threads.
    assert diff.snapshot()["name"] == "smollm2-135m" and diff.snapshot()["context"] == 2048
    assert diff.file_stem != hot.file_stem and diff.endpoint == hot.endpoint == "embedded/smollm2-135m"
    assert (
        qwen.fingerprint()
        != load_config(
            write_config(tmp_path / "other.yaml", EMBEDDED_ENTRIES.replace("context: 8192", "context: 4096"))
        )
        .models[2]
        .fingerprint()
    )


@pytest.mark.parametrize(
    ("entry", "line", "fragment"),
    [
        (
            "  - name: tinyllama\n    provider: embedded\n",
            3,
            "'name': no embedded model 'tinyllama': name one with 'model:' "
            "(smollm2-135m, qwen2.5-coder-0.5b, qwen2.5-coder-1.5b)",
        ),
        ("  - name: x\n    provider: embedded\n    model: llama-7b\n", 5, "'model': no embedded model 'llama-7b'"),
        (
            "  - name: x\n    provider: embedded\n    model: smollm2-135m\n    context: 100\n",
            6,
            "'context': expected a whole number of tokens >= 256, got 100",
        ),
        (
            "  - name: x\n    provider: embedded\n    model: smollm2-135m\n    threads: 0\n",
            6,
            "'threads': expected a whole number >= 1, got 0",
        ),
        (
            "  - name: x\n    provider: embedded\n    model: smollm2-135m\n    edit_format: udiff\n",
            6,
            "'edit_format': expected one of diff, whole",
        ),
        (
            "  - name: smollm2-135m\n    provider: embedded\n    base_url: http://127.0.0.1:8080/v1\n",
            5,
            "'base_url': an embedded model is served by benchtui itself",
        ),
        ("  - name: smollm2-135m\n    provider: embedded\n    api_key: ${KEY}\n", 5, "'api_key': an embedded model"),
        (
            "  - name: smollm2-135m\n    provider: embedded\n    settings:\n      num_ctx: 8192\n",
            6,
            "'num_ctx': an embedded model's context is its server's: set 'context:'",
        ),
        (
            "  - name: smollm2-135m\n    provider: embedded\n    settings: {temprature: 0}\n",
            5,
            "'temprature': unknown setting",
        ),
        (
            "  - name: gpt-4o\n    provider: openai\n    model: gpt-4o-2024\n",
            5,
            "'model': only an embedded model has 'model' (for openai the name is the model id)",
        ),
        (
            "  - name: llama3\n    provider: ollama\n    context: 8192\n",
            5,
            "'context': only an embedded model has 'context' (an Ollama model's context is settings.num_ctx)",
        ),
        # Two contestants of one model share its one server: they cannot ask for two contexts.
        (
            "  - name: smollm2-135m\n    provider: embedded\n    context: 2048\n"
            "  - name: smollm2-135m-diff\n    provider: embedded\n    context: 8192\n",
            8,
            "'context': smollm2-135m-diff runs smollm2-135m with context 8192, but smollm2-135m (line 5) runs it "
            "with 2048; contestants of one embedded model share one server",
        ),
        (
            "  - name: smollm2-135m\n    provider: embedded\n    threads: 2\n"
            "  - name: smollm2-hot\n    provider: embedded\n    model: smollm2-135m\n    threads: 1\n",
            9,
            "'threads': smollm2-hot runs smollm2-135m with threads 1, but smollm2-135m (line 5) runs it with 2",
        ),
    ],
)
def test_embedded_entry_errors_name_file_and_line(tmp_path: Path, entry: str, line: int, fragment: str) -> None:
    path = write_config(tmp_path / "models_config.yaml", "# models\nmodels:\n" + entry)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ("embedded: {context: 64}\n", "'context': expected a whole number of tokens >= 256"),
        (
            "embedded: {threads: 1, ctx: 2048}\n",
            "'ctx': unknown embedded setting; did you mean 'context'? expected one of context, enabled",
        ),
    ],
)
def test_embedded_section_errors_name_the_line(tmp_path: Path, section: str, fragment: str) -> None:
    path = write_config(tmp_path / "models_config.yaml", "# models\n" + section)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:2: ") and fragment in str(caught.value)


def test_the_guess_is_the_closest_name_and_among_near_equals_the_shortest() -> None:
    from benchtui.engine.suggest import closest, did_you_mean

    # smolm2 → smollm2-135m: ratio 2·6/18 = 0.667; → smollm2-135m-diff: 2·6/23 = 0.522. The closest wins.
    assert closest("smolm2", ["smollm2-135m-diff", "smollm2-135m"]) == "smollm2-135m"
    # One letter short of the plain name (16/17 = 0.941) or of the variant (18/19 = 0.947): near-equals, and
    # the shorter, plain one is the likelier meaning.
    assert closest("abcdefghi", ["abcdefghij", "abcdefgh"]) == "abcdefgh"
    assert closest("SETINGS", ["models", "settings"]) == "settings"  # case does not count
    assert closest("frobnicate", ["models", "settings"]) is None
    assert did_you_mean("aidr", ["benchtui", "aider"]) == "did you mean 'aider'? "
    assert did_you_mean("zzz", ["aider"]) == ""
