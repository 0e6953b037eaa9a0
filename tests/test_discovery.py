"""Model selection: names as users type them, categories, and the embedded fallback."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from benchtui.engine.discovery import Catalog, select_models
from benchtui.engine.errors import InputError
from benchtui.engine.models import ModelSpec


def spec(key: str, provider: str, available: bool = True, **extra: object) -> ModelSpec:
    name = key.removeprefix("ollama/") + (":latest" if provider == "ollama" else "")
    return ModelSpec(key=key, name=name, provider=provider, display_name=key, available=available,
                     unavailable_reason=None if available else "${OPENAI_API_KEY} unset", **extra)  # type: ignore[arg-type]


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
    models = catalog(spec("a", "openai"), spec("b", "openai", available=False), spec("c", "openai"),
                     categories={"fast": ("a", "b")})
    chosen, _ = select_models(models, "all", "fast")
    assert [m.key for m in chosen] == ["a"]


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
