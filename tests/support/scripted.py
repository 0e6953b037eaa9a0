"""Scripted model servers on 127.0.0.1 that speak the real wire protocols (real sockets, real streaming).

Each model name maps to a Script: a function from the conversation to the reply text, plus how to
deliver it (chunk delay, an HTTP status, a mid-stream error...). Servers count every request per model
so tests can assert attempts, and record the bodies they received.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Reply = Callable[[list[dict[str, Any]]], str]


@dataclass
class Script:
    """How one scripted model behaves."""

    reply: Reply
    chunk_delay_s: float = 0.0
    chunk_size: int = 12
    # Per attempt (1-based) overrides: status code and headers to answer with instead of streaming.
    failures: dict[int, tuple[int, dict[str, str], str]] = field(default_factory=dict)
    # Per attempt: cut the stream after N chunks (no final chunk).
    cut_after_chunks: dict[int, int] = field(default_factory=dict)
    # Per attempt: send an in-stream error line after N chunks.
    stream_error_after: dict[int, int] = field(default_factory=dict)
    garbage_attempts: set[int] = field(default_factory=set)
    first_byte_delay_s: float = 0.0


def fixed(text: str) -> Reply:
    return lambda messages: text


def sequence(*texts: str) -> Reply:
    """Replies in order, the last one repeated."""
    state = {"n": 0}

    def reply(messages: list[dict[str, Any]]) -> str:
        index = min(state["n"], len(texts) - 1)
        state["n"] += 1
        return texts[index]

    return reply


def whole_file_edit(path: str, content: str) -> str:
    """A SEARCH/REPLACE reply (diff format) that swaps the whole of ``path`` for ``content``."""
    return f"Here is the fix.\n\n{path}\n```\n<<<<<<< SEARCH\n{{search}}\n=======\n{content.rstrip()}\n>>>>>>> REPLACE\n```\n"


def solution_reply(task_md: Path) -> Reply:
    """A reply that applies the task's reference solution as SEARCH/REPLACE blocks of whole files."""
    import yaml

    meta = yaml.safe_load(task_md.read_text().split("---")[1])
    workspace = task_md.parent / meta["workspace"]
    solution = task_md.parent / meta["solution"]
    blocks = []
    for file in sorted(solution.rglob("*")):
        if not file.is_file():
            continue
        relative = file.relative_to(solution).as_posix()
        original = workspace / relative
        search = original.read_text() if original.exists() else ""
        blocks.append(
            f"{relative}\n```\n<<<<<<< SEARCH\n{search.rstrip()}\n=======\n{file.read_text().rstrip()}\n"
            ">>>>>>> REPLACE\n```\n"
        )
    text = "I will apply the fix.\n\n" + "\n".join(blocks)
    return fixed(text)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ScriptedServer:
    """Base: a threaded HTTP server on 127.0.0.1:0 with per-model scripts and request counts."""

    def __init__(self, scripts: dict[str, Script]) -> None:
        self.scripts = scripts
        self.attempts: dict[str, int] = defaultdict(int)
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.headers_seen: list[dict[str, str]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                owner.handle_get(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    owner.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                    owner.in_flight += 1
                    owner.peak_in_flight = max(owner.peak_in_flight, owner.in_flight)
                try:
                    owner.handle_post(self, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with owner._lock:
                        owner.in_flight -= 1

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ScriptedServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self, model: str, body: dict[str, Any]) -> int:
        with self._lock:
            self.attempts[model] += 1
            self.bodies[model].append(body)
            return self.attempts[model]

    # Helpers for subclasses

    @staticmethod
    def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any,
                  headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def start_stream(handler: BaseHTTPRequestHandler, content_type: str) -> None:
        handler.send_response(200)
        handler.send_header("content-type", content_type)
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()

    @staticmethod
    def write_chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()

    @staticmethod
    def end_stream(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

    @staticmethod
    def cut(handler: BaseHTTPRequestHandler) -> None:
        """Drop the connection mid-stream (no terminating chunk)."""
        handler.wfile.flush()
        handler.close_connection = True
        try:
            handler.connection.shutdown(2)
        except OSError:
            pass

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        self.send_json(handler, 404, {"error": "not found"})

    def handle_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        raise NotImplementedError


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class ScriptedOllama(ScriptedServer):
    """Ollama's native API: /api/tags, /api/show, /api/version, streaming /api/chat (NDJSON)."""

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/api/tags":
            models = [
                {"name": name if ":" in name else f"{name}:latest", "model": name, "size": 1000 + i,
                 "digest": f"sha256:{i:064d}",
                 "details": {"family": "scripted", "parameter_size": "1B", "quantization_level": "Q4_0",
                             "format": "gguf"}}
                for i, name in enumerate(sorted(self.scripts))
            ]
            self.send_json(handler, 200, {"models": models})
        elif handler.path == "/api/version":
            self.send_json(handler, 200, {"version": "0.0.0-scripted"})
        else:
            self.send_json(handler, 404, {"error": "not found"})

    def _script(self, name: str) -> tuple[str, Script | None]:
        bare = name.removesuffix(":latest")
        return bare, self.scripts.get(bare)

    def handle_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if handler.path == "/api/show":
            name, script = self._script(str(body.get("model") or body.get("name")))
            if script is None:
                self.send_json(handler, 404, {"error": f"model '{name}' not found"})
                return
            self.send_json(handler, 200, {"details": {"family": "scripted", "parameter_size": "1B",
                                                      "quantization_level": "Q4_0", "format": "gguf"},
                                          "model_info": {}})
            return
        if handler.path != "/api/chat":
            self.send_json(handler, 404, {"error": "not found"})
            return
        name, script = self._script(str(body.get("model")))
        attempt = self.count(name, body)
        if script is None:
            self.send_json(handler, 404, {"error": f"model \"{name}\" not found, try pulling it first"})
            return
        if attempt in script.failures:
            status, headers, message = script.failures[attempt]
            self.send_json(handler, status, {"error": message}, headers)
            return
        if script.first_byte_delay_s:
            time.sleep(script.first_byte_delay_s)
        text = script.reply(body.get("messages", []))
        self.start_stream(handler, "application/x-ndjson")
        chunks = pieces(text, script.chunk_size)
        started = time.monotonic_ns()
        for index, piece in enumerate(chunks):
            if script.cut_after_chunks.get(attempt) == index:
                self.cut(handler)
                return
            if script.stream_error_after.get(attempt) == index:
                self.write_chunk(handler, json.dumps({"error": "an error was encountered while running the model"}
                                                     ).encode() + b"\n")
                self.end_stream(handler)
                return
            if attempt in script.garbage_attempts:
                self.write_chunk(handler, b"{this is not json\n")
                self.end_stream(handler)
                return
            line = {"model": name, "created_at": "2026-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": piece}, "done": False}
            self.write_chunk(handler, json.dumps(line).encode() + b"\n")
            if script.chunk_delay_s:
                time.sleep(script.chunk_delay_s)
        eval_ns = max(time.monotonic_ns() - started, 1_000_000)
        prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
        final = {
            "model": name, "created_at": "2026-01-01T00:00:00Z", "message": {"role": "assistant", "content": ""},
            "done": True, "done_reason": "stop", "total_duration": eval_ns + 2_000_000, "load_duration": 1_000_000,
            "prompt_eval_count": max(prompt_chars // 4, 1), "prompt_eval_duration": 1_000_000,
            "eval_count": len(chunks), "eval_duration": eval_ns,
        }
        self.write_chunk(handler, json.dumps(final).encode() + b"\n")
        self.end_stream(handler)


class ScriptedOpenAI(ScriptedServer):
    """OpenAI-compatible API: GET /v1/models, streaming POST /v1/chat/completions (SSE)."""

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/v1/models":
            self.send_json(handler, 200, {"object": "list", "data": [
                {"id": name, "object": "model", "owned_by": "scripted"} for name in sorted(self.scripts)]})
        else:
            self.send_json(handler, 404, {"error": {"message": "not found"}})

    def handle_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if handler.path != "/v1/chat/completions":
            self.send_json(handler, 404, {"error": {"message": "not found"}})
            return
        name = str(body.get("model"))
        script = self.scripts.get(name)
        attempt = self.count(name, body)
        if script is None:
            self.send_json(handler, 404, {"error": {"message": f"The model `{name}` does not exist",
                                                    "type": "invalid_request_error", "code": "model_not_found"}})
            return
        if attempt in script.failures:
            status, headers, message = script.failures[attempt]
            self.send_json(handler, status, {"error": {"message": message, "type": "error"}}, headers)
            return
        if script.first_byte_delay_s:
            time.sleep(script.first_byte_delay_s)
        text = script.reply(body.get("messages", []))
        self.start_stream(handler, "text/event-stream")
        chunks = pieces(text, script.chunk_size)
        for index, piece in enumerate(chunks):
            if script.cut_after_chunks.get(attempt) == index:
                self.cut(handler)
                return
            if attempt in script.garbage_attempts:
                self.write_chunk(handler, b"data: {not json\n\n")
                self.end_stream(handler)
                return
            if script.stream_error_after.get(attempt) == index:
                self.write_chunk(handler, b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n')
                self.end_stream(handler)
                return
            event = {"id": "c1", "object": "chat.completion.chunk", "model": name,
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.write_chunk(handler, f"data: {json.dumps(event)}\n\n".encode())
            if script.chunk_delay_s:
                time.sleep(script.chunk_delay_s)
        prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
        done = {"id": "c1", "object": "chat.completion.chunk", "model": name,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {"id": "c1", "object": "chat.completion.chunk", "model": name, "choices": [],
                 "usage": {"prompt_tokens": max(prompt_chars // 4, 1), "completion_tokens": len(chunks),
                           "total_tokens": max(prompt_chars // 4, 1) + len(chunks)}}
        self.write_chunk(handler, f"data: {json.dumps(done)}\n\n".encode())
        self.write_chunk(handler, f"data: {json.dumps(usage)}\n\n".encode())
        self.write_chunk(handler, b"data: [DONE]\n\n")
        self.end_stream(handler)
