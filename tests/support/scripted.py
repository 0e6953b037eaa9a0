"""Scripted model servers on 127.0.0.1 that speak the real wire protocols (real sockets, real streaming).

Each model name maps to a Script: a function from the conversation to the reply text, plus how to
deliver it (chunk delay, an HTTP status, a mid-stream error...). Servers count every request per model
so tests can assert attempts, and record the bodies they received and when each attempt arrived.

Three dialects: ScriptedOllama (native NDJSON), ScriptedOpenAI (chat completions, SSE) and
ScriptedAnthropic (messages, SSE with named events). Fault knobs are per attempt (1-based), so a test
can say "429 on the first attempt, then a stream cut, then success" and count what the client did.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

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
    # Per attempt: end the stream cleanly after N chunks, without the dialect's final event
    # (Ollama's done chunk, OpenAI's [DONE], Anthropic's message_stop).
    truncate_after_chunks: dict[int, int] = field(default_factory=dict)
    # Per attempt: after the 200 headers, send one meaningless byte every N seconds, for up to a minute.
    drip_attempts: dict[int, float] = field(default_factory=dict)
    # "stop" or "length" (an output cut by max_tokens), in each dialect's own words.
    finish_reason: str = "stop"
    # Ollama: the prompt_eval_count to report instead of a chars/4 estimate.
    prompt_eval_count: int | None = None
    # Anthropic: the error type of an in-stream ``event: error``.
    stream_error_type: str = "overloaded_error"
    # Answer every request with this status and an error message that quotes the request's headers
    # (a careless proxy), to prove benchtui never repeats a key it was sent back.
    echo_headers_status: int | None = None
    # When set, a request whose key (Bearer or x-api-key) differs is answered 401.
    api_key: str | None = None
    # Cut the reply at the request's own token limit (OpenAI max_tokens / max_completion_tokens, Anthropic
    # max_tokens, Ollama options.num_predict; one chunk counts as one token) and end it with the dialect's
    # length signal, as a real server does.
    honour_max_tokens: bool = False
    # The server's own decode timing: None is the dialect's default (Ollama sends eval_duration, OpenAI and
    # Anthropic send none); True adds llama.cpp's ``timings`` to OpenAI's last chunk; False leaves out
    # Ollama's eval_duration, like a server that does not time its decode.
    timings: bool | None = None
    # Deliver the whole 200 stream in one write, as a buffering proxy or server does: the client reads
    # every token at once (the case that once gave millions of tokens/s on the client clock).
    burst: bool = False
    # When set, the reply is made from the whole request body instead of ``reply(messages)``: a model
    # whose answer depends on the request's sampling seed, for instance.
    reply_to_request: Callable[[dict[str, Any]], str] | None = None

    def answer(self, body: dict[str, Any]) -> str:
        if self.reply_to_request is not None:
            return self.reply_to_request(body)
        return self.reply(body.get("messages", []))


def always(
    status: int, message: str, headers: dict[str, str] | None = None, attempts: int = 50
) -> dict[int, tuple[int, dict[str, str], str]]:
    """``Script.failures`` that fail every attempt the same way."""
    return {n: (status, dict(headers or {}), message) for n in range(1, attempts + 1)}


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
    return (
        f"Here is the fix.\n\n{path}\n```\n<<<<<<< SEARCH\n{{search}}\n=======\n{content.rstrip()}\n"
        ">>>>>>> REPLACE\n```\n"
    )


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


def tiny_task(folder: Path, task_id: str = "tiny") -> Path:
    """A task whose check is one grep: a batch of them costs the sandbox start, not a test suite.

    ``solution_reply(tiny_task(...))`` solves it."""
    (folder / "ws").mkdir(parents=True)
    (folder / "ws" / "answer.txt").write_text("todo\n")
    (folder / "sol").mkdir()
    (folder / "sol" / "answer.txt").write_text("done\n")
    task = folder / f"{task_id}.md"
    task.write_text(
        f"---\nid: {task_id}\ntitle: Write done\ndifficulty: smoke\nworkspace: ws/\nsolution: sol/\n"
        "check: grep -q done answer.txt\nmax_turns: 2\ntimeout: 60\n---\n"
        "Replace the word todo in answer.txt with done.\n"
    )
    return task


class _Held(io.BufferedIOBase):
    """A response body held back and written in one piece when the stream ends (``Script.burst``)."""

    def __init__(self, out: io.BufferedIOBase) -> None:
        super().__init__()
        self.out = out
        self.parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return

    def release(self) -> None:
        self.out.write(b"".join(self.parts))
        self.out.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a cancelled or timed-out request, a closed keep-alive) is expected here.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class ScriptedServer:
    """Base: a threaded HTTP server on 127.0.0.1:0 with per-model scripts and request counts."""

    def __init__(self, scripts: dict[str, Script]) -> None:
        self.scripts = scripts
        self.attempts: dict[str, int] = defaultdict(int)
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.headers_seen: list[dict[str, str]] = []
        # When each attempt arrived (time.monotonic()), per model.
        self.attempt_times: dict[str, list[float]] = defaultdict(list)
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
                raw = self.rfile.read(length)
                if len(raw) < length:  # the client died mid-request: nothing was asked
                    return
                body = json.loads(raw or b"{}")
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
        # A short poll interval: close() waits up to one interval for the serving loop to notice.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def bodies_snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """The request bodies so far, copied under the lock (the server thread may still be appending)."""
        with self._lock:
            return {model: list(bodies) for model, bodies in self.bodies.items()}

    def count(self, model: str, body: dict[str, Any]) -> int:
        with self._lock:
            self.attempts[model] += 1
            self.bodies[model].append(body)
            self.attempt_times[model].append(time.monotonic())
            return self.attempts[model]

    def preamble(
        self, handler: BaseHTTPRequestHandler, script: Script, attempt: int, error: Callable[[int, str], Any]
    ) -> bool:
        """The faults that happen before the answer streams; True when the request was answered.

        ``error(status, message)`` builds the dialect's error body."""
        if script.echo_headers_status is not None:
            seen = {k.lower(): v for k, v in handler.headers.items()}
            self.send_json(
                handler,
                script.echo_headers_status,
                error(script.echo_headers_status, f"rejected request with headers {seen}"),
            )
            return True
        if script.api_key is not None:
            sent = handler.headers.get("x-api-key") or (handler.headers.get("authorization") or "").removeprefix(
                "Bearer "
            )
            if sent != script.api_key:
                self.send_json(handler, 401, error(401, f"invalid api key: {sent}"))
                return True
        if attempt in script.failures:
            status, headers, message = script.failures[attempt]
            self.send_json(handler, status, error(status, message), headers)
            return True
        if script.first_byte_delay_s:
            time.sleep(script.first_byte_delay_s)
        return False

    def drip(self, handler: BaseHTTPRequestHandler, script: Script, attempt: int, content_type: str) -> bool:
        """Stream one byte every few seconds (never a whole line) when this attempt drips."""
        interval = script.drip_attempts.get(attempt)
        if interval is None:
            return False
        self.start_stream(handler, content_type)
        until = time.monotonic() + 60
        while time.monotonic() < until:
            self.write_chunk(handler, b" ")
            time.sleep(interval)
        return True

    # Helpers for subclasses

    @staticmethod
    def send_json(
        handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def start_stream(handler: BaseHTTPRequestHandler, content_type: str, burst: bool = False) -> None:
        handler.send_response(200)
        handler.send_header("content-type", content_type)
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        if burst:
            handler.flush_headers()
            handler.wfile = _Held(handler.wfile)

    @staticmethod
    def write_chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()

    @staticmethod
    def end_stream(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
        if isinstance(handler.wfile, _Held):
            held, handler.wfile = handler.wfile, handler.wfile.out
            held.release()

    @staticmethod
    def cut(handler: BaseHTTPRequestHandler) -> None:
        """Drop the connection mid-stream (no terminating chunk)."""
        handler.wfile.flush()
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(2)

    @staticmethod
    def limited(script: Script, chunks: list[str], limit: Any) -> tuple[list[str], str]:
        """The chunks a server with this token limit sends, and its finish reason ("stop" or "length")."""
        if script.honour_max_tokens and isinstance(limit, int) and 0 <= limit < len(chunks):
            return chunks[:limit], "length"
        return chunks, script.finish_reason

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
                {
                    "name": name if ":" in name else f"{name}:latest",
                    "model": name,
                    "size": 1000 + i,
                    "digest": f"sha256:{i:064d}",
                    "details": {
                        "family": "scripted",
                        "parameter_size": "1B",
                        "quantization_level": "Q4_0",
                        "format": "gguf",
                    },
                }
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
            self.send_json(
                handler,
                200,
                {
                    "details": {
                        "family": "scripted",
                        "parameter_size": "1B",
                        "quantization_level": "Q4_0",
                        "format": "gguf",
                    },
                    "model_info": {},
                },
            )
            return
        if handler.path != "/api/chat":
            self.send_json(handler, 404, {"error": "not found"})
            return
        name, script = self._script(str(body.get("model")))
        attempt = self.count(name, body)
        if script is None:
            self.send_json(handler, 404, {"error": f'model "{name}" not found, try pulling it first'})
            return
        if self.preamble(handler, script, attempt, lambda status, message: {"error": message}):
            return
        if self.drip(handler, script, attempt, "application/x-ndjson"):
            return
        text = script.answer(body)
        self.start_stream(handler, "application/x-ndjson", script.burst)
        chunks, finish_reason = self.limited(
            script, pieces(text, script.chunk_size), (body.get("options") or {}).get("num_predict")
        )
        started = time.monotonic_ns()
        for index, piece in enumerate(chunks):
            if script.cut_after_chunks.get(attempt) == index:
                self.cut(handler)
                return
            if script.truncate_after_chunks.get(attempt) == index:
                self.end_stream(handler)
                return
            if script.stream_error_after.get(attempt) == index:
                self.write_chunk(
                    handler, json.dumps({"error": "an error was encountered while running the model"}).encode() + b"\n"
                )
                self.end_stream(handler)
                return
            if attempt in script.garbage_attempts:
                self.write_chunk(handler, b"{this is not json\n")
                self.end_stream(handler)
                return
            line = {
                "model": name,
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            self.write_chunk(handler, json.dumps(line).encode() + b"\n")
            if script.chunk_delay_s:
                time.sleep(script.chunk_delay_s)
        eval_ns = max(time.monotonic_ns() - started, 1_000_000)
        prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
        final = {
            "model": name,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": finish_reason,
            "total_duration": eval_ns + 2_000_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": script.prompt_eval_count
            if script.prompt_eval_count is not None
            else max(prompt_chars // 4, 1),
            "prompt_eval_duration": 1_000_000,
            "eval_count": len(chunks),
            "eval_duration": eval_ns,
        }
        if script.timings is False:
            del final["eval_duration"]
        self.write_chunk(handler, json.dumps(final).encode() + b"\n")
        self.end_stream(handler)


class ScriptedOpenAI(ScriptedServer):
    """OpenAI-compatible API: GET /v1/models, streaming POST /v1/chat/completions (SSE)."""

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/v1/models":
            self.send_json(
                handler,
                200,
                {
                    "object": "list",
                    "data": [{"id": name, "object": "model", "owned_by": "scripted"} for name in sorted(self.scripts)],
                },
            )
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
            self.send_json(
                handler,
                404,
                {
                    "error": {
                        "message": f"The model `{name}` does not exist",
                        "type": "invalid_request_error",
                        "code": "model_not_found",
                    }
                },
            )
            return
        if self.preamble(
            handler, script, attempt, lambda status, message: {"error": {"message": message, "type": "error"}}
        ):
            return
        if self.drip(handler, script, attempt, "text/event-stream"):
            return
        text = script.answer(body)
        self.start_stream(handler, "text/event-stream", script.burst)
        chunks, finish_reason = self.limited(
            script, pieces(text, script.chunk_size), body.get("max_completion_tokens", body.get("max_tokens"))
        )
        started = time.monotonic()
        for index, piece in enumerate(chunks):
            if script.cut_after_chunks.get(attempt) == index:
                self.cut(handler)
                return
            if script.truncate_after_chunks.get(attempt) == index:
                self.end_stream(handler)
                return
            if attempt in script.garbage_attempts:
                self.write_chunk(handler, b"data: {not json\n\n")
                self.end_stream(handler)
                return
            if script.stream_error_after.get(attempt) == index:
                self.write_chunk(handler, b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n')
                self.end_stream(handler)
                return
            event = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "model": name,
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            self.write_chunk(handler, f"data: {json.dumps(event)}\n\n".encode())
            if script.chunk_delay_s:
                time.sleep(script.chunk_delay_s)
        prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
        done: dict[str, Any] = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": name,
            "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}],
        }
        if script.timings:
            # llama.cpp's server times its decode loop and sends it with the last chunk.
            predicted_ms = max((time.monotonic() - started) * 1000, 1.0)
            done["timings"] = {
                "prompt_n": max(prompt_chars // 4, 1),
                "prompt_ms": 1.0,
                "predicted_n": len(chunks),
                "predicted_ms": predicted_ms,
                "predicted_per_second": len(chunks) / predicted_ms * 1000,
            }
        usage = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": name,
            "choices": [],
            "usage": {
                "prompt_tokens": max(prompt_chars // 4, 1),
                "completion_tokens": len(chunks),
                "total_tokens": max(prompt_chars // 4, 1) + len(chunks),
            },
        }
        self.write_chunk(handler, f"data: {json.dumps(done)}\n\n".encode())
        self.write_chunk(handler, f"data: {json.dumps(usage)}\n\n".encode())
        self.write_chunk(handler, b"data: [DONE]\n\n")
        self.end_stream(handler)


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ANTHROPIC_ERROR_TYPES.get(status, "api_error"), "message": message}}


class ScriptedAnthropic(ScriptedServer):
    """Anthropic's Messages API: GET /v1/models, streaming POST /v1/messages (SSE with named events)."""

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path.split("?", 1)[0] == "/v1/models":
            self.send_json(
                handler,
                200,
                {
                    "data": [{"id": name, "type": "model", "display_name": name} for name in sorted(self.scripts)],
                    "has_more": False,
                },
            )
        else:
            self.send_json(handler, 404, anthropic_error(404, "not found"))

    @classmethod
    def event(cls, handler: BaseHTTPRequestHandler, name: str, data: dict[str, Any]) -> None:
        cls.write_chunk(handler, f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

    def handle_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if handler.path != "/v1/messages":
            self.send_json(handler, 404, anthropic_error(404, "not found"))
            return
        name = str(body.get("model"))
        script = self.scripts.get(name)
        attempt = self.count(name, body)
        if script is None:
            self.send_json(handler, 404, anthropic_error(404, f"model: {name}"))
            return
        if self.preamble(handler, script, attempt, anthropic_error):
            return
        if self.drip(handler, script, attempt, "text/event-stream"):
            return
        text = script.answer(body)
        prompt_chars = len(str(body.get("system") or "")) + sum(
            len(str(m.get("content", ""))) for m in body.get("messages", [])
        )
        self.start_stream(handler, "text/event-stream", script.burst)
        self.event(
            handler,
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": name,
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": max(prompt_chars // 4, 1), "output_tokens": 1},
                },
            },
        )
        self.event(
            handler,
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
        self.event(handler, "ping", {"type": "ping"})
        chunks, finish_reason = self.limited(script, pieces(text, script.chunk_size), body.get("max_tokens"))
        for index, piece in enumerate(chunks):
            if script.cut_after_chunks.get(attempt) == index:
                self.cut(handler)
                return
            if script.truncate_after_chunks.get(attempt) == index:
                self.end_stream(handler)
                return
            if attempt in script.garbage_attempts:
                self.write_chunk(handler, b"event: content_block_delta\ndata: {not json\n\n")
                self.end_stream(handler)
                return
            if script.stream_error_after.get(attempt) == index:
                self.event(
                    handler,
                    "error",
                    {"type": "error", "error": {"type": script.stream_error_type, "message": "Overloaded"}},
                )
                self.end_stream(handler)
                return
            self.event(
                handler,
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            )
            if script.chunk_delay_s:
                time.sleep(script.chunk_delay_s)
        self.event(handler, "content_block_stop", {"type": "content_block_stop", "index": 0})
        stop_reason = {"stop": "end_turn", "length": "max_tokens"}.get(finish_reason, finish_reason)
        self.event(
            handler,
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": len(chunks)},
            },
        )
        self.event(handler, "message_stop", {"type": "message_stop"})
        self.end_stream(handler)
