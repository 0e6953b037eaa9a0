"""Application metrics: counters, gauges, histograms, a registry and exporters.

Everything lives in this one module and it has become hard to maintain.
"""
import json
import math
import threading
import time
from contextlib import contextmanager

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class MetricError(Exception):
    """Invalid metric name, value or registration."""


def _check_name(name):
    ok = (
        isinstance(name, str)
        and name
        and (name[0].isalpha() or name[0] == "_")
        and all(c.isalnum() or c == "_" for c in name)
    )
    if not ok:
        raise MetricError(f"invalid metric name: {name!r}")
    return name


def _format_value(value):
    if value == math.inf:
        return "+Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class Metric:
    """Base class. registry=None registers in default_registry, False in none."""

    kind = "untyped"

    def __init__(self, name, help="", registry=None):
        self.name = _check_name(name)
        self.help = help
        self._lock = threading.Lock()
        if registry is None:
            registry = default_registry
        if registry is not False:
            registry.register(self)

    def samples(self):
        """List of (sample name, labels dict, value)."""
        raise NotImplementedError


class Counter(Metric):
    kind = "counter"

    def __init__(self, name, help="", registry=None):
        self._value = 0.0
        super().__init__(name, help, registry)

    def inc(self, amount=1):
        if amount < 0:
            raise MetricError("counters can only go up")
        with self._lock:
            self._value += amount

    @property
    def value(self):
        return self._value

    def samples(self):
        return [(self.name, {}, self._value)]


class Gauge(Metric):
    kind = "gauge"

    def __init__(self, name, help="", registry=None):
        self._value = 0.0
        super().__init__(name, help, registry)

    def set(self, value):
        with self._lock:
            self._value = float(value)

    def inc(self, amount=1):
        with self._lock:
            self._value += amount

    def dec(self, amount=1):
        with self._lock:
            self._value -= amount

    @property
    def value(self):
        return self._value

    def samples(self):
        return [(self.name, {}, self._value)]


class Histogram(Metric):
    kind = "histogram"

    def __init__(self, name, help="", registry=None, buckets=DEFAULT_BUCKETS):
        bounds = [float(b) for b in buckets]
        if not bounds or any(a >= b for a, b in zip(bounds, bounds[1:])):
            raise MetricError("buckets must be non-empty and strictly increasing")
        if bounds[-1] != math.inf:
            bounds.append(math.inf)
        self.buckets = tuple(bounds)
        self._counts = [0] * len(bounds)
        self._sum = 0.0
        super().__init__(name, help, registry)

    def observe(self, value):
        with self._lock:
            self._sum += value
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[i] += 1
                    break

    @contextmanager
    def time(self):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - start)

    @property
    def count(self):
        return sum(self._counts)

    @property
    def sum(self):
        return self._sum

    def cumulative_counts(self):
        """List of (upper bound, number of observations <= bound)."""
        result, running = [], 0
        for bound, n in zip(self.buckets, self._counts):
            running += n
            result.append((bound, running))
        return result

    def samples(self):
        out = [
            (self.name + "_bucket", {"le": _format_value(bound)}, n)
            for bound, n in self.cumulative_counts()
        ]
        out.append((self.name + "_sum", {}, self._sum))
        out.append((self.name + "_count", {}, self.count))
        return out


class Registry:
    """A named collection of metrics."""

    def __init__(self):
        self._metrics = {}
        self._lock = threading.Lock()

    def register(self, metric):
        with self._lock:
            if metric.name in self._metrics:
                raise MetricError(f"duplicate metric name: {metric.name}")
            self._metrics[metric.name] = metric

    def unregister(self, name):
        with self._lock:
            del self._metrics[name]

    def get(self, name):
        return self._metrics.get(name)

    def __iter__(self):
        return iter([self._metrics[name] for name in sorted(self._metrics)])

    def __len__(self):
        return len(self._metrics)

    def counter(self, name, help=""):
        return Counter(name, help, registry=self)

    def gauge(self, name, help=""):
        return Gauge(name, help, registry=self)

    def histogram(self, name, help="", buckets=DEFAULT_BUCKETS):
        return Histogram(name, help, registry=self, buckets=buckets)


default_registry = Registry()


def to_prometheus(registry=None):
    """Render the registry in the Prometheus text exposition format."""
    registry = default_registry if registry is None else registry
    lines = []
    for metric in registry:
        if metric.help:
            lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for sample, labels, value in metric.samples():
            label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            if label_text:
                sample = f"{sample}{{{label_text}}}"
            lines.append(f"{sample} {_format_value(value)}")
    return "\n".join(lines) + "\n" if lines else ""


def to_json(registry=None):
    """Render the registry as a JSON object keyed by metric name."""
    registry = default_registry if registry is None else registry
    data = {}
    for metric in registry:
        entry = {"type": metric.kind, "help": metric.help}
        if isinstance(metric, Histogram):
            entry["buckets"] = {_format_value(b): n for b, n in metric.cumulative_counts()}
            entry["sum"] = metric.sum
            entry["count"] = metric.count
        else:
            entry["value"] = metric.value
        data[metric.name] = entry
    return json.dumps(data, sort_keys=True)
