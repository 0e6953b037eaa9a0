"""The provider contract, the typed errors and the one retry layer every provider goes through.

A provider implements one streaming attempt (``_attempt``); ``Provider.chat`` wraps it with the only
retry loop in benchtui (no SDK retries underneath, so attempts never multiply), a wall-clock deadline
per request and prompt cancellation. Each request opens its own connection so a watchdog thread can
shut the socket down: that is what makes a dripping stream hit its deadline and Ctrl-C stop a request
within a fraction of a second, which httpx's per-read timeouts alone cannot do.

``StreamMeter`` is the one bookkeeping of a streamed reply's figures (first-token time, duration, tokens/s
and the rules that decide whether a client-clock rate means anything): the dialects feed it their text
pieces and the server's counts, and keep only their wire format. Over ~400 lines because these are the
four things every dialect shares (the contract, the retry loop, the request watchdog, the meter), each
small; the watchdog is the part to split out if another job arrives.
"""

from __future__ import annotations

import email.utils
import functools
import json
import random
import socket
import ssl
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx

from benchtui.engine import secrets
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.runaway import RepetitionGuard, Runaway

ERROR_KINDS = (
    "rate_limited",
    "auth",
    "model_not_found",
    "server_error",
    "timeout",
    "bad_response",
    "context_truncated",
    "unreachable",
    "bad_request",
    "cancelled",
)
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class ChatMessage(TypedDict):
    role: str
    content: str


TokenCallback = Callable[[str], None]

# What a "length" finish is called in every dialect once mapped (Ollama's done_reason and OpenAI's
# finish_reason already say it; Anthropic's max_tokens stop_reason is mapped to it).
LENGTH_FINISH = "length"
# The finish of a reply benchtui stopped itself because it kept repeating (runaway.py).
RUNAWAY_FINISH = "runaway"
# The output cap of a request whose settings set none: every request benchtui sends carries one, so no
# reply can run on until the server's own limit (or forever). Anthropic's API requires one anyway.
DEFAULT_MAX_TOKENS = 1024

# A client-measured rate is completion tokens over the client's first-to-last streamed token time. The
# client clock times network reads, not tokens: a proxy, a TLS record, the socket buffer or a server
# that buffers its answer can hand over hundreds of tokens in one read (one burst gave 9 million
# tokens/s). So a client rate is only kept when it has something to mean:
# - at least MIN_CLIENT_RATE_TOKENS tokens: the first one opens the window, so n tokens over-count the
#   intervals timed by one; at 16 that bias is at most 1/16 (6 %);
# - over at least MIN_CLIENT_RATE_WINDOW_S of streaming: a thread's wake-up on a loaded machine is late
#   by up to ~10 ms at each end, at most 8 % of 250 ms, and a burst delivered in one read spans well under
#   a millisecond, so it can never pass;
# - at most MAX_PLAUSIBLE_TOKENS_PER_S: about four times the fastest single-stream decode published
#   (~2,500 tokens/s, Cerebras on 8B models, 2025); above it the stream was buffered, not timed.
# Server-reported rates (Ollama eval_count/eval_duration, llama.cpp timings) are the server's own
# timing of its decode loop and are kept as reported.
MIN_CLIENT_RATE_TOKENS = 16
MIN_CLIENT_RATE_WINDOW_S = 0.25
MAX_PLAUSIBLE_TOKENS_PER_S = 10_000.0
RATE_SOURCES = ("server", "client")


