"""The metric types: Counter, Gauge and Histogram."""
import math
import time
from contextlib import contextmanager

from metrics.core import DEFAULT_BUCKETS, Metric, MetricError, format_value


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
            (self.name + "_bucket", {"le": format_value(bound)}, n)
            for bound, n in self.cumulative_counts()
        ]
        out.append((self.name + "_sum", {}, self._sum))
        out.append((self.name + "_count", {}, self.count))
        return out
