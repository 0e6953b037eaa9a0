"""The Gateway: one per run, serving the model APIs on loopback and forwarding to the run's model.

It is where an assistant's model use is measured (``usage()``) and bounded: the run's deadline (a request
after it is refused at once, one in flight is cut at it), the output cap (every upstream body carries a
limit no higher), cancel, and the endpoint's request slots. And it is why no real key reaches an
assistant: the assistant is given ``token``, a per-run secret only this gateway accepts; the model's key
stays in the provider's headers, and every error message the client is sent has it scrubbed.

Failures reach the client typed, once the gateway's own retries (the provider's policy) are spent, with
``x-should-retry: false``: the SDKs most assistants use (OpenAI's and Anthropic's) honour it, so they do
not multiply the attempts benchtui already made. A model whose server proved unreachable, refused
benchtui's key or does not know the model stays failed for the rest of the run: later requests are
answered at once with the same error (as 424 Failed Dependency, a status no client retries for long)
instead of each waiting out the retries again. That is what makes an assistant pointed at a dead
upstream fail in seconds, including Codex, which never gives up on a server it cannot connect to.
"""

from __future__ import annotations

import os
import re
import secrets as random_ids
import shutil
import tempfile
import threading
import time
from typing import Any, Self

from benchtui.engine import secrets
from benchtui.engine.gateway import translate
from benchtui.engine.gateway.canonical import BadRequest
from benchtui.engine.gateway.exchange import STATUS, ClientGone, ClientStream, Codec, Collector
from benchtui.engine.gateway.meter import CallRecord, GatewayUsage, Meter
from benchtui.engine.gateway.server import Handler, _Server, _UnixServer, make_server, make_unix_server
from benchtui.engine.gateway.upstream import ANTHROPIC, READERS, UpstreamFailure, forward, request_cancel, route
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import Provider, ProviderError

# Failures that will not heal within a run: later requests get the same answer without a new attempt.
STICKY_KINDS = frozenset({"unreachable", "auth", "model_not_found"})
NO_RETRY = {"x-should-retry": "false"}
FAILED_BEFORE = 424


def client_model_name(spec: ModelSpec) -> str:
    """The model name clients are told to send: the model's, in characters every client accepts."""
    return re.sub(r"[^A-Za-z0-9._:-]+", "-", spec.name).strip("-") or "model"


