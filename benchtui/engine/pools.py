"""Endpoint pools: which endpoint serves each run of a batch, and which endpoints are out of a pool.

A model may be served by several endpoints (several ``base_url``s, several Ollama hosts: docs/SCALE.md).
Runs wait in one queue per model; the workers of each endpoint (a *lane*: one per endpoint, or one for the
whole batch without ``--parallel``) take the earliest planned run of any model the endpoint serves, so a
model's runs go to whichever of its endpoints has a free worker first, and a fast box takes more of them.
Each endpoint keeps its own concurrency limit: that is its lane's workers and request slots (runner.py).

An endpoint that fails a run the way a sick server does (``ENDPOINT_FAILURES``, after the provider's own
retries) is taken out of that model's pool and the run goes back to the front of its model's queue for
another endpoint: it is not recorded. Only when no endpoint of the pool is left does the run fail, and the
model's later runs fail as they always did (the runner's dead-model memory). A lane waits while runs it
could be handed back are in flight elsewhere, so a run given back never finds every worker gone.

Which endpoint serves a run never enters its fingerprint (``ModelSpec.at``): resume works across endpoints.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from benchtui.engine.models import Endpoint, ModelSpec

# How an endpoint fails rather than a run: nothing listens there, it answered 5xx through every retry,
# it refused this endpoint's key, this host lacks the model, or this key is out of quota (or still rate
# limited after every retry). Another endpoint may well serve the run.
ENDPOINT_FAILURES = ("unreachable", "server_error", "auth", "model_not_found", "rate_limited")
# A server error or a rate limit at the last endpoint left is the run's, as it was before pools: the
# endpoint stays in (a prompt that makes a server fail would otherwise take out the whole pool, one
# endpoint at a time, and a rate limit passes).
_KEPT_WHEN_LAST = ("server_error", "rate_limited")


class PooledRun(Protocol):
    @property
    def run_id(self) -> str: ...

    @property
    def model(self) -> ModelSpec: ...


RunT = TypeVar("RunT", bound=PooledRun)


def endpoint_key(endpoint: Endpoint) -> str:
    """The key lanes, limits and the runner's memory know an endpoint by (``ModelSpec.endpoint``'s form)."""
    return endpoint.base_url.rstrip("/")


@dataclass(frozen=True)
class Lane:
    """The workers of one endpoint (``endpoint`` None: the one lane of a batch run one run at a time, which
    sends each run to the first endpoint left in its model's pool) and the models they serve."""

    key: str
    endpoint: Endpoint | None
    models: tuple[str, ...]


@dataclass(frozen=True)
class Removal:
    """An endpoint taken out of a model's pool, and what is left of the pool."""

    model: str
    endpoint: Endpoint
    reason: str
    left: tuple[Endpoint, ...]


def lanes(runs: Iterable[PooledRun], *, one_at_a_time: bool) -> list[Lane]:
    """The lanes of a batch, in the order their models first appear in the plan."""
    if one_at_a_time:
        models = tuple(dict.fromkeys(run.model.key for run in runs))
        return [Lane("all", None, models)] if models else []
    found: dict[str, tuple[Endpoint, list[str]]] = {}
    for run in runs:
        for endpoint in run.model.endpoints:
            _, served = found.setdefault(endpoint_key(endpoint), (endpoint, []))
            if run.model.key not in served:
                served.append(run.model.key)
    return [Lane(key, endpoint, tuple(models)) for key, (endpoint, models) in found.items()]


class Dispatcher(Generic[RunT]):
    """The batch's queues: a run for a lane (``take``), a run back from a failing endpoint (``give_back``),
    a run done (``done``). Thread-safe; one condition guards everything, held only for bookkeeping."""

    def __init__(self, runs: Sequence[RunT], stop: Callable[[], bool]) -> None:
        self._stop = stop
        self._cond = threading.Condition()
        self._queues: dict[str, deque[tuple[int, RunT]]] = {}
        self._pools: dict[str, tuple[Endpoint, ...]] = {}
        self._in_flight: dict[str, int] = {}
        self._out: dict[str, dict[str, str]] = {}
        self._order = {run.run_id: index for index, run in enumerate(runs)}
        self._planned: dict[str, int] = {}
        for index, run in enumerate(runs):
            key = run.model.key
            self._queues.setdefault(key, deque()).append((index, run))
            self._pools.setdefault(key, run.model.endpoints)
            self._in_flight.setdefault(key, 0)
            self._planned[key] = self._planned.get(key, 0) + 1
            self._out.setdefault(key, {})

    def runs_for(self, lane: Lane) -> int:
        """How many runs the lane may be handed at most (no more workers than that are worth starting)."""
        return sum(self._planned[model] for model in lane.models)

    def take(self, lane: Lane) -> tuple[RunT, Endpoint] | None:
        """The earliest planned run the lane can serve now, and the endpoint it goes to; None when the lane
        has nothing left to do (or the batch stops). Waits while a run it could be given back is in flight."""
        with self._cond:
            while not self._stop():
                best: tuple[int, str, Endpoint] | None = None
                could_return = False
                for model in lane.models:
                    endpoint = self._serves(lane, model)
                    if endpoint is None:
                        continue
                    queue = self._queues[model]
                    if queue and (best is None or queue[0][0] < best[0]):
                        best = (queue[0][0], model, endpoint)
                    could_return = could_return or self._in_flight[model] > 0
                if best is not None:
                    _, model, endpoint = best
                    _, run = self._queues[model].popleft()
                    self._in_flight[model] += 1
                    return run, endpoint
                if not could_return:
                    return None
                # Woken by done()/give_back(); the timeout only bounds how late a stop is noticed.
                self._cond.wait(0.25)
            return None

    def _serves(self, lane: Lane, model: str) -> Endpoint | None:
        """The endpoint the lane sends the model's runs to; None when the lane's endpoint is out of the pool
        and another is left. A pool with none left is drained by any of its lanes (its runs fail as before)."""
        pool = self._pools[model]
        out = self._out[model]
        left = [e for e in pool if endpoint_key(e) not in out]
        if lane.endpoint is None:
            return left[0] if left else pool[0]
        if endpoint_key(lane.endpoint) not in out or not left:
            return next((e for e in pool if endpoint_key(e) == endpoint_key(lane.endpoint)), lane.endpoint)
        return None

    def give_back(self, run: RunT, endpoint: Endpoint, kind: str, message: str) -> tuple[bool, Removal | None]:
        """A run that ``endpoint`` failed with ``kind``. Returns whether the run goes back to its queue for
        another endpoint of the pool (then it must not be recorded), and the removal to tell the batch about
        (None when the endpoint was out already, or stays in)."""
        model = run.model.key
        if kind not in ENDPOINT_FAILURES or len(self._pools.get(model, ())) < 2:
            return False, None
        key = endpoint_key(endpoint)
        with self._cond:
            out = self._out[model]
            others = [e for e in self._pools[model] if endpoint_key(e) not in out and endpoint_key(e) != key]
            removal: Removal | None = None
            if key not in out and (others or kind not in _KEPT_WHEN_LAST):
                out[key] = f"{kind}: {message}"
                removal = Removal(model, endpoint, out[key], tuple(others))
            if not others:
                return False, removal
            # Back at the front with its place in the plan: the earliest-first choice takes it next.
            self._queues[model].appendleft((self._order[run.run_id], run))
            self._cond.notify_all()
            return True, removal

    def done(self, run: RunT) -> None:
        """A run taken from ``take`` is over (recorded, cancelled, or given back)."""
        with self._cond:
            self._in_flight[run.model.key] -= 1
            self._cond.notify_all()

    def is_out(self, model: str, endpoint: Endpoint, error: object = None) -> bool:
        """Whether ``endpoint`` is out of the model's pool (a provider's ``give_up`` hook: ``error`` unused)."""
        with self._cond:
            return endpoint_key(endpoint) in self._out.get(model, {})

    def out_of(self, model: str) -> dict[str, str]:
        """The endpoints out of the model's pool and why (for tests and the batch's end)."""
        with self._cond:
            return dict(self._out.get(model, {}))
