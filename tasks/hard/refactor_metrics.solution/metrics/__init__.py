"""Application metrics: counters, gauges, histograms, a registry and exporters."""
from metrics.core import DEFAULT_BUCKETS, Metric, MetricError
from metrics.exporters import to_json, to_prometheus
from metrics.registry import Registry, default_registry
from metrics.types import Counter, Gauge, Histogram

__all__ = [
    "DEFAULT_BUCKETS",
    "Counter",
    "Gauge",
    "Histogram",
    "Metric",
    "MetricError",
    "Registry",
    "default_registry",
    "to_json",
    "to_prometheus",
]
