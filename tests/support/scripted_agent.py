"""A scripted model server for agents: the three dialects coding assistants speak, with tool calls.

``ScriptedAgentServer`` listens on 127.0.0.1 (real sockets, real chunked SSE) and answers:

* ``POST /v1/chat/completions`` (and ``/chat/completions``): OpenAI chat, streaming or not, ``tools`` in,
  ``tool_calls`` out, ``usage`` (in the stream when ``stream_options.include_usage`` asks);
* ``POST /v1/responses`` (and ``/responses``): OpenAI Responses, streaming (``response.created``,
  ``response.output_item.added/done``, ``response.output_text.delta``, ``response.function_call_arguments
  .delta``, ``response.completed``) or not, ``function_call`` items out;
* ``POST /v1/messages`` (``?beta=true`` too): Anthropic messages, streaming (named events) or not,
  ``tool_use`` blocks out;
* ``GET /v1/models`` (both vendors' shapes in one list) and ``HEAD /`` (Claude Code's probe).

Each model name maps to an ``AgentScript``: ``turn(messages, tools) -> Turn``, where ``messages`` is the
conversation normalised to one shape whatever the dialect (``role`` user/assistant/tool/system, ``content``
text, ``tool_calls`` [{id, name, arguments (dict)}] on assistant turns, ``tool_call_id`` on tool results) and
``tools`` the offered tools as [{name, description, parameters}]. The server records every request (path,
headers, body, dialect) and the usage it reported, so tests assert what arrived and what was claimed.

Independent of ``scripted.py`` (the text-only servers benchtui's own providers are tested against).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Turn:
    """One model turn: text, tool calls, or both (text first). ``finish`` overrides the finish reason
    ("stop", "length"; default: "tool_calls" when there are calls, else "stop")."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish: str | None = None

    @property
    def finish_reason(self) -> str:
        if self.finish:
            return self.finish
        return "tool_calls" if self.tool_calls else "stop"


TurnFunction = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Turn]


def text(reply: str) -> Turn:
    return Turn(text=reply)


def call(name: str, say: str = "", **arguments: Any) -> Turn:
    """A turn that calls one tool (optionally after some text)."""
    return Turn(text=say, tool_calls=(ToolCall(name, arguments),))


def turns(*sequence: Turn) -> TurnFunction:
    """The turns in order, one per request, the last one repeated."""
    state = {"n": 0}
    lock = threading.Lock()

    def turn(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Turn:
        with lock:
            index = min(state["n"], len(sequence) - 1)
            state["n"] += 1
        return sequence[index]

    return turn


def by_tool_results(*sequence: Turn) -> TurnFunction:
    """The next turn chosen by how many tool results the conversation holds (stateless: a retried
    request gets the same turn again, as a deterministic model would answer)."""

    def turn(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Turn:
        done = sum(1 for m in messages if m["role"] == "tool")
        return sequence[min(done, len(sequence) - 1)]

    return turn


@dataclass
class AgentScript:
    """How one scripted model behaves."""

    turn: TurnFunction
    chunk_size: int = 8
    chunk_delay_s: float = 0.0
    first_byte_delay_s: float = 0.0
    # Report token usage (False: the server reports none, as some do).
    usage: bool = True
    # llama.cpp's ``timings`` object on the last chat chunk (the server's own decode clock).
    timings: bool = False
    # The prompt cache, in each dialect's own words: chat ``usage.prompt_tokens_details.cached_tokens``
    # (with ``timings``, llama.cpp's ``timings.cache_n`` too), Anthropic ``cache_read_input_tokens`` (its
    # ``input_tokens`` then the uncached rest). None: the server says nothing about a cache.
    cached_tokens: int | None = None
    # Anthropic's ``cache_creation_input_tokens``: prompt tokens written to its cache (left out of its
    # ``input_tokens`` too); the chat dialects have no such figure. None: the server says nothing of it.
    cache_write_tokens: int | None = None
    # llama.cpp's ``timings.prompt_ms``: the server's own time processing the prompt.
    prompt_ms: float = 1.0
    # Per attempt (1-based): answer with (status, headers, message) instead.
    failures: dict[int, tuple[int, dict[str, str], str]] = field(default_factory=dict)
    # Per attempt: drop the connection after N streamed chunks.
    cut_after_chunks: dict[int, int] = field(default_factory=dict)
    # Cut the text at the request's own token limit (one chunk is one token) and finish with "length".
    honour_max_tokens: bool = False
    # When set, a request whose key (Bearer or x-api-key) differs is answered 401.
    api_key: str | None = None


@dataclass(frozen=True)
class Recorded:
    path: str
    dialect: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]


def pieces(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)]


