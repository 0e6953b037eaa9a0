"""Registry: a named collection of metrics, and the process-wide default one."""
import threading

from metrics.core import DEFAULT_BUCKETS, MetricError
from metrics.types import Counter, Gauge, Histogram


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
