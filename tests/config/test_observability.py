"""Metrics (GET /metrics, the registry gateway's, the tasks', the queues' depth), the request id that follows a
request into its tasks and to the registries, and the log lines that carry it."""

import copy
import io
import json
import logging
import re
import uuid
from logging.config import DictConfigurator

import pytest
from celery.signals import before_task_publish
from django.core.signals import request_started
from django_guid import clear_guid, set_guid
from prometheus_client import REGISTRY

from config import metrics
from config.celery import app
from registries import gateway
from registries.clients import PERSON_CLIENTS, PersonQuery, consent_client
from registries.metrics import outcome_of
from tests.config.test_settings import manage
from tests.factories import OrganisationFactory, api_key_for
from tests.sandbox import wait_for


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client, **headers) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


# --- GET /metrics and who may read it -----------------------------------------------------------------------------

@pytest.mark.django_db
def test_metrics_count_requests_by_view(client):
    client.get("/healthz")
    text = scrape(client)
    assert re.search(r'django_http_requests_total_by_view_transport_method_total\{[^}]*view="healthz"[^}]*\} ', text)


@pytest.mark.django_db
def test_metrics_with_a_token_answer_the_bearer_of_that_token(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert "kualik_registry_circuit_state" in scrape(client, HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic scrape-token-0123456789",
                                           "Bearer scrape-token-012345678"])
def test_metrics_with_a_token_are_404_to_anyone_else(client, settings, authorization):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    assert client.get("/metrics", **headers).status_code == 404


@pytest.mark.django_db
def test_metrics_without_a_token_are_404_where_the_settings_do_not_open_them(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_WITHOUT_TOKEN = False
    assert client.get("/metrics").status_code == 404


def test_production_keeps_metrics_closed_without_a_token_logs_json_and_exempts_the_probes_from_https():
    script = ("from django.conf import settings as s; "
              "print(s.METRICS_WITHOUT_TOKEN, s.LOGGING['handlers']['console']['formatter'], "
              "*s.SECURE_REDIRECT_EXEMPT)")
    result = manage("shell", "-v", "0", "-c", script)
    assert result.stdout.split() == ["False", "json", "^healthz$", "^readyz$", "^metrics$"], result.stderr


# --- The registry gateway -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("reason", "outcome"), [
    (None, "ok"), ("timeout", "timeout"), ("http_503", "http_5xx"), ("http_500", "http_5xx"),
    ("http_403", "http_4xx"), ("http_302", "unexpected"), ("circuit_open", "circuit_open"),
    ("bulkhead_full", "bulkhead_full"), ("transport:ConnectError", "transport"), ("unparseable", "unparseable"),
    ("unexpected:KeyError", "unexpected"), ("something new", "unexpected"),
])
def test_every_unavailable_reason_falls_in_one_of_a_few_outcomes(reason, outcome):
    assert outcome_of(reason) == outcome


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_registry_call_through_the_sandbox_is_counted_and_timed(sandbox, client):
    person = sandbox.add()
    before = sample("kualik_registry_calls_total", registry="consent", outcome="ok")
    timed = sample("kualik_registry_call_seconds_count", registry="consent")
    answer = consent_client.request(iin=person["iin"], application="test", channel="bank",
                                    purpose="eligibility_check", registries=list(PERSON_CLIENTS), language="en",
                                    callback_url=None)
    assert answer.status == "code_sent"
    assert sample("kualik_registry_calls_total", registry="consent", outcome="ok") == before + 1
    assert sample("kualik_registry_call_seconds_count", registry="consent") == timed + 1
    line = f'kualik_registry_calls_total{{outcome="ok",registry="consent"}} {before + 1}'
    assert line in scrape(client)


@pytest.mark.django_db
def test_an_unreachable_registry_is_counted_as_transport(settings):
    settings.REGISTRY_BASE_URL = "http://127.0.0.1:9/registries"  # the discard port: nothing listens
    settings.REGISTRY_URLS = {}
    settings.REGISTRY_RETRY_BACKOFF_SECONDS = 0.01
    gateway._breakers.clear()
    before = sample("kualik_registry_calls_total", registry="erap", outcome="transport")
    PERSON_CLIENTS["erap"].check(PersonQuery(iin="871008401427", consent_request="x"))
    assert sample("kualik_registry_calls_total", registry="erap", outcome="transport") == before + 1
    gateway._breakers.clear()