class ProviderError(Exception):
    """A model call that failed, classified into one of ERROR_KINDS."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        self.kind = kind
        self.message = secrets.redact(message)
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.attempts = 1
        super().__init__(f"{kind}: {self.message}")

    def with_note(self, note: str) -> ProviderError:
        """The same error with ``note`` appended to its message."""
        error = ProviderError(
            self.kind,
            f"{self.message} ({note})",
            status=self.status,
            retryable=self.retryable,
            retry_after_s=self.retry_after_s,
        )
        error.attempts = self.attempts
        return error


@dataclass
class ChatReply:
    """One model answer with what the server (or, failing that, the client clock) measured."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_s: float | None = None
    duration_s: float = 0.0
    load_time_s: float | None = None
    generation_s: float | None = None
    tokens_per_s: float | None = None
    tokens_per_s_source: str | None = None
    finish_reason: str | None = None
    attempts: int = 1
    raw_usage: dict[str, Any] = field(default_factory=dict)
    cached_prompt_tokens: int | None = None
    """Prompt tokens the server read from its cache instead of processing them (llama.cpp ``cache_n``,
    OpenAI ``cached_tokens``, Anthropic ``cache_read_input_tokens``); None when it does not say."""
    cache_write_tokens: int | None = None
    """Prompt tokens written to the server's cache for later requests (Anthropic's
    ``cache_creation_input_tokens``); None when it does not say."""
    prompt_eval_s: float | None = None
    """The server's own time processing the (uncached part of the) prompt (llama.cpp ``prompt_ms``, Ollama
    ``prompt_eval_duration``); None when it does not say."""
    runaway: Runaway | None = None
    """Set when benchtui stopped the reply because it kept repeating; ``text`` then ends after the first copy."""

    @property
    def truncated(self) -> bool:
        """The server stopped the reply at the token limit (max_tokens, num_predict), not the model."""
        return self.finish_reason == LENGTH_FINISH