# Normalising each dialect's conversation into the one shape scripts read.


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return str(content)


def _loads(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments or "{}")
    except (TypeError, json.JSONDecodeError):
        return {"_unparsed": arguments}
    return value if isinstance(value, dict) else {"_value": value}


def normalise_chat(body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    messages = []
    for m in body.get("messages") or []:
        item: dict[str, Any] = {"role": m.get("role"), "content": _text_of(m.get("content"))}
        if m.get("tool_calls"):
            item["tool_calls"] = [
                {
                    "id": c.get("id"),
                    "name": (c.get("function") or {}).get("name"),
                    "arguments": _loads((c.get("function") or {}).get("arguments")),
                }
                for c in m["tool_calls"]
            ]
        if m.get("tool_call_id"):
            item["tool_call_id"] = m["tool_call_id"]
        messages.append(item)
    tools = [
        {
            "name": (t.get("function") or {}).get("name"),
            "description": (t.get("function") or {}).get("description"),
            "parameters": (t.get("function") or {}).get("parameters"),
        }
        for t in body.get("tools") or []
        if t.get("type") == "function"
    ]
    return messages, tools


def normalise_responses(body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": str(body["instructions"])})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    for item in items or []:
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            role = "system" if item.get("role") == "developer" else item.get("role")
            messages.append({"role": role, "content": _text_of(item.get("content"))})
        elif kind == "function_call":
            entry = {"id": item.get("call_id"), "name": item.get("name"), "arguments": _loads(item.get("arguments"))}
            if messages and messages[-1]["role"] == "assistant":
                messages[-1].setdefault("tool_calls", []).append(entry)
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [entry]})
        elif kind == "function_call_output":
            messages.append(
                {"role": "tool", "content": _text_of(item.get("output")), "tool_call_id": item.get("call_id")}
            )
    tools = [
        {"name": t.get("name"), "description": t.get("description"), "parameters": t.get("parameters")}
        for t in body.get("tools") or []
        if t.get("type") == "function"
    ]
    return messages, tools


def normalise_anthropic(body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []
    if body.get("system"):
        messages.append({"role": "system", "content": _text_of(body["system"])})
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, str):
            messages.append({"role": m.get("role"), "content": content})
            continue
        texts, calls = [], []
        for block in content or []:
            kind = block.get("type")
            if kind == "text":
                texts.append(block.get("text") or "")
            elif kind == "tool_use":
                calls.append({"id": block.get("id"), "name": block.get("name"), "arguments": block.get("input") or {}})
            elif kind == "tool_result":
                messages.append(
                    {
                        "role": "tool",
                        "content": _text_of(block.get("content")),
                        "tool_call_id": block.get("tool_use_id"),
                    }
                )
        if texts or calls:
            item: dict[str, Any] = {"role": m.get("role"), "content": "".join(texts)}
            if calls:
                item["tool_calls"] = calls
            messages.append(item)
    tools = [
        {"name": t.get("name"), "description": t.get("description"), "parameters": t.get("input_schema")}
        for t in body.get("tools") or []
        if "input_schema" in t
    ]
    return messages, tools