@pytest.mark.django_db
def test_an_open_circuit_shows_in_the_scrape(client, settings):
    settings.CIRCUIT_BREAKER_FAIL_MAX = 1
    settings.REDIS_URL = ""
    gateway._breakers.clear()
    breaker = gateway.breaker("erdb")
    try:
        breaker.storage.record_failure("erdb", 1, 30)
        text = scrape(client)
        assert 'kualik_registry_circuit_state{registry="erdb"} 2.0' in text
        assert 'kualik_registry_circuit_state{registry="erap"} 0.0' in text
    finally:
        breaker.close()
        gateway._breakers.clear()


# --- Tasks and queues ---------------------------------------------------------------------------------------------

@app.task(name="tests.config.observed_task")
def observed_task(fail: bool = False):
    if fail:
        raise ValueError("as asked")
    return "done"


def test_tasks_are_counted_by_name_and_outcome_and_timed():
    name = "tests.config.observed_task"
    succeeded = sample("kualik_tasks_total", task=name, outcome="succeeded")
    failed = sample("kualik_tasks_total", task=name, outcome="failed")
    timed = sample("kualik_task_seconds_count", task=name)
    observed_task.delay()
    # As a worker runs it: the failure recorded, not raised into the caller (eager runs here propagate it).
    observed_task.apply(kwargs={"fail": True}, throw=False)
    assert sample("kualik_tasks_total", task=name, outcome="succeeded") == succeeded + 1
    assert sample("kualik_tasks_total", task=name, outcome="failed") == failed + 1
    assert sample("kualik_task_seconds_count", task=name) == timed + 2


def test_a_retried_task_is_counted_as_retried():
    before = sample("kualik_tasks_total", task="tests.config.observed_task", outcome="retried")
    metrics.task_started(task_id="t-1")
    metrics.task_ended(task_id="t-1", task=observed_task, state="RETRY")
    assert sample("kualik_tasks_total", task="tests.config.observed_task", outcome="retried") == before + 1


@pytest.mark.redis
@pytest.mark.django_db
def test_queue_depth_is_each_queues_waiting_messages_on_a_redis_broker(client, settings):
    import redis

    settings.CELERY_BROKER_URL = settings.REDIS_URL
    queue = sorted(app.amqp.queues)[0]
    connection = redis.Redis.from_url(settings.REDIS_URL)
    before = connection.llen(queue) + connection.llen(f"{queue}\x06\x163")
    try:
        connection.rpush(queue, "waiting-1", "waiting-2")
        connection.rpush(f"{queue}\x06\x163", "waiting-3")  # kombu's list for priority 3
        assert f'kualik_queue_depth{{queue="{queue}"}} {before + 3.0}' in scrape(client)
    finally:
        connection.lrem(queue, 0, "waiting-1")
        connection.lrem(queue, 0, "waiting-2")
        connection.lrem(f"{queue}\x06\x163", 0, "waiting-3")


@pytest.mark.django_db
def test_queue_depth_is_left_out_for_the_folder_broker(client, settings):
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    assert "kualik_queue_depth" not in scrape(client)


# --- The request id -----------------------------------------------------------------------------------------------

@pytest.fixture
def channel(api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(OrganisationFactory())}")
    return api_client


@pytest.fixture
def registry_requests():
    """The X-Request-Id of every request the live server (the sandbox) received, by path."""
    seen: list[tuple[str, str | None]] = []

    def received(sender, environ=None, **kwargs):
        seen.append((environ.get("PATH_INFO", ""), environ.get("HTTP_X_REQUEST_ID")))

    request_started.connect(received, weak=False)
    yield seen
    request_started.disconnect(received)


@pytest.fixture
def published_headers():
    headers_seen: list[dict] = []

    def published(sender=None, headers=None, **kwargs):
        headers_seen.append(dict(headers or {}))

    before_task_publish.connect(published, weak=False)
    yield headers_seen
    before_task_publish.disconnect(published)


def create_application(channel, person, request_id: str):
    return channel.post("/api/v1/applications", {"service": "first_issue", "iin": person["iin"], "categories": ["B"]},
                        format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), HTTP_X_REQUEST_ID=request_id)


@pytest.mark.django_db
def test_an_answer_carries_the_request_id_it_was_given(client):
    request_id = uuid.uuid4().hex
    assert client.get("/healthz", HTTP_X_REQUEST_ID=request_id)["X-Request-ID"] == request_id


