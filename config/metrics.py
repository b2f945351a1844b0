"""Prometheus metrics beyond django-prometheus's requests: Celery tasks, the queues' depth, and GET /metrics.

Several processes (gunicorn's workers, Celery's pool) each count on their own. With PROMETHEUS_MULTIPROC_DIR set
(before any process starts; emptied at each deploy), prometheus_client's multiprocess mode keeps every process's
counts in files there, and any one process's /metrics (or a worker's exporter, WORKER_METRICS_PORT) adds them up.
Gauges that describe shared state (queue depth, circuit breakers) are read when scraped, never counted.

No label carries personal data: tasks by name, queues by name, requests by view (django-prometheus).
"""

import hmac
import logging
import os
import threading
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

tasks = Counter("kualik_tasks", "Celery tasks run, by task name and outcome (succeeded, failed, retried).",
                ["task", "outcome"])
task_seconds = Histogram("kualik_task_seconds", "Run time of a Celery task, by task name.", ["task"],
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))

TASK_OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}

_started: dict[str, float] = {}
_started_lock = threading.Lock()


def task_started(task_id=None, **_signal) -> None:
    with _started_lock:
        _started[task_id] = time.monotonic()


def task_ended(task_id=None, task=None, state=None, **_signal) -> None:
    with _started_lock:
        started = _started.pop(task_id, None)
    name = getattr(task, "name", None) or "unknown"
    tasks.labels(name, TASK_OUTCOMES.get(state, "other")).inc()
    if started is not None:
        task_seconds.labels(name).observe(time.monotonic() - started)


_clients: dict[str, object] = {}


def _broker_redis():
    """A Redis client on the broker, or None when the broker is not Redis (the folder broker of `make run`)."""
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    return client


# kombu's Redis transport keeps a queue's messages of priority p > 0 in the list "<queue>\x06\x16<p>".
_PRIORITY_SEPARATOR, _PRIORITY_STEPS = "\x06\x16", (3, 6, 9)


class QueueDepthCollector:
    """kualik_queue_depth{queue}: messages waiting in each Celery queue (LLEN on a Redis broker), read when scraped."""

    def collect(self):
        from celery import current_app

        client = _broker_redis()
        if client is None:
            return
        family = GaugeMetricFamily("kualik_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        try:
            names = sorted(current_app.amqp.queues)
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.llen(name)
                for step in _PRIORITY_STEPS:
                    pipe.llen(f"{name}{_PRIORITY_SEPARATOR}{step}")
            lengths = pipe.execute()
        except Exception as error:  # the broker is down: readiness says so; the scrape still answers
            logger.warning("metrics: queue depth unreadable: %s", type(error).__name__)
            return
        per_queue = 1 + len(_PRIORITY_STEPS)
        for index, name in enumerate(names):
            family.add_metric([name], sum(lengths[index * per_queue:(index + 1) * per_queue]))
        yield family


def process_registry() -> CollectorRegistry:
    """Every process's counts (multiprocess mode), or this process's own."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition(collectors=()) -> bytes:
    """The text exposition: the counted metrics, then the gauges read now."""
    scraped_now = CollectorRegistry(auto_describe=False)
    for collector in (QueueDepthCollector(), *collectors):
        scraped_now.register(collector)
    return generate_latest(process_registry()) + generate_latest(scraped_now)


def metrics_allowed(request) -> bool:
    """With METRICS_TOKEN set, only `Authorization: Bearer <token>`; without it, only where the settings allow
    an open /metrics (development and tests; never production)."""
    token = settings.METRICS_TOKEN
    if not token:
        return settings.METRICS_WITHOUT_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics(request, collectors=()):
    if not metrics_allowed(request):
        raise Http404
    return HttpResponse(exposition(collectors), content_type=CONTENT_TYPE_LATEST)


def start_worker_exporter(**_signal):
    """A worker machine without a web process: serve its metrics on WORKER_METRICS_PORT (Celery's worker_init, in
    the worker's main process). Returns the server and its thread, or None when no port is set."""
    port = os.environ.get("WORKER_METRICS_PORT")
    if not port:
        return None
    from prometheus_client import start_http_server

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The pool's processes count tasks; without the shared directory this process never sees their counts.
        logger.warning("metrics: WORKER_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR serves only this process")
    address = os.environ.get("WORKER_METRICS_ADDRESS", "127.0.0.1")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WorkerCollector())
    served = start_http_server(int(port), addr=address, registry=registry)
    logger.info("metrics: worker exporter on %s:%s", address, port)
    return served


class _WorkerCollector:
    """What the worker's exporter serves: every process's counts and the queues' depth."""

    def collect(self):
        yield from process_registry().collect()
        yield from QueueDepthCollector().collect()
