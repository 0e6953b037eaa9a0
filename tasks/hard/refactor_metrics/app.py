"""A tiny web-app stand-in that records metrics and prints them."""
from metrics import Counter, Gauge, Histogram, default_registry, to_prometheus

REQUESTS = Counter("app_requests_total", "Requests handled")
IN_FLIGHT = Gauge("app_in_flight", "Requests being handled")
LATENCY = Histogram("app_latency_seconds", "Request latency", buckets=(0.1, 0.5, 1.0))


def handle(duration):
    IN_FLIGHT.inc()
    REQUESTS.inc()
    LATENCY.observe(duration)
    IN_FLIGHT.dec()


if __name__ == "__main__":
    for duration in (0.05, 0.2, 0.7, 3.0):
        handle(duration)
    print(to_prometheus(default_registry), end="")