class StreamMeter:
    """The one bookkeeping of a streamed reply's figures, fed by every dialect: its text, first-token time
    (``ttft_s``), duration and tokens per second. A dialect only reads its wire format and says what the
    server reported; the rate rules are ``decode_rate``'s.

    Made just before the request is sent: its clock starts then, so ``ttft_s`` includes connecting.

    With a ``guard``, every piece is watched for a runaway: once ``runaway`` is set, the dialect stops
    reading and leaves the stream, which closes the connection (and so stops the server's generation)."""

    def __init__(self, on_token: TokenCallback | None, guard: RepetitionGuard | None = None) -> None:
        self.started = time.monotonic()
        self.first_token: float | None = None
        self.last_token: float | None = None
        self.runaway: Runaway | None = None
        self._parts: list[str] = []
        self._on_token = on_token
        self._guard = guard

    def piece(self, text: str) -> None:
        """One streamed piece of the answer's text (empty pieces are no token and are ignored)."""
        if not text:
            return
        now = time.monotonic()
        self.first_token = self.first_token or now
        self.last_token = now
        self._parts.append(text)
        if self._on_token is not None:
            self._on_token(text)
        if self._guard is not None:
            self.runaway = self._guard.feed(text)

    def reply(
        self,
        *,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        server_tokens: int | None = None,
        server_s: float | None = None,
        load_time_s: float | None = None,
        finish_reason: str | None = None,
        raw_usage: dict[str, Any] | None = None,
        cached_prompt_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        prompt_eval_s: float | None = None,
    ) -> ChatReply:
        """The finished reply. ``server_tokens`` over ``server_s``: the server's own timing of its decode,
        when it reports one (it wins over the client clock); ``completion_tokens`` is the client rate's count.
        A reply stopped as a runaway keeps its text up to the end of the repeated block's first copy."""
        ended = time.monotonic()
        text = "".join(self._parts)
        if self.runaway is not None:
            text = text[: self.runaway.keep]
            finish_reason = RUNAWAY_FINISH
        tokens_per_s, source = decode_rate(
            server_tokens=server_tokens,
            server_s=server_s,
            client_tokens=completion_tokens,
            first_token=self.first_token,
            last_token=self.last_token,
        )
        return ChatReply(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            ttft_s=(self.first_token - self.started) if self.first_token else None,
            duration_s=ended - self.started,
            load_time_s=load_time_s,
            generation_s=server_s,
            tokens_per_s=tokens_per_s,
            tokens_per_s_source=source,
            finish_reason=finish_reason,
            raw_usage=raw_usage or {},
            cached_prompt_tokens=cached_prompt_tokens,
            cache_write_tokens=cache_write_tokens,
            prompt_eval_s=prompt_eval_s,
            runaway=self.runaway,
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; Retry-After honoured up to a cap (then no retry)."""

    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 60.0
    connect_timeout_s: float = 5.0
    first_byte_timeout_s: float = 300.0
    request_deadline_s: float = 600.0

    def backoff(self, attempt: int) -> float:
        delay: float = min(self.base_delay_s * (2 ** (attempt - 1)), self.max_delay_s)
        return delay * (1 - 0.25 * random.random())


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client: building one costs ~20 ms of CPU (loading the CA bundle), and a
    batch makes a client per model, so 25 models once cost a second of start-up and stalled workers."""
    return httpx.create_ssl_context()


@functools.cache
def _no_trust_context() -> ssl.SSLContext:
    # Verifying, with no CA loaded: a TLS handshake through it fails, it never passes unverified.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def ssl_context_for(url: str) -> ssl.SSLContext:
    """The TLS context for a client of ``url``: the shared one for https (and anything not plainly http).

    A plain-http client (a local Ollama, a loopback server) never does TLS: it gets a context with no CA
    bundle, so a local batch and ``benchtui --no-ui``'s discovery skip loading it (~20 ms of CPU); should
    such a client ever meet TLS, the handshake fails for want of a trusted CA rather than going unverified.
    The clients follow no redirects (httpx's default), so a plain-http client stays on plain http."""
    if url.lower().startswith("http://"):
        return _no_trust_context()
    return shared_ssl_context()


class Provider(ABC):
    """Base class: one model, one shared httpx.Client, ``chat`` with retries, hooks per dialect."""

    dialect = "base"
    # Stop a streamed reply that keeps repeating itself (runaway.py); a caller may turn it off per provider.
    stop_runaways = True
    # Set by the runner for an endpoint of a pool (engine/pools.py): True once retrying is pointless (the
    # endpoint is out of the pool, another one runs the request's run again), so the retry loop stops.
    give_up: Callable[[ProviderError], bool] | None = None

    def __init__(self, spec: ModelSpec, *, base_url: str, policy: RetryPolicy | None = None) -> None:
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.client = httpx.Client(
            timeout=httpx.Timeout(
                connect=self.policy.connect_timeout_s,
                read=self.policy.first_byte_timeout_s,
                write=30.0,
                pool=self.policy.first_byte_timeout_s,
            ),
            # A fresh connection per request: the watchdog needs the socket of *this* request.
            limits=httpx.Limits(max_keepalive_connections=0),
            trust_env=False,
            verify=ssl_context_for(self.base_url),
        )

    def close(self) -> None:
        self.client.close()

    def headers(self) -> dict[str, str]:
        """Request headers; dialects add their auth header here."""
        return {"content-type": "application/json"}

    def meter(self, on_token: TokenCallback | None) -> StreamMeter:
        """The meter of one streamed reply, watching it for a runaway unless ``stop_runaways`` is off."""
        return StreamMeter(on_token, RepetitionGuard() if self.stop_runaways else None)

    def output_cap(self) -> int:
        """The reply's token limit: the settings' ``max_tokens``, else DEFAULT_MAX_TOKENS (never none)."""
        value = self.spec.settings.get("max_tokens")
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_MAX_TOKENS

    @abstractmethod
    def _attempt(
        self, messages: list[ChatMessage], on_token: TokenCallback | None, guard: RequestGuard, seed: int | None
    ) -> ChatReply:
        """One streaming request; raise ProviderError on any failure. ``seed``: the run's sampling seed
        (engine/seeds.py), sent by the dialects whose API takes one, in place of ``settings.seed``."""

    def should_retry(self, error: ProviderError) -> bool:
        return error.retryable

    def chat(
        self,
        messages: list[ChatMessage],
        *,
        cancel: threading.Event | None = None,
        on_token: TokenCallback | None = None,
        deadline: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Send the conversation and return the answer, retrying transient failures.

        Args:
            messages: the conversation so far.
            cancel: set it to stop at once (between attempts or mid-stream).
            on_token: called with each streamed text piece.
            deadline: a ``time.monotonic()`` instant the whole call (retries included) must end by.
            seed: the run's sampling seed (engine/seeds.py), where the dialect takes one.
        """
        cancel = cancel or threading.Event()
        attempt = 0
        while True:
            attempt += 1
            if cancel.is_set():
                raise _counted(ProviderError("cancelled", "cancelled before the request"), attempt - 1)
            request_deadline = time.monotonic() + self.policy.request_deadline_s
            if deadline is not None:
                request_deadline = min(request_deadline, deadline)
            if request_deadline <= time.monotonic():
                raise _counted(ProviderError("timeout", "no time left for another request"), attempt - 1)
            try:
                with RequestGuard(cancel, request_deadline) as guard:
                    reply = self._attempt(messages, on_token, guard, seed)
                reply.attempts = attempt
                return reply
            except ProviderError as error:
                if error.kind in ("cancelled", "timeout") and not error.retryable:
                    raise _counted(error, attempt) from None
                if attempt > self.policy.max_retries or not self.should_retry(error):
                    raise _counted(error, attempt) from None
                if self.give_up is not None and self.give_up(error):
                    raise _counted(error, attempt) from None
                delay = self.policy.backoff(attempt)
                if error.retry_after_s is not None:
                    if error.retry_after_s > self.policy.max_retry_after_s:
                        # A server that asks for a long pause means it: waiting it out would stall the
                        # batch, retrying sooner would be rude. The run records the error instead.
                        raise _counted(
                            error.with_note(
                                f"the server asked to retry after {error.retry_after_s:g} s, "
                                f"above the {self.policy.max_retry_after_s:g} s cap"
                            ),
                            attempt,
                        ) from None
                    delay = max(delay, error.retry_after_s)
                if deadline is not None and time.monotonic() + delay >= deadline:
                    raise _counted(error, attempt) from None
                if cancel.wait(delay):
                    raise _counted(ProviderError("cancelled", "cancelled during a retry wait"), attempt) from None

    # Helpers shared by the dialects.

    @contextmanager
    def stream(self, path: str, body: dict[str, Any], guard: RequestGuard) -> Iterator[httpx.Response]:
        """POST ``body`` to ``path`` and yield the streaming response, with httpx failures typed."""
        url = f"{self.base_url}{path}"
        try:
            with self.client.stream(
                "POST", url, json=body, headers=self.headers(), extensions={"trace": guard.trace}
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self.http_error(response)
                yield response
        except ProviderError:
            raise
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if guard.fired:
                raise guard.error() from None
            reason = str(exc) or type(exc).__name__
            raise ProviderError("unreachable", f"cannot connect to {self.base_url}: {reason}", retryable=True) from None
        except httpx.TimeoutException as exc:
            if guard.fired:
                raise guard.error() from None
            raise ProviderError("timeout", f"{type(exc).__name__} from {self.base_url}", retryable=True) from None
        except (httpx.TransportError, httpx.StreamError, OSError) as exc:
            if guard.fired:
                raise guard.error() from None
            raise ProviderError(
                "server_error", f"connection to {self.base_url} broke: {type(exc).__name__}: {exc}", retryable=True
            ) from None

    def http_error(self, response: httpx.Response) -> ProviderError:
        """Map an HTTP error response to a typed error; dialects refine ``_classify_status``."""
        error = self._classify_status(response)
        # OpenAI's and Anthropic's servers may say outright that a retry is pointless.
        if error.retryable and response.headers.get("x-should-retry", "").lower() == "false":
            error.retryable = False
        return error

    def _classify_status(self, response: httpx.Response) -> ProviderError:
        """The status table: 401/403 auth, 404 model, 429 rate limit, 408/409/5xx/529 transient, rest final."""
        status = response.status_code
        message = error_message(response)
        retry_after = parse_retry_after(response.headers)
        if status in (401, 403):
            return ProviderError("auth", f"HTTP {status}: {message}", status=status)
        if status == 404:
            return ProviderError("model_not_found", f"HTTP 404: {message}", status=status)
        if status == 429:
            return ProviderError(
                "rate_limited", f"HTTP 429: {message}", status=status, retryable=True, retry_after_s=retry_after
            )
        if status == 408:
            return ProviderError(
                "timeout", f"HTTP 408: {message}", status=status, retryable=True, retry_after_s=retry_after
            )
        if status in RETRYABLE_STATUS or (status >= 500 and status != 501):
            return ProviderError(
                "server_error", f"HTTP {status}: {message}", status=status, retryable=True, retry_after_s=retry_after
            )
        return ProviderError("bad_request", f"HTTP {status}: {message}", status=status)


class _Watchdog:
    """One thread that polls every open request's guard 20 times a second.

    A thread per request cost a start and a join on every call (measurable at 8 parallel requests on 2
    cores); one shared poller costs nothing per request and is idle-cheap."""

    interval_s = 0.05

    def __init__(self) -> None:
        self._guards: set[RequestGuard] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, guard: RequestGuard) -> None:
        with self._lock:
            self._guards.add(guard)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="benchtui-request-watchdog", daemon=True)
                self._thread.start()

    def remove(self, guard: RequestGuard) -> None:
        with self._lock:
            self._guards.discard(guard)

    def _run(self) -> None:
        while True:
            time.sleep(self.interval_s)
            with self._lock:
                guards = list(self._guards)
            for guard in guards:
                if guard.poll():
                    self.remove(guard)


_WATCHDOG = _Watchdog()


class RequestGuard:
    """Watches one request: on cancel or deadline it shuts the socket down to unblock the reader."""

    def __init__(self, cancel: threading.Event, deadline: float) -> None:
        self.cancel = cancel
        self.deadline = deadline
        self.fired: str | None = None
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> RequestGuard:
        _WATCHDOG.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _WATCHDOG.remove(self)

    def trace(self, event_name: str, info: dict[str, Any]) -> None:
        """httpx trace hook: remember the socket of the new connection."""
        if event_name == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            with self._lock:
                self._socket = sock
                if self.fired:
                    self._shutdown()

    def check(self) -> None:
        """Raise at once if the request was cancelled or ran out of time (call between chunks)."""
        if self.fired:
            raise self.error()
        if self.cancel.is_set():
            self.fired = "cancelled"
            raise self.error()
        if time.monotonic() >= self.deadline:
            self.fired = "deadline"
            raise self.error()

    def error(self) -> ProviderError:
        if self.fired == "cancelled":
            return ProviderError("cancelled", "cancelled during the request")
        return ProviderError("timeout", "the request passed its wall-clock deadline")

    def poll(self) -> bool:
        """Called by the watchdog: fire (and unblock the reader) on cancel or deadline; True once fired."""
        if self.cancel.is_set() or time.monotonic() >= self.deadline:
            with self._lock:
                self.fired = "cancelled" if self.cancel.is_set() else "deadline"
                self._shutdown()
            return True
        return False

    def _shutdown(self) -> None:
        if self._socket is not None:
            with suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


def iter_lines_guarded(response: httpx.Response, guard: RequestGuard) -> Iterator[str]:
    """Lines of a streaming body, checking the guard between chunks."""
    for line in response.iter_lines():
        guard.check()
        yield line
    guard.check()


def _counted(error: ProviderError, attempts: int) -> ProviderError:
    error.attempts = max(attempts, 1)
    return error


def error_message(response: httpx.Response) -> str:
    """The most useful short message in an error body (JSON ``error`` shapes, else the text)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text.strip().replace("\n", " ")
        return text[:300] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error", body.get("message"))
        if isinstance(error, dict):
            error = error.get("message") or error.get("type") or json.dumps(error)
        if error:
            return str(error)[:300]
    return json.dumps(body)[:300]


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(parsed.timestamp() - time.time(), 0.0)


def decode_json_line(line: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        raise ProviderError("bad_response", f"{source} sent invalid JSON: {line[:120]!r}", retryable=True) from None
    if not isinstance(value, dict):
        raise ProviderError("bad_response", f"{source} sent {type(value).__name__}, expected an object", retryable=True)
    return value


def client_rate(tokens: int | None, first_token: float | None, last_token: float | None) -> float | None:
    """Tokens per second on the client clock, or None when the stream cannot say (see the thresholds)."""
    if not tokens or first_token is None or last_token is None:
        return None
    window = last_token - first_token
    if tokens < MIN_CLIENT_RATE_TOKENS or window < MIN_CLIENT_RATE_WINDOW_S:
        return None
    rate = tokens / window
    return rate if rate <= MAX_PLAUSIBLE_TOKENS_PER_S else None


def decode_rate(
    *,
    server_tokens: int | None,
    server_s: float | None,
    client_tokens: int | None,
    first_token: float | None,
    last_token: float | None,
) -> tuple[float | None, str | None]:
    """(tokens per second, its source): the server's own figure when it gave one, else the client's."""
    if server_tokens and server_s and server_s > 0:
        return server_tokens / server_s, "server"
    rate = client_rate(client_tokens, first_token, last_token)
    return (rate, "client") if rate is not None else (None, None)


def as_int(value: Any) -> int | None:
    """A number from a server's JSON as int; None for anything else (bools, strings, nulls)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
