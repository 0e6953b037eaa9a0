"""Model selection: names as users type them, categories, and the embedded fallback."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from benchtui.engine.config import load_config
from benchtui.engine.discovery import Catalog, discover, select_models
from benchtui.engine.errors import InputError
from benchtui.engine.models import ModelSpec
from tests.conftest import write_config


def spec(key: str, provider: str, available: bool = True, **extra: object) -> ModelSpec:
    name = key.removeprefix("ollama/") + (":latest" if provider == "ollama" else "")
    return ModelSpec(
        key=key,
        name=name,
        provider=provider,
        display_name=key,
        available=available,
        unavailable_reason=None if available else "${OPENAI_API_KEY} unset",
        **extra,  # type: ignore[arg-type]
    )


def catalog(*models: ModelSpec, categories: dict[str, tuple[str, ...]] | None = None) -> Catalog:
    return Catalog(models=models, categories=MappingProxyType(categories or {}))


def test_all_means_the_embedded_models_only_when_nothing_else_is_available_and_says_so() -> None:
    only_embedded = catalog(spec("gpt-4o", "openai", available=False), spec("smollm2-135m", "embedded"))
    chosen, notes = select_models(only_embedded, "all")
    assert [m.key for m in chosen] == ["smollm2-135m"]
    assert "running the embedded models (smollm2-135m)" in notes[0]
    with_ollama = catalog(spec("ollama/llama3", "ollama"), spec("smollm2-135m", "embedded"))
    chosen, notes = select_models(with_ollama, "all")
    assert [m.key for m in chosen] == ["ollama/llama3"] and notes == []


@pytest.mark.parametrize("typed", ["llama3", "ollama/llama3", "llama3:latest", "ollama/llama3:latest"])
def test_ollama_names_match_with_or_without_prefix_and_latest(typed: str) -> None:
    chosen, _ = select_models(catalog(spec("ollama/llama3", "ollama"), spec("gpt-4o", "openai")), typed)
    assert [m.key for m in chosen] == ["ollama/llama3"]


def test_an_unavailable_model_named_explicitly_is_an_error_with_the_reason() -> None:
    with pytest.raises(InputError, match=r"'gpt-4o' is unavailable: \$\{OPENAI_API_KEY\} unset"):
        select_models(catalog(spec("gpt-4o", "openai", available=False)), "gpt-4o")


def test_a_category_selects_its_available_members() -> None:
    models = catalog(
        spec("a", "openai"), spec("b", "openai", available=False), spec("c", "openai"), categories={"fast": ("a", "b")}
    )
    chosen, _ = select_models(models, "all", "fast")
    assert [m.key for m in chosen] == ["a"]


# --- embedded contestants -------------------------------------------------------------------------------


def _embedded(text: str, tmp_path: Path) -> dict[str, ModelSpec]:
    config = load_config(write_config(tmp_path / "models_config.yaml", "ollama: {enabled: false}\n" + text))
    return {m.key: m for m in discover(config).models if m.provider == "embedded"}


def test_a_fresh_machine_has_two_contestants_of_the_embedded_model_on_one_server(tmp_path: Path) -> None:
    found = _embedded("", tmp_path)
    assert list(found) == ["smollm2-135m", "smollm2-135m-diff", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    whole, diff = found["smollm2-135m"], found["smollm2-135m-diff"]
    assert (whole.edit_format, diff.edit_format, found["qwen2.5-coder-0.5b"].edit_format) == ("whole", "diff", "whole")
    assert whole.name == diff.name == "smollm2-135m" and whole.endpoint == diff.endpoint
    assert whole.file_stem != diff.file_stem and whole.display_name != diff.display_name
    assert (whole.context, whole.threads) == (diff.context, diff.threads) == (4096, None)
    assert dict(whole.settings) == dict(diff.settings) == {"temperature": 0.0, "max_tokens": 256, "seed": 42}
    assert all(m.source == "embedded" and "embedded" in m.categories for m in found.values())
    assert whole.fingerprint() != diff.fingerprint()


def test_config_entries_tune_add_and_leave_out_embedded_contestants(tmp_path: Path) -> None:
    found = _embedded(
        """\
