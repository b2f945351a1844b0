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
        "browser": None if shutil.which("chromium") else "needs Debian's chromium (bin/ensure-test-tools installs it)",
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
    from applications.models import forget_categories, forget_fee, forget_refusal_reasons

    caches = (forget_categories, forget_fee, forget_keys, forget_refusal_reasons)
    for forget in caches:
        forget()
    yield
    for forget in caches:
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
            self._in_flight = 0
            self._idle = threading.Condition()

        def set_app(self, application):
            def counted(environ, start_response):
                with self._idle:
                    self._in_flight += 1
                try:
                    return _Finished(application(environ, start_response), self._finished)
                except BaseException:
                    self._finished()
                    raise

            super().set_app(counted)

        def _finished(self):
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

        def wait_until_idle(self, timeout: float) -> bool:
            """Until no request is being answered (its response closed, request_finished sent): a request that
            outlives its test (a registry fault the client gave up on) would touch a database that is gone."""
            with self._idle:
                return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

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


class _Finished:
    """A WSGI response that reports when the server has closed it (after Django's request_finished)."""

    def __init__(self, response, on_close):
        self._response, self._on_close = response, on_close

    def __iter__(self):
        return iter(self._response)

    def close(self):
        try:
            if hasattr(self._response, "close"):
                self._response.close()
        finally:
            self._on_close()


@pytest.fixture(autouse=True)
def _live_server_requests_end_with_their_test(request):
    """A test that used the live server ends only when every request it sent has been answered, before its database
    is flushed and access to it is blocked again."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    server = request.getfixturevalue("live_server")
    yield
    assert server.thread.httpd.wait_until_idle(timeout=30), "a live-server request did not end within 30 s"


@pytest.fixture(scope="session")
def live_server(request, django_db_setup):
    """pytest-django's live server, stopped at the end of the run with every request thread joined (a thread left
    running at interpreter shutdown aborted the run). Database sessions still open after that are ended, and gone,
    before the test database is dropped (hence django_db_setup: this ends first): PostgreSQL refuses to drop a
    database in use."""
    from pytest_django.live_server_helper import LiveServer

    address = request.config.getvalue("liveserver") or os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    server.thread.server_class = _joining_server_class()
    server.start()
    yield server
    server.stop()
    from django.db import connection

    if connection.vendor == "postgresql":
        # Threads of this process that are not the server's (a pool running registry checks) may still hold one;
        # they are ended from a connection of our own to the `postgres` database, until none is left.
        import time

        import psycopg

        name = connection.settings_dict["NAME"]
        connection.close()
        params = {key: value for key, value in {
            "host": connection.settings_dict["HOST"], "port": connection.settings_dict["PORT"] or None,
            "user": connection.settings_dict["USER"], "password": connection.settings_dict["PASSWORD"]}.items()
            if value}
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = %s AND pid <> pg_backend_pid()", [name]).fetchone()[0]
                if not ended:
                    break
                time.sleep(0.05)  # a terminated session leaves a moment later
