"""An Ollama-protocol server in front of OpenAI-compatible upstreams (the embedded llama.cpp servers).

llama.cpp serves OpenAI's and Anthropic's APIs but not Ollama's ``/api/*``, and no Ollama binary can be
installed on the project's machines. This adapter lets the tests drive benchtui's Ollama provider and
model discovery against a real model: it speaks Ollama's documented wire protocol on a loopback port
and forwards each chat to the upstream that serves the requested model.

Endpoints (https://docs.ollama.com/api): ``GET /`` and ``HEAD /`` ("Ollama is running"),
``GET /api/version``, ``GET /api/tags``, ``POST /api/show`` and ``POST /api/chat`` with ``stream`` true
(the default: NDJSON, one line per upstream token delta, then a final ``done: true`` line carrying the
statistics) or false (one JSON object). Durations are nanoseconds, filled from llama.cpp's ``timings``
(``prompt_ms``, ``predicted_ms``) and the upstream ``usage``; ``load_duration`` is the time it took to
get the upstream running (the embedded servers start lazily, like Ollama loading a model).

Model names follow Ollama's ``model:tag`` convention: ``/api/tags`` lists ``<name>:latest`` and a
request may name the model with or without ``:latest``. Unknown names get Ollama's 404 body,
``{"error": "model \\"x\\" not found, try pulling it first"}``.

This is test-support code: stdlib ``http.server`` plus httpx, one thread per connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

from benchtui.engine.embedded import GGUF_SHA256, GGUF_SIZE, EmbeddedModel

OLLAMA_VERSION = "0.12.6"
_MODIFIED_AT = "2026-01-01T00:00:00Z"


class UpstreamError(Exception):
    """The upstream refused or failed a request; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ns(ms: Any) -> int | None:
    return int(float(ms) * 1_000_000) if isinstance(ms, int | float) else None