_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_NORMALISERS = {"chat": normalise_chat, "responses": normalise_responses, "anthropic": normalise_anthropic}
_ROUTES = {
    "/v1/chat/completions": "chat",
    "/chat/completions": "chat",
    "/v1/responses": "responses",
    "/responses": "responses",
    "/v1/messages": "anthropic",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client that hung up (a cancelled request) is expected
        super().handle_error(request, client_address)


class _Cut(Exception):
    """The script asked to drop the connection mid-stream."""


class ScriptedAgentServer:
    """The three dialects on one loopback port, one ``AgentScript`` per model name."""

    def __init__(self, scripts: dict[str, AgentScript]) -> None:
        self.scripts = scripts
        self.requests: list[Recorded] = []
        # The usage the server reported for each answered request, in order: {"prompt_tokens", "completion_tokens"}.
        self.reported: list[dict[str, int]] = []
        self.attempts: dict[str, int] = defaultdict(int)
        # When each attempt arrived (time.monotonic()), per model.
        self.attempt_times: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                owner._get(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if len(raw) < length:
                    return
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    owner._json(self, 400, {"error": {"message": "invalid JSON body", "type": "invalid_request_error"}})
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, _Cut):
                    owner._post(self, body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        """The root (Anthropic's base URL); OpenAI clients want ``url + "/v1"``."""
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

    def recorded(self, model: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if model is None or r.model == model]

    # Plumbing

    @staticmethod
    def _json(
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
    def _start_stream(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("cache-control", "no-cache")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()

    @staticmethod
    def _end(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

    @staticmethod
    def _cut(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.flush()
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(2)
        raise _Cut

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path.split("?", 1)[0] in ("/v1/models", "/models"):
            data = [
                {
                    "id": name,
                    "object": "model",
                    "type": "model",
                    "display_name": name,
                    "owned_by": "scripted",
                    "created": 0,
                    "created_at": "2026-01-01T00:00:00Z",
                }
                for name in sorted(self.scripts)
            ]
            self._json(handler, 200, {"object": "list", "data": data, "has_more": False})
        else:
            self._json(handler, 404, {"error": {"message": "not found", "type": "not_found_error"}})

    @staticmethod
    def _error_body(dialect: str, status: int, message: str) -> dict[str, Any]:
        if dialect == "anthropic":
            kinds = {
                401: "authentication_error",
                404: "not_found_error",
                429: "rate_limit_error",
                529: "overloaded_error",
            }
            kind = kinds.get(status, "invalid_request_error" if status < 500 else "api_error")
            return {"type": "error", "error": {"type": kind, "message": message}}
        return {"error": {"message": message, "type": "error", "code": status}}

    def _post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        path = handler.path.split("?", 1)[0]
        dialect = _ROUTES.get(path)
        model = str(body.get("model"))
        with self._lock:
            self.requests.append(
                Recorded(path, dialect or "?", model, {k.lower(): v for k, v in handler.headers.items()}, body)
            )
        if dialect is None:
            self._json(handler, 404, {"error": {"message": f"no route {path}"}})
            return
        script = self.scripts.get(model)
        if script is None:
            self._json(handler, 404, self._error_body(dialect, 404, f"model {model!r} not found"))
            return
        with self._lock:
            self.attempts[model] += 1
            self.attempt_times[model].append(time.monotonic())
            attempt = self.attempts[model]
        if script.api_key is not None:
            sent = handler.headers.get("x-api-key") or (handler.headers.get("authorization") or "").removeprefix(
                "Bearer "
            )
            if sent != script.api_key:
                self._json(handler, 401, self._error_body(dialect, 401, "invalid api key"))
                return
        if attempt in script.failures:
            status, headers, message = script.failures[attempt]
            self._json(handler, status, self._error_body(dialect, status, message), headers)
            return
        if script.first_byte_delay_s:
            time.sleep(script.first_byte_delay_s)
        messages, tools = _NORMALISERS[dialect](body)
        turn = script.turn(messages, tools)
        limit = body.get("max_output_tokens") or body.get("max_completion_tokens") or body.get("max_tokens")
        chunks = pieces(turn.text, script.chunk_size)
        finish = turn.finish_reason
        calls = list(turn.tool_calls)
        if script.honour_max_tokens and isinstance(limit, int) and len(chunks) > limit:
            chunks, calls, finish = chunks[:limit], [], "length"
        call_ids = [c.id or f"call_{attempt}_{i}" for i, c in enumerate(calls)]
        arguments = [json.dumps(c.arguments) for c in calls]
        completion = len(chunks) + sum(len(pieces(a, script.chunk_size)) for a in arguments)
        usage = {"prompt_tokens": max(len(json.dumps(messages)) // 4, 1), "completion_tokens": completion}
        with self._lock:
            self.reported.append(usage if script.usage else {})
        reply = _Reply(
            model, chunks, list(zip(call_ids, [c.name for c in calls], arguments, strict=True)), finish, usage
        )
        stream = bool(body.get("stream"))
        if dialect == "chat":
            if stream:
                self._stream(handler, script, attempt, self._chat_events(reply, script, body))
            else:
                self._json(handler, 200, self._chat_body(reply, script))
        elif dialect == "responses":
            if stream:
                self._stream(handler, script, attempt, self._responses_events(reply, script))
            else:
                self._json(handler, 200, self._responses_body(reply, script))
        elif stream:
            self._stream(handler, script, attempt, self._anthropic_events(reply, script))
        else:
            self._json(handler, 200, self._anthropic_body(reply, script))

    def _stream(
        self, handler: BaseHTTPRequestHandler, script: AgentScript, attempt: int, events: Iterator[bytes]
    ) -> None:
        self._start_stream(handler)
        for index, event in enumerate(events):
            if script.cut_after_chunks.get(attempt) == index:
                self._cut(handler)
            self._write(handler, event)
            if script.chunk_delay_s:
                time.sleep(script.chunk_delay_s)
        self._end(handler)

    # OpenAI chat completions

    def _chat_events(self, reply: _Reply, script: AgentScript, body: dict[str, Any]) -> Iterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            payload = {
                "id": "chatcmpl-scripted",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": reply.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(payload)}\n\n".encode()

        started = time.monotonic()
        yield chunk({"role": "assistant", "content": ""})
        for piece in reply.chunks:
            yield chunk({"content": piece})
        for index, (call_id, name, arguments) in enumerate(reply.calls):
            head = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
            yield chunk({"tool_calls": [head]})
            for piece in pieces(arguments, script.chunk_size):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        extra: dict[str, Any] = {}
        if script.timings:
            predicted_ms = max((time.monotonic() - started) * 1000, 1.0)
            cached = script.cached_tokens or 0
            extra["timings"] = {
                "cache_n": cached,
                "prompt_n": reply.usage["prompt_tokens"] - cached,
                "prompt_ms": script.prompt_ms,
                "predicted_n": reply.usage["completion_tokens"],
                "predicted_ms": predicted_ms,
            }
        yield chunk({}, reply.finish, **extra)
        if script.usage and (body.get("stream_options") or {}).get("include_usage"):
            payload = {
                "id": "chatcmpl-scripted",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": reply.model,
                "choices": [],
                "usage": self._chat_usage(reply, script),
            }
            yield f"data: {json.dumps(payload)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    def _chat_body(self, reply: _Reply, script: AgentScript) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(reply.chunks) or None}
        if reply.calls:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
                for call_id, name, arguments in reply.calls
            ]
        payload: dict[str, Any] = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": 0,
            "model": reply.model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish}],
        }
        if script.usage:
            payload["usage"] = self._chat_usage(reply, script)
        return payload

    def _chat_usage(self, reply: _Reply, script: AgentScript) -> dict[str, Any]:
        usage: dict[str, Any] = {**reply.usage, "total_tokens": sum(reply.usage.values())}
        if script.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": script.cached_tokens}
        return usage

    # OpenAI Responses

    def _responses_output(self, reply: _Reply) -> list[dict[str, Any]]:
        output: list[dict[str, Any]] = []
        if reply.chunks:
            output.append(
                {
                    "id": "msg_scripted",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "".join(reply.chunks), "annotations": []}],
                }
            )
        for index, (call_id, name, arguments) in enumerate(reply.calls):
            output.append(
                {
                    "id": f"fc_scripted_{index}",
                    "type": "function_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": name,
                    "arguments": arguments,
                }
            )
        return output

    def _responses_body(self, reply: _Reply, script: AgentScript) -> dict[str, Any]:
        truncated = reply.finish == "length"
        payload: dict[str, Any] = {
            "id": "resp_scripted",
            "object": "response",
            "created_at": 0,
            "model": reply.model,
            "status": "incomplete" if truncated else "completed",
            "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
            "output": self._responses_output(reply),
            "usage": None,
        }
        if script.usage:
            payload["usage"] = {
                "input_tokens": reply.usage["prompt_tokens"],
                "input_tokens_details": {"cached_tokens": script.cached_tokens or 0},
                "output_tokens": reply.usage["completion_tokens"],
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": sum(reply.usage.values()),
            }
        return payload

    def _responses_events(self, reply: _Reply, script: AgentScript) -> Iterator[bytes]:
        sequence = iter(range(1_000_000))

        def event(name: str, **data: Any) -> bytes:
            payload = {"type": name, "sequence_number": next(sequence), **data}
            return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()

        final = self._responses_body(reply, script)
        shell = {**final, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
        yield event("response.created", response=shell)
        yield event("response.in_progress", response=shell)
        output = final["output"]
        index = 0
        if reply.chunks:
            item = output[0]
            yield event(
                "response.output_item.added", output_index=0, item={**item, "status": "in_progress", "content": []}
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            yield event("response.content_part.added", item_id=item["id"], output_index=0, content_index=0, part=part)
            for piece in reply.chunks:
                yield event(
                    "response.output_text.delta", item_id=item["id"], output_index=0, content_index=0, delta=piece
                )
            full = "".join(reply.chunks)
            yield event("response.output_text.done", item_id=item["id"], output_index=0, content_index=0, text=full)
            yield event(
                "response.content_part.done",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                part=item["content"][0],
            )
            yield event("response.output_item.done", output_index=0, item=item)
            index = 1
        for item in output[index:]:
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            for piece in pieces(item["arguments"], script.chunk_size):
                yield event(
                    "response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=piece
                )
            yield event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                arguments=item["arguments"],
            )
            yield event("response.output_item.done", output_index=index, item=item)
            index += 1
        name = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        yield event(name, response=final)

    # Anthropic messages

    def _anthropic_content(self, reply: _Reply) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = []
        if reply.chunks:
            content.append({"type": "text", "text": "".join(reply.chunks)})
        for call_id, name, arguments in reply.calls:
            content.append({"type": "tool_use", "id": call_id, "name": name, "input": json.loads(arguments)})
        return content

    def _anthropic_usage(self, reply: _Reply, script: AgentScript) -> dict[str, Any]:
        if not script.usage:
            return {}
        usage = {"input_tokens": reply.usage["prompt_tokens"], "output_tokens": reply.usage["completion_tokens"]}
        if script.cached_tokens is not None:
            # Anthropic's input_tokens leave out what was read from the cache.
            usage["input_tokens"] -= script.cached_tokens
            usage["cache_read_input_tokens"] = script.cached_tokens
        if script.cache_write_tokens is not None:
            usage["input_tokens"] -= script.cache_write_tokens
            usage["cache_creation_input_tokens"] = script.cache_write_tokens
        return usage

    def _anthropic_body(self, reply: _Reply, script: AgentScript) -> dict[str, Any]:
        return {
            "id": "msg_scripted",
            "type": "message",
            "role": "assistant",
            "model": reply.model,
            "content": self._anthropic_content(reply),
            "stop_reason": _STOP_REASONS.get(reply.finish, reply.finish),
            "stop_sequence": None,
            "usage": self._anthropic_usage(reply, script),
        }

    def _anthropic_events(self, reply: _Reply, script: AgentScript) -> Iterator[bytes]:
        def event(name: str, **data: Any) -> bytes:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

        usage = self._anthropic_usage(reply, script)
        start_usage = {**usage, "output_tokens": 1} if usage else {}
        message: dict[str, Any] = {
            "id": "msg_scripted",
            "type": "message",
            "role": "assistant",
            "model": reply.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        yield event("message_start", message=message)
        yield event("ping")
        index = 0
        if reply.chunks:
            yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
            for piece in reply.chunks:
                yield event("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
            yield event("content_block_stop", index=0)
            index = 1
        for call_id, name, arguments in reply.calls:
            block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
            yield event("content_block_start", index=index, content_block=block)
            for piece in pieces(arguments, script.chunk_size):
                yield event(
                    "content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": piece}
                )
            yield event("content_block_stop", index=index)
            index += 1
        delta = {"stop_reason": _STOP_REASONS.get(reply.finish, reply.finish), "stop_sequence": None}
        yield event("message_delta", delta=delta, usage={"output_tokens": usage["output_tokens"]} if usage else {})
        yield event("message_stop")


@dataclass(frozen=True)
class _Reply:
    model: str
    chunks: list[str]
    calls: list[tuple[str, str, str]]  # (call id, tool name, arguments as JSON text)
    finish: str
    usage: dict[str, int]
