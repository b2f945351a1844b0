"""The SQL statements of the API's read and create (bench/api.py measures them under load): a fixed number, so that a
query per row, a read back after a write or a second commit cannot creep in unnoticed."""

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.authentication import forget_keys
from accounts.models import IdempotencyRecord, Role
from applications.models import Application
from tests.factories import ApplicationFactory, OrganisationFactory, StaffFactory, api_key_for, make_iin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def steady_state(settings, monkeypatch):
    """A worker's steady state: its API keys remembered (test settings forget them at once), no registry asked."""
    settings.API_KEY_CACHE_SECONDS = 30
    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)
    forget_keys()
    yield
    forget_keys()


def channel(organisation) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(organisation)}")
    return client


def statements(queries, *, savepoints: bool = False) -> list[str]:
    """Each statement's verb and table; savepoints left out unless asked for (tests run inside a transaction, so a
    transaction of the code under test is a savepoint here)."""
    found = []
    for query in queries:
        sql = query["sql"]
        if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            if savepoints:
                found.append(sql.rsplit(None, 1)[0])
            continue
        verb = sql.split(None, 1)[0]
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
        table = table.group(1) if table else ""
        found.append(f"{verb} {table}".strip())
    return found


def test_a_create_writes_each_row_once_and_reads_nothing_back():
    client = channel(OrganisationFactory())
    body = {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}
    client.post("/api/v1/applications", {**body, "iin": make_iin()}, format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))  # the key is remembered, the day's fee worked out
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/applications", body, format="json", HTTP_IDEMPOTENCY_KEY="statements-1")
    assert response.status_code == 201
    assert statements(queries, savepoints=True) == [
        "SAVEPOINT", "INSERT accounts_idempotencyrecord", "RELEASE SAVEPOINT",  # the claim (committed alone)
        "SAVEPOINT",  # the view's transaction (BEGIN outside tests); the intake takes no savepoint of its own
        "INSERT applications_application", "INSERT applications_statuschange",
        "INSERT applications_check",  # the eight checks in one statement
        "INSERT applications_consent",
        "UPDATE accounts_idempotencyrecord",  # the answer kept for the key, in the same transaction
        "RELEASE SAVEPOINT",  # COMMIT outside tests
    ]
    record = IdempotencyRecord.objects.get(key="statements-1")
    assert record.response_status == 201 and record.response_body["id"] == response.json()["id"]


def test_a_create_for_an_iin_with_an_active_application_rolls_back_and_keeps_its_409_for_the_key():
    client = channel(OrganisationFactory())
    body = {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}
    assert client.post("/api/v1/applications", body, format="json",
                       HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/applications", body, format="json", HTTP_IDEMPOTENCY_KEY="conflict-1")
    assert response.status_code == 409 and response.json()["code"] == "active_application_exists"
    assert statements(queries, savepoints=True) == [
        "SAVEPOINT", "INSERT accounts_idempotencyrecord", "RELEASE SAVEPOINT",
        "SAVEPOINT", "INSERT applications_application",  # refused by the one-active-application index
        "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT",  # the view's transaction, whole (ROLLBACK outside tests)
        "UPDATE accounts_idempotencyrecord",  # the 409 kept for the key
    ]
    assert Application.objects.filter(iin=body["iin"]).count() == 1
    replay = client.post("/api/v1/applications", body, format="json", HTTP_IDEMPOTENCY_KEY="conflict-1")
    assert replay.status_code == 409 and replay["Idempotent-Replayed"] == "true"


def test_a_read_rendered_from_the_database_takes_four_selects_whatever_the_application_holds():
    organisation = OrganisationFactory()
    client = channel(organisation)
    warm, application = ApplicationFactory(organisation=organisation), ApplicationFactory(organisation=organisation)
    client.get(f"/api/v1/applications/{warm.pk}")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/applications/{application.pk}", HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert statements(queries) == ["SELECT applications_application", "SELECT applications_statuschange",
                                   "SELECT applications_check", "SELECT exams_booking"]


@pytest.mark.redis
def test_a_channels_read_from_the_cache_takes_no_statement():
    organisation = OrganisationFactory()
    client = channel(organisation)
    application = ApplicationFactory(organisation=organisation)
    first = client.get(f"/api/v1/applications/{application.pk}")
    with CaptureQueriesContext(connection) as queries:
        again = client.get(f"/api/v1/applications/{application.pk}")
    assert again.status_code == 200 and again.json() == first.json()
    assert statements(queries) == []


@pytest.mark.redis
@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.POLICE_OFFICER])
def test_a_staff_read_from_the_cache_is_its_token_and_one_access_log_insert(role):
    application = ApplicationFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=StaffFactory(role=role)).key}")
    client.get(f"/api/v1/applications/{application.pk}")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/applications/{application.pk}").status_code == 200
    assert statements(queries) == ["SELECT authtoken_token", "INSERT applications_personaldataaccess"]
    assert application.access_log.filter(actor_kind="staff", role=role).count() == 2


def test_a_create_that_fails_while_answering_keeps_nothing_and_frees_its_key(monkeypatch):
    client = channel(OrganisationFactory())
    body = {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}

    def broken(application):
        raise RuntimeError("the answer could not be rendered")

    monkeypatch.setattr("applications.api.application_json", broken)
    response = client.post("/api/v1/applications", body, format="json", HTTP_IDEMPOTENCY_KEY="fails-1")
    assert response.status_code == 500
    assert not Application.objects.filter(iin=body["iin"]).exists()
    assert not IdempotencyRecord.objects.filter(key="fails-1").exists()
    monkeypatch.undo()
    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)
    retry = client.post("/api/v1/applications", body, format="json", HTTP_IDEMPOTENCY_KEY="fails-1")
    assert retry.status_code == 201 and Application.objects.filter(iin=body["iin"]).count() == 1
