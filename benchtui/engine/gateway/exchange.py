"""One reply on its way to the client: the dialect's codec, the moment a stream commits, the repair.

A streamed reply commits when its first byte reaches the client: until then a failed upstream attempt is
retried out of sight, after it the client is sent the dialect's mid-stream error. With the repair on and
tools offered, text that could still turn out to be a written tool call is held back until the reply
says what it is; any other text streams as it comes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from benchtui.engine.gateway import dialect_anthropic, dialect_chat, dialect_responses
from benchtui.engine.gateway.canonical import (
    LENGTH,
    STOP,
    TOOL_CALLS,
    ModelRequest,
    Outcome,
    TextPiece,
    Tool,
    ToolCall,
)
from benchtui.engine.gateway.repair import could_be_call, written_call
from benchtui.engine.gateway.upstream import Event, Forwarded


class StreamEncoder(Protocol):
    def start(self) -> bytes: ...
    def text(self, piece: str) -> bytes: ...
    def tool_call(self, call: ToolCall) -> bytes: ...
    def finish(self, outcome: Outcome) -> bytes: ...
    def fail(self, status: int, kind: str, message: str) -> bytes: ...


@dataclass(frozen=True)
class Codec:
    """One client dialect: how its requests are read and its replies and errors written."""

    name: str
    parse: Callable[[dict[str, Any]], ModelRequest]
    render: Callable[[Outcome, str], dict[str, Any]]
    error_body: Callable[[int, str, str], dict[str, Any]]
    encoder: Callable[[str, ModelRequest], StreamEncoder]


CHAT = Codec(dialect_chat.NAME, dialect_chat.parse, dialect_chat.render, dialect_chat.error_body, dialect_chat.Encoder)
RESPONSES = Codec(
    dialect_responses.NAME,
    dialect_responses.parse,
    dialect_responses.render,
    dialect_responses.error_body,
    dialect_responses.Encoder,
)
ANTHROPIC = Codec(
    dialect_anthropic.NAME,
    dialect_anthropic.parse,
    dialect_anthropic.render,
    dialect_anthropic.error_body,
    dialect_anthropic.Encoder,
)

# The status the client is answered with for each kind of failure, once the gateway's own retries are
# spent. Upstream auth is 502, not 401: the client's token was fine, benchtui's key for the model was not.
STATUS = {
    "rate_limited": 429,
    "auth": 502,
    "model_not_found": 404,
    "bad_request": 400,
    "context_truncated": 400,
    "timeout": 504,
    "cancelled": 503,
    "unreachable": 502,
    "server_error": 502,
    "bad_response": 502,
}


class ClientGone(Exception):
    """The client closed its connection mid-reply."""


class Responder(Protocol):
    """The HTTP side of one request (server.py's handler)."""

    def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None: ...
    def start_stream(self) -> None: ...
    def send_chunk(self, data: bytes) -> None: ...
    def end_stream(self) -> None: ...


class ClientStream:
    """A streamed reply: the 200 and the dialect's opening event go out with the first real content."""

    def __init__(self, responder: Responder, encoder: StreamEncoder) -> None:
        self.responder = responder
        self.encoder = encoder
        self.started = False

    def _send(self, encode: Callable[[], bytes]) -> None:
        opening = b""
        if not self.started:
            self.started = True
            self.responder.start_stream()
            opening = self.encoder.start()  # before the content: the events are numbered in order
        self.responder.send_chunk(opening + encode())

    def text(self, piece: str) -> None:
        self._send(lambda: self.encoder.text(piece))

    def tool_call(self, call: ToolCall) -> None:
        self._send(lambda: self.encoder.tool_call(call))

    def finish(self, outcome: Outcome) -> None:
        self._send(lambda: self.encoder.finish(outcome))

    def fail(self, status: int, kind: str, message: str) -> None:
        self._send(lambda: self.encoder.fail(status, kind, message))


class Collector:
    """One attempt's reply: passed to the client as it comes (or held back), and kept for the outcome."""

    def __init__(self, stream: ClientStream | None, tools: list[Tool], repair: bool) -> None:
        self.stream = stream
        self.tools = tools
        self.repair = repair and bool(tools)
        self.restart()

    def restart(self) -> None:
        self._text: list[str] = []
        self._calls: list[ToolCall] = []
        self._held: list[str] = []
        self._holding = self.repair

    @property
    def committed(self) -> bool:
        return self.stream is not None and self.stream.started

    def _write_text(self, piece: str) -> None:
        if self.stream is not None and piece:
            self.stream.text(piece)

    def _release(self) -> None:
        held, self._held, self._holding = "".join(self._held), [], False
        self._write_text(held)

    def emit(self, event: Event) -> None:
        if isinstance(event, TextPiece):
            self._text.append(event.text)
            if self._holding:
                self._held.append(event.text)
                if not could_be_call("".join(self._held)):
                    self._release()
                return
            self._write_text(event.text)
        else:
            if self._holding:
                self._release()  # the server made a real call: nothing to repair
            self._calls.append(event)
            if self.stream is not None:
                self.stream.tool_call(event)

    def finish(self, forwarded: Forwarded) -> Outcome:
        reply = forwarded.reply
        outcome = Outcome(
            text="".join(self._text),
            tool_calls=list(self._calls),
            finish_reason=reply.finish_reason,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cached_tokens=reply.cached_prompt_tokens,
        )
        if self._holding:
            call = written_call("".join(self._held), self.tools) if reply.finish_reason != LENGTH else None
            if call is None:
                self._release()
            else:
                self._held, self._holding = [], False
                outcome.text, outcome.tool_calls, outcome.repaired = "", [call], 1
                if self.stream is not None:
                    self.stream.tool_call(call)
        if outcome.tool_calls and outcome.finish_reason in (None, STOP):
            outcome.finish_reason = TOOL_CALLS  # some servers say "stop" after a call; clients act on this
        outcome.finish_reason = outcome.finish_reason or STOP
        if self.stream is not None:
            self.stream.finish(outcome)
        return outcome