def _openai_request(model: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Translate an Ollama ``/api/chat`` body into an OpenAI ``/v1/chat/completions`` body."""
    messages = []
    for message in body.get("messages") or []:
        if not isinstance(message, Mapping):
            raise UpstreamError(400, "messages must be a list of objects")
        messages.append({"role": str(message.get("role", "user")), "content": str(message.get("content", ""))})
    request: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    options = body.get("options") or {}
    if not isinstance(options, Mapping):
        raise UpstreamError(400, "options must be an object")
    for ollama_key, openai_key in (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k")):
        if options.get(ollama_key) is not None:
            request[openai_key] = options[ollama_key]
    if options.get("seed") is not None:
        request["seed"] = options["seed"]
    # Ollama: -1 generates until the model stops, -2 until the context is full; OpenAI: leave it out.
    num_predict = options.get("num_predict")
    if isinstance(num_predict, int) and num_predict >= 0:
        request["max_tokens"] = num_predict
    if options.get("stop"):
        request["stop"] = options["stop"]
    fmt = body.get("format")
    if fmt == "json":
        request["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, Mapping):
        request["response_format"] = {"type": "json_schema", "json_schema": {"schema": fmt}}
    return request


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    adapter: OllamaAdapter


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "ollama-adapter"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # --- plumbing ---------------------------------------------------------------------------------

    def _read_json(self) -> Any:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                raw += self.rfile.read(size)
                self.rfile.readline()
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not raw.strip():
            return {}
        return json.loads(raw)

    def _send(self, status: int, payload: Any, content_type: str = "application/json; charset=utf-8") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": message})

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _stream_line(self, obj: Any) -> None:
        data = json.dumps(obj).encode() + b"\n"
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # --- routes -----------------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        if self.path in ("/", ""):
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        else:
            self._send(404, b"404 page not found", "text/plain")

    def do_GET(self) -> None:
        adapter = self.server.adapter
        if self.path in ("/", ""):
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif self.path == "/api/version":
            self._send(200, {"version": adapter.version})
        elif self.path == "/api/tags":
            self._send(200, {"models": [adapter.tag_entry(m) for m in adapter.models.values()]})
        else:
            self._send(404, b"404 page not found", "text/plain")

    def do_POST(self) -> None:
        if self.path not in ("/api/show", "/api/chat"):
            self._send(404, b"404 page not found", "text/plain")
            return
        try:
            body = self._read_json()
        except (ValueError, UnicodeDecodeError) as exc:
            self._error(400, f"invalid JSON body: {exc}")
            return
        if not isinstance(body, dict):
            self._error(400, "the body must be a JSON object")
            return
        requested = str(body.get("model") or body.get("name") or "")
        model = self.server.adapter.find(requested)
        if not requested:
            self._error(400, "model is required")
        elif model is None:
            self._error(404, f'model "{requested}" not found, try pulling it first')
        elif self.path == "/api/show":
            self._show(model)
        else:
            self._chat(requested, model, body)

    def _show(self, model: EmbeddedModel) -> None:
        adapter = self.server.adapter
        try:
            meta = adapter.upstream_meta(model.name)
        except UpstreamError as exc:
            self._error(exc.status, exc.message)
            return
        arch = model.family
        model_info: dict[str, Any] = {
            "general.architecture": arch,
            "general.basename": model.name,
            "general.parameter_count": meta.get("n_params"),
            "general.quantization_version": 2,
            f"{arch}.context_length": meta.get("n_ctx_train"),
            f"{arch}.embedding_length": meta.get("n_embd"),
            "tokenizer.ggml.model": "gpt2",
        }
        self._send(
            200,
            {
                "license": "Apache-2.0",
                "modelfile": f"# Served by benchtui's test Ollama adapter\nFROM {model.gguf_path}\n",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": adapter.details(model),
                "model_info": {k: v for k, v in model_info.items() if v is not None},
                "capabilities": ["completion"],
                "modified_at": _MODIFIED_AT,
            },
        )

    def _chat(self, requested: str, model: EmbeddedModel, body: Mapping[str, Any]) -> None:
        adapter = self.server.adapter
        stream = body.get("stream", True) is not False
        started = time.perf_counter_ns()
        try:
            request = _openai_request(model.name, body)
            root = adapter.resolve(model.name)
        except UpstreamError as exc:
            self._error(exc.status, exc.message)
            return
        load_ns = time.perf_counter_ns() - started

        def message(content: str) -> dict[str, Any]:
            return {"role": "assistant", "content": content}

        events = adapter.chat_stream(root, request)
        text: list[str] = []
        final: dict[str, Any] = {}
        headers_sent = False
        first_token_ns: int | None = None
        try:
            for kind, value in events:
                if kind == "delta":
                    if first_token_ns is None:
                        first_token_ns = time.perf_counter_ns()
                    text.append(value)
                    if stream:
                        if not headers_sent:
                            self._start_stream()
                            headers_sent = True
                        self._stream_line(
                            {"model": requested, "created_at": _now(), "message": message(value), "done": False}
                        )
                else:
                    final = value
        except UpstreamError as exc:
            if headers_sent:
                self._stream_line({"error": exc.message})
                self._end_stream()
            else:
                self._error(exc.status, exc.message)
            return
        except (BrokenPipeError, ConnectionResetError):
            events.close()  # the client went away: stop generating upstream
            return
        end_ns = time.perf_counter_ns()

        usage = final.get("usage") or {}
        timings = final.get("timings") or {}
        prompt_eval_ns = _ns(timings.get("prompt_ms"))
        eval_ns = _ns(timings.get("predicted_ms"))
        if prompt_eval_ns is None:
            prompt_eval_ns = (first_token_ns or end_ns) - started - load_ns
        if eval_ns is None:
            eval_ns = end_ns - (first_token_ns or end_ns)
        finish = final.get("finish_reason") or "stop"
        done = {
            "model": requested,
            "created_at": _now(),
            "message": message("" if stream else "".join(text)),
            "done": True,
            "done_reason": {"length": "length", "stop": "stop"}.get(finish, finish),
            "total_duration": end_ns - started,
            "load_duration": load_ns,
            "prompt_eval_count": usage.get("prompt_tokens", timings.get("prompt_n", 0)),
            "prompt_eval_duration": prompt_eval_ns,
            "eval_count": usage.get("completion_tokens", timings.get("predicted_n", len(text))),
            "eval_duration": eval_ns,
        }
        if not stream:
            self._send(200, done)
            return
        if not headers_sent:
            self._start_stream()
        self._stream_line(done)
        self._end_stream()


class OllamaAdapter:
    """Serve Ollama's API on ``127.0.0.1:<free port>`` for ``models``, forwarding chats upstream.

    Args:
        models: the models to list; unavailable ones are skipped.
        upstream: the root URL of the OpenAI-compatible server for a model name: a mapping, or a
            callable such as :meth:`benchtui.engine.embedded.EmbeddedServers.ensure_started`, which
            starts the model on first use (an exception from it becomes an Ollama error reply).
        version: what ``/api/version`` reports.
        timeout: seconds to wait for the upstream between two streamed tokens.
    """

    def __init__(
        self,
        models: Iterable[EmbeddedModel],
        upstream: Callable[[str], str] | Mapping[str, str],
        *,
        version: str = OLLAMA_VERSION,
        timeout: float = 120.0,
    ) -> None:
        self.models = {m.name: m for m in models if m.unavailable_reason is None}
        self._upstream = upstream
        self.version = version
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0), trust_env=False)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is None:
            server = _Server(("127.0.0.1", 0), _Handler)
            server.adapter = self
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, name="ollama-adapter", daemon=True)
            self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the adapter is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._client.close()

    def __enter__(self) -> OllamaAdapter:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- models -------------------------------------------------------------------------------------

    def find(self, requested: str) -> EmbeddedModel | None:
        name = requested[: -len(":latest")] if requested.endswith(":latest") else requested
        return self.models.get(name)

    def details(self, model: EmbeddedModel) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": model.family,
            "families": [model.family],
            "parameter_size": model.parameter_size,
            "quantization_level": model.quantization,
        }

    def tag_entry(self, model: EmbeddedModel) -> dict[str, Any]:
        path = model.gguf_path
        size = path.stat().st_size if path is not None and path.is_file() else GGUF_SIZE.get(model.name, 0)
        return {
            "name": f"{model.name}:latest",
            "model": f"{model.name}:latest",
            "modified_at": _MODIFIED_AT,
            "size": size,
            "digest": GGUF_SHA256.get(model.name, ""),
            "details": self.details(model),
        }

    # --- upstream -----------------------------------------------------------------------------------

    def resolve(self, name: str) -> str:
        try:
            if callable(self._upstream):
                return self._upstream(name).rstrip("/")
            return self._upstream[name].rstrip("/")
        except Exception as exc:  # any failure to start the model is the client's error reply
            raise UpstreamError(500, f"cannot load model {name!r}: {exc}") from exc

    def upstream_meta(self, name: str) -> dict[str, Any]:
        root = self.resolve(name)
        try:
            response = self._client.get(f"{root}/v1/models")
            response.raise_for_status()
            for entry in response.json().get("data", []):
                if entry.get("id") == name or name in (entry.get("aliases") or []):
                    return dict(entry.get("meta") or {})
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(502, f"upstream {root} failed: {exc}") from exc
        return {}

    def chat_stream(self, root: str, request: Mapping[str, Any]) -> Generator[tuple[str, Any], None, None]:
        """Yield ``("delta", text)`` per upstream token delta, then ``("final", {...})`` once.

        The final value holds the upstream ``finish_reason``, ``usage`` and llama.cpp's ``timings``.
        """
        final: dict[str, Any] = {}
        try:
            with self._client.stream("POST", f"{root}/v1/chat/completions", json=request) as response:
                if response.status_code != 200:
                    response.read()
                    try:
                        detail = response.json().get("error", {})
                        message = detail.get("message") if isinstance(detail, dict) else str(detail)
                    except ValueError:
                        message = response.text
                    raise UpstreamError(response.status_code, message or f"upstream HTTP {response.status_code}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise UpstreamError(500, str(chunk["error"]))
                    for choice in chunk.get("choices") or []:
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            yield "delta", content
                        if choice.get("finish_reason"):
                            final["finish_reason"] = choice["finish_reason"]
                    for key in ("usage", "timings"):
                        if chunk.get(key):
                            final[key] = chunk[key]
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"upstream {root} failed: {exc}") from exc
        except ValueError as exc:
            raise UpstreamError(502, f"upstream {root} sent bad JSON: {exc}") from exc
        yield "final", final
