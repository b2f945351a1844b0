"""Shared fixtures, and the rule for tests that need PostgreSQL or Redis.

Tests marked `postgres` or `redis` are skipped, with the reason shown, when only SQLite or no Redis is at hand;
with KUALIK_REQUIRE_SERVICES=1 (CI) a missing service fails the run instead, so that CI never skips them.
"""

import os
import shutil

import pytest
from django.conf import settings


def _redis_answers() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_collection_modifyitems(config, items):
    require = os.environ.get("KUALIK_REQUIRE_SERVICES") == "1"
    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    redis_ok = _redis_answers() if any(item.get_closest_marker("redis") for item in items) else True
    missing = {
        "postgres": None if on_postgres else "needs PostgreSQL: set DATABASE_URL=postgres://...",
        "redis": None if redis_ok else "needs Redis: set REDIS_URL=redis://... to a running server",
        "browser": None if shutil.which("chromium") else "needs Debian's chromium (bin/ensure-chromium installs it)",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                if require:
                    raise pytest.UsageError(f"KUALIK_REQUIRE_SERVICES=1, but {item.nodeid} {reason}")
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def sandbox(live_server, settings, tmp_path):
    """The registry sandbox served by the live server over real sockets, with a fixture file of the test's own."""
    from registries import gateway
    from tests.sandbox import Sandbox

    fixture_path = tmp_path / "citizens.json"
    settings.REGISTRY_SANDBOX_FIXTURES = str(fixture_path)
    settings.PUBLIC_BASE_URL = live_server.url
    settings.REGISTRY_BASE_URL = f"{live_server.url}/sandbox/registries"
    settings.REGISTRY_URLS = {}
    # Short clocks so fault tests stay fast; the sandbox's timeout fault outlasts the client's read timeout.
    settings.REGISTRY_TIMEOUTS = {"default": {"connect": 1.0, "read": 0.5}}
    settings.REGISTRY_SANDBOX_TIMEOUT_SECONDS = 1.5
    settings.REGISTRY_RETRY_BACKOFF_SECONDS = 0.01
    settings.REGISTRY_RETRY_BACKOFF_MAX_SECONDS = 0.05
    settings.REGISTRY_SANDBOX_DECLINE_DELAY_MS = 200
    settings.CIRCUIT_BREAKER_NAMESPACE = f"kualik-test:{tmp_path.name}"
    gateway.reset_breakers()
    gateway._breakers.clear()
    sandbox = Sandbox(live_server.url, fixture_path, settings)
    sandbox._write()
    yield sandbox
    gateway._breakers.clear()


@pytest.fixture
def celery_worker(settings):
    """A real Celery worker on the real Redis broker, consuming in threads of this process."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    broker = os.environ.get("CELERY_BROKER_URL") or settings.REDIS_URL
    previous = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "result_backend")}
    app.conf.update(task_always_eager=False, broker_url=broker, result_backend=broker)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = broker
    app.control.purge()
    with start_worker(app, pool="threads", concurrency=8, perform_ping_check=False, shutdown_timeout=30,
                      loglevel="WARNING"):
        yield app
    app.conf.update(**previous)


@pytest.fixture(autouse=True)
def _forget_process_caches():
    """Policy data and API keys are remembered per process; a test's rolled-back rows must not outlive it."""
    from accounts.authentication import forget_keys
    from applications.models import forget_categories, forget_fee

    for forget in (forget_categories, forget_fee, forget_keys):
        forget()
    yield
    for forget in (forget_categories, forget_fee, forget_keys):
        forget()


def _joining_server_class():
    import socket
    import threading

    from django.core.servers.basehttp import ThreadedWSGIServer

    class Server(ThreadedWSGIServer):
        """Request threads are not daemons and are joined on close, so none is still running (and writing to
        stderr) when the interpreter shuts down. Idle keep-alive connections (a browser's, the registry
        gateway's pool) are told their reading side is over, so their threads end instead of waiting forever."""

        daemon_threads = False
        block_on_close = True

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._open_requests = set()
            self._open_requests_lock = threading.Lock()

        def process_request(self, request, client_address):
            with self._open_requests_lock:
                self._open_requests.add(request)
            super().process_request(request, client_address)

        def close_request(self, request):
            with self._open_requests_lock:
                self._open_requests.discard(request)
            super().close_request(request)

        def server_close(self):
            with self._open_requests_lock:
                open_requests = list(self._open_requests)
            for request in open_requests:
                try:
                    request.shutdown(socket.SHUT_RD)
                except OSError:
                    pass  # already closed by its thread
            super().server_close()  # joins every request thread

    return Server


@pytest.fixture(scope="session")
def live_server(request, django_db_blocker):
    """pytest-django's live server, stopped at the end of the run with every request thread joined (a thread left
    running at interpreter shutdown aborted the run). Sessions still open after that are ended before the test
    database is dropped: PostgreSQL refuses to drop a database in use."""
    from pytest_django.live_server_helper import LiveServer

    address = request.config.getvalue("liveserver") or os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    server.thread.server_class = _joining_server_class()
    server.start()
    yield server
    server.stop()
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