defaults: {settings: {max_tokens: 256}}
models:
  - name: qwen-diff
    provider: embedded
    model: qwen2.5-coder-0.5b
    edit_format: diff
  - name: smollm2-135m
    provider: embedded
    context: 2048
    threads: 2
    settings: {temperature: 0.5}
  - name: smollm2-135m-diff
    provider: embedded
    enabled: false
""",
        tmp_path,
    )
    assert list(found) == ["qwen-diff", "smollm2-135m", "smollm2-135m-diff", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    tuned = found["smollm2-135m"]
    assert (tuned.edit_format, tuned.context, tuned.threads) == ("whole", 2048, 2)
    assert dict(tuned.settings) == {"temperature": 0.5, "max_tokens": 256, "seed": 42}
    assert tuned.details["parameter_size"] == "135M" and tuned.source == "embedded"
    off = found["smollm2-135m-diff"]
    assert not off.available and off.unavailable_reason == "disabled in the config"
    qwen_diff, qwen = found["qwen-diff"], found["qwen2.5-coder-0.5b"]
    assert (qwen_diff.name, qwen_diff.edit_format, qwen_diff.details["quantization"]) == (
        "qwen2.5-coder-0.5b",
        "diff",
        "Q4_K_M",
    )
    # The built-in Qwen contestant shares the server of the config's Qwen entry, and the file's defaults.
    assert (qwen.context, qwen.threads, dict(qwen.settings)["max_tokens"]) == (4096, None, 256)


def test_a_built_in_contestant_shares_the_server_settings_of_its_models_entry(tmp_path: Path) -> None:
    found = _embedded("models:\n  - name: smollm2-135m\n    provider: embedded\n    context: 8192\n", tmp_path)
    assert found["smollm2-135m-diff"].context == 8192  # one server for both: the entry's context
    assert found["qwen2.5-coder-0.5b"].context == 4096


def test_embedded_entries_when_embedded_models_are_off_say_so(tmp_path: Path) -> None:
    found = _embedded("embedded: {enabled: false}\nmodels:\n  - name: smollm2-135m\n    provider: embedded\n", tmp_path)
    assert list(found) == ["smollm2-135m"]
    assert found["smollm2-135m"].unavailable_reason == "embedded models are off (embedded: enabled: false)"


# --- what answers at OLLAMA_HOST ------------------------------------------------------------------


def _ollama_note(host: str) -> str:
    from benchtui.engine.config import ModelsConfig
    from benchtui.engine.discovery import discover

    notes = discover(ModelsConfig(path=None, ollama_host=host), timeout_s=3.0, embedded=False).notes
    (note,) = [n for n in notes if host in n]
    return note


def test_a_plain_http_server_at_ollama_host_is_named_as_not_ollama_with_what_to_do() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = f"http://127.0.0.1:{server.server_address[1]}"
        note = _ollama_note(host)
    finally:
        server.shutdown()
        server.server_close()
    assert note.startswith(f"No Ollama at {host}: GET /api/tags answered HTTP 404 (server: BaseHTTP")
    assert "that is not Ollama's API; point OLLAMA_HOST" in note and "HTTPStatusError" not in note


def test_a_refused_connection_says_nothing_listens_and_how_to_start_ollama() -> None:
    import socket

    with socket.socket() as probe:  # a port that was just free: nothing listens on it now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"http://127.0.0.1:{port}"
    note = _ollama_note(host)
    assert note.startswith(f"Ollama not reachable at {host}: connection refused, nothing listens there")
    assert "start Ollama (ollama serve) or set OLLAMA_HOST" in note and "ConnectError" not in note
