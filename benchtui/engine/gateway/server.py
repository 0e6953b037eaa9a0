"""The gateway's loopback HTTP server: routes, the per-run token, request bodies, chunked streams.

Routes (the ``/v1`` prefix optional for OpenAI clients, which join paths to a base URL themselves):
``POST /v1/chat/completions``, ``POST /v1/responses``, ``POST /v1/messages`` (``?beta=true`` as Claude
Code sends it), ``GET /v1/models`` and ``HEAD /`` (Claude Code's reachability probe, no token needed).
Every other request needs the run's token, as ``Authorization: Bearer`` or ``x-api-key``, whichever the
client's SDK sends; anything else is answered 401 and never forwarded.

The same routes are served on a unix socket too, when a run asks (``make_unix_server``): a confined
assistant with no network of its own reaches the gateway through it (engine/assistants/bridge.py),
with the same token check.
"""

from __future__ import annotations

import gzip
import hmac
import json
import socketserver
import sys
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchtui.engine.gateway.exchange import ANTHROPIC, CHAT, RESPONSES, ClientGone, Codec

ROUTES: dict[str, Codec] = {
    "/v1/chat/completions": CHAT,
    "/chat/completions": CHAT,
    "/v1/responses": RESPONSES,
    "/responses": RESPONSES,
    "/v1/messages": ANTHROPIC,
}
MAX_BODY_BYTES = 64 * 1024 * 1024  # an agent's whole conversation; anything bigger is not a request

Serve = Callable[[Codec, dict[str, Any], "Handler"], None]
Models = Callable[[], dict[str, Any]]


class _Routes(socketserver.BaseServer):
    """What the handlers call, whichever socket the request came on (set by make_server)."""

    serve: Serve
    models: Models
    token: str
    on_reject: Callable[[], None]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | ClientGone):
            return  # a client that hung up is its own business
        super().handle_error(request, client_address)


class _Server(_Routes, ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _UnixServer(_Routes, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class Handler(BaseHTTPRequestHandler):
    """One client connection; also the ``Responder`` the exchange writes its reply through."""

    protocol_version = "HTTP/1.1"
    server: _Routes

    def address_string(self) -> str:
        # A unix socket's peer has no address ("" from accept), which the base class would index.
        return str(self.client_address[0]) if isinstance(self.client_address, tuple) else "unix"

    def log_message(self, format: str, *args: Any) -> None:
        return  # the meter records what matters; stderr belongs to the app

    # Responder

    def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            raise ClientGone from None

    def start_stream(self) -> None:
        try:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
        except OSError:
            raise ClientGone from None

    def send_chunk(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError:
            raise ClientGone from None

    def end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            raise ClientGone from None

    # HTTP

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def _authorised(self) -> bool:
        bearer = (self.headers.get("authorization") or "").strip()
        offered = [
            bearer[7:].strip() if bearer.lower().startswith("bearer ") else bearer,
            (self.headers.get("x-api-key") or "").strip(),
            (self.headers.get("api-key") or "").strip(),
        ]
        return any(o and hmac.compare_digest(o.encode(), self.server.token.encode()) for o in offered)

    def _refuse(self, codec: Codec) -> None:
        self.server.on_reject()
        self.close_connection = True
        message = "benchtui gateway: this run's token is required (Authorization: Bearer or x-api-key)"
        self.send_json(401, codec.error_body(401, "auth", message))

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if self._path() not in ("/v1/models", "/models"):
            self.send_json(404, CHAT.error_body(404, "not_found", f"no route GET {self._path()}"))
        elif not self._authorised():
            self._refuse(CHAT)
        else:
            self.send_json(200, self.server.models())

    def do_POST(self) -> None:
        codec = ROUTES.get(self._path())
        body = self._read_body()
        if body is None:
            return
        if codec is None:
            self.send_json(404, CHAT.error_body(404, "not_found", f"no route POST {self._path()}"))
            return
        if not self._authorised():
            self._refuse(codec)
            return
        try:
            value = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            value = None
        if not isinstance(value, dict):
            self.send_json(400, codec.error_body(400, "bad_request", "the body is not a JSON object"))
            return
        try:
            self.server.serve(codec, value, self)
        except ClientGone:
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        """The request body (chunked or sized, gzip or deflate), or None when answered already."""
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            parts: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(64)
                length = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    self.rfile.readline(64)
                    break
                size += length
                if size > MAX_BODY_BYTES:
                    self.close_connection = True
                    self.send_json(413, CHAT.error_body(413, "bad_request", "request body too large"))
                    return None
                parts.append(self.rfile.read(length))
                self.rfile.readline(64)
            raw = b"".join(parts)
        else:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                self.send_json(413, CHAT.error_body(413, "bad_request", "request body too large"))
                return None
            raw = self.rfile.read(length)
            if len(raw) < length:
                self.close_connection = True  # the client died mid-request: nothing was asked
                return None
        encoding = (self.headers.get("content-encoding") or "identity").lower()
        if encoding == "gzip":
            return gzip.decompress(raw)
        if encoding == "deflate":
            return zlib.decompress(raw)
        if encoding != "identity":
            self.send_json(415, CHAT.error_body(415, "bad_request", f"content-encoding {encoding} is not supported"))
            return None
        return raw


def make_server(*, token: str, serve: Serve, models: Models, on_reject: Callable[[], None]) -> _Server:
    server = _Server(("127.0.0.1", 0), Handler)
    server.token = token
    server.serve = serve
    server.models = models
    server.on_reject = on_reject
    return server


def make_unix_server(path: str, like: _Server) -> _UnixServer:
    """A server on a new unix socket at ``path`` answering exactly as ``like`` does (same token)."""
    server = _UnixServer(path, Handler)
    server.token = like.token
    server.serve = like.serve
    server.models = like.models
    server.on_reject = like.on_reject
    return server