class Gateway:
    """A metering model gateway for one run (a context manager: started on enter, stopped on exit)."""

    def __init__(
        self,
        spec: ModelSpec,
        provider: Provider,
        *,
        deadline: float | None,
        output_cap: int,
        repair_tool_calls: bool = False,
        cancel: threading.Event | None = None,
        request_slots: threading.Semaphore | None = None,
    ) -> None:
        if output_cap <= 0:
            raise ValueError("output_cap must be a positive number of tokens")
        self.spec = spec
        self.provider = provider
        self.deadline = deadline
        self.output_cap = output_cap
        self.repair_tool_calls = repair_tool_calls
        # Set by the run's cancel or by stop(): in-flight requests end at once either way.
        self._cancel = request_cancel(cancel or threading.Event())
        self.request_slots = request_slots
        self.token = f"benchtui-run-{random_ids.token_urlsafe(24)}"
        self.model_name = client_model_name(spec)
        self._meter = Meter(spec)
        self._sticky: ProviderError | None = None
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._unix: _UnixServer | None = None
        self._unix_path: str | None = None

    # Lifecycle

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = make_server(
            token=self.token, serve=self._serve, models=self._models, on_reject=self._meter.reject
        )
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="benchtui-gateway", daemon=True
        )
        self._thread.start()
        return self

    def unix_socket(self) -> str:
        """The path of a unix socket serving what the loopback port serves (made on the first call):
        how an assistant confined to a network namespace of its own reaches the gateway
        (engine/assistants/bridge.py). OSError when none can be made here (e.g. a path too long)."""
        with self._lock:
            if self._server is None:
                raise RuntimeError("the gateway is not started")
            if self._unix_path is None:
                folder = tempfile.mkdtemp(prefix="benchtui-gw-")  # 0700: this user's only
                path = os.path.join(folder, "gateway.sock")
                try:
                    self._unix = make_unix_server(path, self._server)
                except OSError:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
                threading.Thread(
                    target=self._unix.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name="benchtui-gateway-unix",
                    daemon=True,
                ).start()
                self._unix_path = path
            return self._unix_path

    def stop(self) -> None:
        self._cancel.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._unix is not None and self._unix_path is not None:
            self._unix.shutdown()
            self._unix.server_close()
            shutil.rmtree(os.path.dirname(self._unix_path), ignore_errors=True)
            self._unix = self._unix_path = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the gateway is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.root_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.root_url

    def usage(self) -> GatewayUsage:
        return self._meter.usage()

    # Serving

    def _models(self) -> dict[str, Any]:
        # One list both vendors' clients read: OpenAI's fields and Anthropic's side by side.
        model = {
            "id": self.model_name,
            "object": "model",
            "type": "model",
            "display_name": self.spec.display_name,
            "owned_by": "benchtui",
            "created": 0,
            "created_at": "1970-01-01T00:00:00Z",
        }
        return {
            "object": "list",
            "data": [model],
            "has_more": False,
            "first_id": self.model_name,
            "last_id": self.model_name,
        }

    def _scrub(self, message: str) -> str:
        """A message safe for the client: the model's key removed even if it was never registered."""
        if self.spec.api_key:
            message = message.replace(self.spec.api_key, secrets.REDACTED)
        return secrets.redact(message)

    def _refusal(self) -> tuple[ProviderError, int] | None:
        """Why a new request is answered without being forwarded, if it is, and with which status."""
        if self._cancel.is_set():
            return ProviderError("cancelled", "the run was cancelled"), STATUS["cancelled"]
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return ProviderError("timeout", "the run's deadline has passed"), STATUS["timeout"]
        with self._lock:
            sticky = self._sticky
        if sticky is not None:
            # 424 Failed Dependency, not the first answer's 5xx: the OpenAI and Anthropic SDKs and the AI
            # SDK retry no 4xx but 408/409/429, and Codex, which ignores x-should-retry, gives up after 6
            # answers instead of 30 (measured with Codex 0.171 against a dead upstream: 15 s, not 33 s).
            return sticky.with_note("an earlier request failed so; not sent again"), FAILED_BEFORE
        return None

    def _serve(self, codec: Codec, body: dict[str, Any], responder: Handler) -> None:
        started = time.monotonic()
        try:
            request = codec.parse(body)
        except BadRequest as exc:
            self._meter.record(
                CallRecord(
                    codec.name,
                    False,
                    400,
                    0,
                    0.0,
                    attempt_errors=("bad_request",),
                    error_kind="bad_request",
                    error=str(exc),
                )
            )
            responder.send_json(400, codec.error_body(400, "bad_request", f"benchtui gateway: {exc}"), NO_RETRY)
            return
        refused = self._refusal()
        if refused is not None:
            refusal, status = refused
            self._meter.record(
                CallRecord(
                    codec.name,
                    request.stream,
                    status,
                    0,
                    0.0,
                    attempt_errors=(refusal.kind,),
                    error_kind=refusal.kind,
                    error=self._scrub(refusal.message),
                )
            )
            self._answer_error(codec, responder, refusal, None, status)
            return
        path, dialect = route(self.provider)
        build = translate.anthropic_body if dialect == ANTHROPIC else translate.chat_body
        upstream_body = build(request, model=self.spec.name, cap=self.output_cap, settings=self.spec.settings)
        stream = ClientStream(responder, codec.encoder(self.model_name, request)) if request.stream else None
        collector = Collector(stream, request.tools, self.repair_tool_calls)
        cancel = request_cancel(self._cancel)
        try:
            forwarded = forward(
                self.provider,
                path,
                upstream_body,
                READERS[dialect],
                emit=collector.emit,
                restart=collector.restart,
                committed=lambda: collector.committed,
                cancel=cancel,
                deadline=self.deadline,
                slots=self.request_slots,
            )
            outcome = collector.finish(forwarded)
        except UpstreamFailure as failure:
            error = failure.error
            if error.kind in STICKY_KINDS:
                with self._lock:
                    self._sticky = self._sticky or error
            self._meter.record(
                CallRecord(
                    codec.name,
                    request.stream,
                    200 if stream is not None and stream.started else STATUS.get(error.kind, 502),
                    error.attempts,
                    time.monotonic() - started - failure.queue_s,
                    queue_s=failure.queue_s,
                    attempt_errors=tuple(failure.attempt_errors),
                    error_kind=error.kind,
                    error=self._scrub(error.message),
                )
            )
            self._answer_error(codec, responder, error, stream)
            return
        except ClientGone:
            cancel.set()
            self._meter.record(
                CallRecord(
                    codec.name,
                    request.stream,
                    499,  # nginx's "client closed request": no status reached the client
                    1,
                    time.monotonic() - started,
                    attempt_errors=("cancelled",),
                    error_kind="cancelled",
                    error="the client closed the connection mid-reply",
                )
            )
            raise
        reply = forwarded.reply
        # Recorded before the reply's last byte leaves: a client that reads usage() once it has its answer
        # (a test, the contestant after the assistant exits) finds this request counted.
        self._meter.record(
            CallRecord(
                codec.name,
                request.stream,
                200,
                forwarded.attempts,
                time.monotonic() - started - forwarded.queue_s,
                queue_s=forwarded.queue_s,
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                cached_tokens=reply.cached_prompt_tokens,
                cache_write_tokens=reply.cache_write_tokens,
                prompt_eval_s=reply.prompt_eval_s,
                ttft_s=reply.ttft_s,
                tokens_per_s=reply.tokens_per_s,
                tokens_per_s_source=reply.tokens_per_s_source,
                finish_reason=outcome.finish_reason,
                tool_calls=len(outcome.tool_calls),
                repaired_tool_calls=outcome.repaired,
                attempt_errors=tuple(forwarded.attempt_errors),
            )
        )
        if stream is None:
            responder.send_json(200, codec.render(outcome, self.model_name))
        else:
            responder.end_stream()

    def _answer_error(
        self,
        codec: Codec,
        responder: Handler,
        error: ProviderError,
        stream: ClientStream | None,
        status: int | None = None,
    ) -> None:
        status = status or STATUS.get(error.kind, 502)
        message = self._scrub(f"benchtui gateway: the model request failed ({error.kind}): {error.message}")
        if stream is not None and stream.started:
            stream.fail(status, error.kind, message)
            responder.end_stream()
        else:
            responder.send_json(status, codec.error_body(status, error.kind, message), NO_RETRY)
