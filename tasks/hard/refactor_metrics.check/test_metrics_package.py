import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import metrics

HERE = Path(__file__).resolve().parent

PUBLIC = {
    "MetricError", "DEFAULT_BUCKETS", "Metric", "Counter", "Gauge", "Histogram",
    "Registry", "default_registry", "to_prometheus", "to_json",
}

LAYOUT = {
    "core": ["MetricError", "DEFAULT_BUCKETS", "Metric"],
    "types": ["Counter", "Gauge", "Histogram"],
    "registry": ["Registry", "default_registry"],
    "exporters": ["to_prometheus", "to_json"],
}


def run_python(*args):
    return subprocess.run(
        [sys.executable, *args], cwd=HERE, capture_output=True, text=True, timeout=10
    )


# --- package layout ---------------------------------------------------------

def test_metrics_is_a_package():
    assert hasattr(metrics, "__path__"), "metrics must be a package (metrics/__init__.py)"


def test_all_lists_the_public_api():
    assert set(metrics.__all__) == PUBLIC
    assert len(metrics.__all__) == len(PUBLIC)


@pytest.mark.parametrize("module, names", sorted(LAYOUT.items()))
def test_public_names_live_in_their_submodule(module, names):
    import importlib

    sub = importlib.import_module(f"metrics.{module}")
    for name in names:
        assert getattr(sub, name) is getattr(metrics, name), f"{name} in metrics.{module}"


@pytest.mark.parametrize("module", sorted(LAYOUT))
def test_submodule_imports_first_in_fresh_interpreter(module):
    code = (
        f"import metrics.{module} as m, metrics\n"
        "r = metrics.Registry()\n"
        "metrics.Counter('fresh_total', registry=r).inc()\n"
        "c = metrics.Counter('fresh_default_total')\n"
        "assert metrics.default_registry.get('fresh_default_total') is c\n"
        "print(metrics.to_prometheus(r), end='')\n"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "# TYPE fresh_total counter\nfresh_total 1\n"


# app.py as shipped: the prompt says it must keep working without changes.
APP_PY_SHA256 = "31362bf13caab6d5f8ef180370f4474126dea2dfd6889f5c6950c9ed2ba4ef42"


def test_app_py_is_unchanged():
    digest = hashlib.sha256((HERE / "app.py").read_bytes()).hexdigest()
    assert digest == APP_PY_SHA256, "app.py must keep working without changes"


def test_app_still_works():
    result = run_python("app.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "# HELP app_in_flight Requests being handled\n"
        "# TYPE app_in_flight gauge\n"
        "app_in_flight 0\n"
        "# HELP app_latency_seconds Request latency\n"
        "# TYPE app_latency_seconds histogram\n"
        'app_latency_seconds_bucket{le="0.1"} 1\n'
        'app_latency_seconds_bucket{le="0.5"} 2\n'
        'app_latency_seconds_bucket{le="1"} 3\n'
        'app_latency_seconds_bucket{le="+Inf"} 4\n'
        "app_latency_seconds_sum 3.95\n"
        "app_latency_seconds_count 4\n"
        "# HELP app_requests_total Requests handled\n"
        "# TYPE app_requests_total counter\n"
        "app_requests_total 4\n"
    )


# --- behaviour through the public API ----------------------------------------

def test_counter():
    r = metrics.Registry()
    c = metrics.Counter("jobs_total", "Jobs", registry=r)
    c.inc()
    c.inc(2.5)
    assert c.value == 3.5
    with pytest.raises(metrics.MetricError):
        c.inc(-1)
    assert c.value == 3.5
    assert r.get("jobs_total") is c


def test_gauge():
    g = metrics.Gauge("temperature", registry=False)
    g.set(20)
    g.inc()
    g.dec(5)
    assert g.value == 16.0


def test_histogram_buckets():
    h = metrics.Histogram("latency", registry=False, buckets=(1, 2, 5))
    assert h.buckets == (1.0, 2.0, 5.0, math.inf)
    for value in (0.5, 1, 1.5, 7):
        h.observe(value)
    assert h.cumulative_counts() == [(1.0, 2), (2.0, 3), (5.0, 3), (math.inf, 4)]
    assert (h.count, h.sum) == (4, 10.0)
    with h.time():
        pass
    assert h.count == 5


def test_histogram_defaults_and_bad_buckets():
    h = metrics.Histogram("default_buckets", registry=False)
    assert h.buckets == tuple(float(b) for b in metrics.DEFAULT_BUCKETS) + (math.inf,)
    for bad in [(), (1, 1), (2, 1)]:
        with pytest.raises(metrics.MetricError):
            metrics.Histogram("bad", registry=False, buckets=bad)


@pytest.mark.parametrize("name", ["", "9lives", "has-dash", "has space", None])
def test_bad_names(name):
    with pytest.raises(metrics.MetricError):
        metrics.Counter(name, registry=False)


def test_registry_rejects_duplicates_and_unregisters():
    r = metrics.Registry()
    r.counter("a_total")
    with pytest.raises(metrics.MetricError):
        r.gauge("a_total")
    assert len(r) == 1
    r.unregister("a_total")
    assert len(r) == 0 and r.get("a_total") is None


def test_default_registry_is_used_when_none_given():
    c = metrics.Counter("check_default_total", "Default")
    try:
        assert metrics.default_registry.get("check_default_total") is c
        assert "check_default_total 0" in metrics.to_prometheus()
        assert "check_default_total" in json.loads(metrics.to_json())
    finally:
        metrics.default_registry.unregister("check_default_total")


def make_registry():
    r = metrics.Registry()
    r.counter("z_requests_total", "Requests").inc(3)
    g = r.gauge("m_queue_size")
    g.set(2.5)
    h = r.histogram("a_seconds", "Time taken", buckets=(0.5, 1))
    for value in (0.25, 0.75, 2):
        h.observe(value)
    return r


def test_prometheus_output():
    assert metrics.to_prometheus(make_registry()) == (
        "# HELP a_seconds Time taken\n"
        "# TYPE a_seconds histogram\n"
        'a_seconds_bucket{le="0.5"} 1\n'
        'a_seconds_bucket{le="1"} 2\n'
        'a_seconds_bucket{le="+Inf"} 3\n'
        "a_seconds_sum 3\n"
        "a_seconds_count 3\n"
        "# TYPE m_queue_size gauge\n"
        "m_queue_size 2.5\n"
        "# HELP z_requests_total Requests\n"
        "# TYPE z_requests_total counter\n"
        "z_requests_total 3\n"
    )
    assert metrics.to_prometheus(metrics.Registry()) == ""


def test_json_output():
    text = metrics.to_json(make_registry())
    assert json.loads(text) == {
        "a_seconds": {
            "type": "histogram", "help": "Time taken",
            "buckets": {"0.5": 1, "1": 2, "+Inf": 3}, "sum": 3.0, "count": 3,
        },
        "m_queue_size": {"type": "gauge", "help": "", "value": 2.5},
        "z_requests_total": {"type": "counter", "help": "Requests", "value": 3.0},
    }
    assert text == json.dumps(json.loads(text), sort_keys=True)


def test_metric_base_class():
    assert issubclass(metrics.Counter, metrics.Metric)
    assert issubclass(metrics.Histogram, metrics.Metric)
    with pytest.raises(NotImplementedError):
        metrics.Metric("base_only", registry=False).samples()
