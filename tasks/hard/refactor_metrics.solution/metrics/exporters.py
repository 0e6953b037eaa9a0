"""Render a registry as Prometheus text or JSON."""
import json

from metrics.core import format_value
from metrics.registry import default_registry
from metrics.types import Histogram


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
            lines.append(f"{sample} {format_value(value)}")
    return "\n".join(lines) + "\n" if lines else ""


def to_json(registry=None):
    """Render the registry as a JSON object keyed by metric name."""
    registry = default_registry if registry is None else registry
    data = {}
    for metric in registry:
        entry = {"type": metric.kind, "help": metric.help}
        if isinstance(metric, Histogram):
            entry["buckets"] = {format_value(b): n for b, n in metric.cumulative_counts()}
            entry["sum"] = metric.sum
            entry["count"] = metric.count
        else:
            entry["value"] = metric.value
        data[metric.name] = entry
    return json.dumps(data, sort_keys=True)
