"""Shared pieces: the error type, name checks, value formatting, the Metric base."""
import math
import threading

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class MetricError(Exception):
    """Invalid metric name, value or registration."""


def check_name(name):
    ok = (
        isinstance(name, str)
        and name
        and (name[0].isalpha() or name[0] == "_")
        and all(c.isalnum() or c == "_" for c in name)
    )
    if not ok:
        raise MetricError(f"invalid metric name: {name!r}")
    return name


def format_value(value):
    if value == math.inf:
        return "+Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class Metric:
    """Base class. registry=None registers in default_registry, False in none."""

    kind = "untyped"

    def __init__(self, name, help="", registry=None):
        self.name = check_name(name)
        self.help = help
        self._lock = threading.Lock()
        if registry is None:
            # Imported here: the registry module imports the metric types.
            from metrics.registry import default_registry as registry
        if registry is not False:
            registry.register(self)

    def samples(self):
        """List of (sample name, labels dict, value)."""
        raise NotImplementedError
