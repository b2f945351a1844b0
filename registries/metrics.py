"""Prometheus metrics of the registry gateway: every call by registry and outcome, its duration, and each circuit
breaker's state read at scrape time.

Labels are bounded: `registry` is one of settings.REGISTRY_NAMES (the clients name them), and `outcome` is one of
OUTCOMES, whatever reason the gateway gives (`transport:ConnectError`, `http_418`, ...).
"""

import functools
import time

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from .results import Unavailable

OUTCOMES = ("ok", "timeout", "http_4xx", "http_5xx", "circuit_open", "bulkhead_full", "transport", "unparseable",
            "unexpected")

registry_calls = Counter("kualik_registry_calls", "Calls to a state registry through the gateway, by outcome.",
                         ["registry", "outcome"])
registry_call_seconds = Histogram("kualik_registry_call_seconds",
                                  "Time a gateway call took, retries and waits for the bulkhead included.",
                                  ["registry"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def outcome_of(reason: str | None) -> str:
    """The bounded outcome label of an Unavailable reason (None: the registry answered)."""
    if reason is None:
        return "ok"
    head = reason.split(":", 1)[0]
    if head.startswith("http_") and head[5:].isdigit():
        return {"4": "http_4xx", "5": "http_5xx"}.get(head[5:6], "unexpected")
    return head if head in OUTCOMES else "unexpected"


def observed(post):
    """Counts and times every call of the gateway's `post(registry, ...)`."""

    @functools.wraps(post)
    def counted(registry: str, *args, **kwargs):
        started = time.monotonic()
        outcome = "unexpected"
        try:
            answer = post(registry, *args, **kwargs)
            outcome = "ok"
            return answer
        except Unavailable as error:
            outcome = outcome_of(error.reason)
            raise
        finally:
            registry_calls.labels(registry, outcome).inc()
            registry_call_seconds.labels(registry).observe(time.monotonic() - started)

    return counted


CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}


class CircuitCollector:
    """kualik_registry_circuit_state{registry}: 0 closed, 1 half-open (a trial call may go), 2 open.

    Read from the breakers' shared storage when scraped, so any one process reports the state every process sees.
    `breaker` is the gateway's `breaker(name)`, given by whoever mounts the collector (registries.metrics does not
    import the gateway, which imports it).
    """

    def __init__(self, breaker, names):
        self._breaker = breaker
        self._names = names

    def collect(self):
        family = GaugeMetricFamily("kualik_registry_circuit_state",
                                   "Circuit breaker per registry: 0 closed, 1 half-open, 2 open.", labels=["registry"])
        now = time.time()
        for name in self._names():
            try:
                breaker = self._breaker(name)
                open_until, _failures = breaker.storage.snapshot(name)
            except Exception:  # the shared storage is down: say nothing rather than fail the scrape
                continue
            state = "closed" if not open_until else "open" if now < open_until else "half_open"
            family.add_metric([name], CIRCUIT_STATES[state])
        yield family
