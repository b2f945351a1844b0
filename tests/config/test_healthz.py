"""GET /healthz is liveness (the process answers; no dependency is touched); GET /readyz is readiness (the database,
the broker and the shared cache each answer)."""

import pytest
from django.db import OperationalError
from django.test import override_settings

from config import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_ok_while_the_database_and_broker_are_down(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 200


def test_healthz_sets_no_cookie_and_is_not_cached(client):
    response = client.get("/healthz")
    assert response.cookies == {}
    assert "no-cache" in response["Cache-Control"]


@override_settings(CELERY_BROKER_URL="", REDIS_URL="")
def test_readyz_is_ready_when_the_database_answers_and_nothing_else_is_configured(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_readyz_is_503_naming_the_database_when_it_does_not_answer(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", REDIS_URL="")
def test_readyz_is_503_naming_the_broker_when_it_does_not_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["broker"]}


def test_readyz_is_503_naming_the_broker_when_its_check_fails(client, monkeypatch, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setattr(health, "broker_answers", lambda: False)
    monkeypatch.setattr(health, "cache_answers", lambda: True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["broker"]}


@override_settings(CELERY_BROKER_URL="", REDIS_URL="redis://127.0.0.1:1/0", READINESS_TIMEOUT_SECONDS=0.5)
def test_readyz_is_503_naming_the_cache_when_redis_does_not_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["cache"]}


@pytest.mark.redis
def test_readyz_is_ready_with_a_real_redis_broker_and_cache(client, settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok", "cache": "ok"}}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_only_answer_get(client, path):
    assert client.post(path).status_code == 405