@pytest.mark.django_db
def test_an_answer_carries_a_new_request_id_when_none_or_an_invalid_one_was_given(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    new = client.get("/healthz")["X-Request-ID"]
    assert uuid.UUID(given) and uuid.UUID(new) and given != new


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_run_in_process_keeps_the_requests_id_for_its_registry_calls(channel, sandbox, registry_requests):
    person = sandbox.add()
    request_id = uuid.uuid4().hex
    response = create_application(channel, person, request_id)
    assert response.status_code == 201
    assert response["X-Request-ID"] == request_id  # still the request's after the consent task ran in it
    consent_calls = [seen for path, seen in registry_requests if path.startswith("/sandbox/registries/consent")]
    assert consent_calls and set(consent_calls) == {request_id}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_checks_asked_from_the_pipelines_threads_carry_the_request_id(channel, sandbox, registry_requests):
    person = sandbox.add()
    created = create_application(channel, person, uuid.uuid4().hex).json()
    request_id = uuid.uuid4().hex
    response = channel.post(f"/api/v1/applications/{created['id']}/consent",
                            {"code": sandbox.consent_code(person["phone"])}, format="json",
                            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 200, response.content
    checks = {path.split("/")[3]: seen for path, seen in registry_requests
              if path.startswith("/sandbox/registries/") and "/consent" not in path}
    assert len(checks) >= 5  # phase 1 and phase 2, several of them asked from the pool's threads
    assert set(checks.values()) == {request_id}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_request_id_follows_the_request_into_the_worker_and_on_to_the_registry(
        channel, sandbox, celery_worker, registry_requests, published_headers):
    person = sandbox.add()
    request_id = uuid.uuid4().hex
    response = create_application(channel, person, request_id)
    assert response.status_code == 201
    assert response["X-Request-ID"] == request_id
    assert any(headers.get("X-Request-ID") == request_id for headers in published_headers)
    wait_for(lambda: any(path.startswith("/sandbox/registries/consent") for path, _ in registry_requests),
             message="the worker's call to the consent service")
    consent_calls = {seen for path, seen in registry_requests if path.startswith("/sandbox/registries/consent")}
    assert consent_calls == {request_id}


# --- Log lines ----------------------------------------------------------------------------------------------------

def formatted(settings, formatter_name: str, message: str) -> str:
    """A record formatted as the console handler of LOGGING formats it, with its filter."""
    configurator = DictConfigurator(copy.deepcopy(settings.LOGGING))
    formatter = configurator.configure_formatter(configurator.config["formatters"][formatter_name])
    request_id_filter = configurator.configure_filter(configurator.config["filters"]["request_id"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(request_id_filter)
    logger = logging.getLogger("kualik.tests.observability")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(message)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_a_json_log_line_parses_and_carries_the_request_id(settings):
    request_id = uuid.uuid4().hex
    set_guid(request_id)
    try:
        line = json.loads(formatted(settings, "json", "registry erap answered HTTP 503"))
    finally:
        clear_guid()
    assert line["request_id"] == request_id
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING", "kualik.tests.observability", "registry erap answered HTTP 503")
    assert "time" in line


def test_a_plain_log_line_carries_the_request_id(settings):
    request_id = uuid.uuid4().hex
    set_guid(request_id)
    try:
        line = formatted(settings, "plain", "a warning")
    finally:
        clear_guid()
    assert f"[{request_id}]" in line and line.rstrip().endswith("a warning")


# --- Several processes (gunicorn's workers, Celery's pool) --------------------------------------------------------

COUNT_ONE_CALL = """
import django; django.setup()
from registries.metrics import observed
observed(lambda registry: {})("erap")
"""

SCRAPE = """
import django; django.setup()
from config.metrics import exposition
print(exposition().decode())
"""


def test_with_a_multiprocess_dir_a_scrape_adds_up_every_process(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "CELERY_BROKER_URL": ""}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", COUNT_ONE_CALL], env=env, check=True, timeout=60)
    scraped = subprocess.run([sys.executable, "-c", SCRAPE], env=env, check=True, timeout=60, capture_output=True,
                             text=True).stdout
    assert 'kualik_registry_calls_total{outcome="ok",registry="erap"} 2.0' in scraped


def test_a_worker_with_a_metrics_port_serves_its_tasks_and_the_queues(monkeypatch):
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("WORKER_METRICS_PORT", str(port))
    observed_task.delay()
    server, thread = metrics.start_worker_exporter()
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert re.search(r'kualik_tasks_total\{outcome="succeeded",task="tests.config.observed_task"\} [1-9]', text)


def test_a_worker_without_a_metrics_port_serves_nothing(monkeypatch):
    monkeypatch.delenv("WORKER_METRICS_PORT", raising=False)
    assert metrics.start_worker_exporter() is None
