"""The pipeline on a real Celery worker consuming from the real Redis broker (PostgreSQL in CI)."""

import uuid

import pytest

from applications import tasks
from applications.models import Application, Check, Consent, Status
from tests.factories import OrganisationFactory, api_key_for
from tests.sandbox import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def channel(api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(OrganisationFactory())}")
    return api_client


def status_of(application_id):
    return Application.objects.get(pk=application_id).status


def start(channel, sandbox, person):
    response = channel.post("/api/v1/applications", {"service": "first_issue", "iin": person["iin"],
                                                      "categories": ["B"]}, format="json", HTTP_ACCEPT_LANGUAGE="en",
                            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201
    application_id = response.json()["id"]
    code = sandbox.consent_code(person["phone"], wait=20)
    # The SMS leaves the consent service a moment before the worker records that it was sent.
    wait_for(lambda: Consent.objects.filter(application_id=application_id, state=Consent.State.CODE_SENT).exists(),
             message="the code recorded as sent")
    response = channel.post(f"/api/v1/applications/{application_id}/consent", {"code": code}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "checks_running"
    return application_id


def test_a_worker_takes_an_application_from_consent_to_eligible(channel, sandbox, celery_worker):
    person = sandbox.add()
    application_id = start(channel, sandbox, person)
    wait_for(lambda: status_of(application_id) == Status.ELIGIBLE, message="eligible")
    wait_for(lambda: any("every check passed" in m["text"] for m in sandbox.sms_for(person["phone"])),
             message="the SMS notice")


def test_a_worker_refuses_with_the_first_failed_step(channel, sandbox, celery_worker):
    person = sandbox.add(driving_school=[])
    application_id = start(channel, sandbox, person)
    wait_for(lambda: status_of(application_id) == Status.REFUSED, message="refused")
    assert Application.objects.get(pk=application_id).refusal_code == "driving_school_certificate_missing"


def test_an_unknown_person_is_refused_by_the_worker_within_seconds(channel, sandbox, celery_worker):
    from tests.factories import make_iin

    response = channel.post("/api/v1/applications", {"service": "first_issue", "iin": make_iin(),
                                                      "categories": ["B"]}, format="json",
                            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    application_id = response.json()["id"]
    wait_for(lambda: status_of(application_id) == Status.REFUSED, timeout=10, message="person_not_found")
    assert Application.objects.get(pk=application_id).refusal_code == "person_not_found"


def test_checks_left_in_error_are_finished_by_the_sweep(channel, sandbox, celery_worker, settings):
    settings.CHECKS_MAX_RETRIES = 0
    settings.CHECKS_SWEEP_AFTER_SECONDS = 0
    person = sandbox.add(faults={"erdb": "error"})
    application_id = start(channel, sandbox, person)
    wait_for(lambda: Check.objects.filter(application_id=application_id, registry="erdb",
                                          outcome=Check.Outcome.ERROR).exists(), message="erdb error")
    assert status_of(application_id) == Status.CHECKS_RUNNING
    sandbox.update(person, faults={})
    tasks.sweep.delay()
    wait_for(lambda: status_of(application_id) == Status.ELIGIBLE, message="eligible after the sweep")


def test_the_same_task_delivered_twice_decides_once(channel, sandbox, celery_worker, settings):
    settings.REGISTRY_SANDBOX_LATENCY_MS = 150
    person = sandbox.add()
    application_id = start(channel, sandbox, person)
    for _ in range(3):
        tasks.run_checks.delay(application_id)
    wait_for(lambda: status_of(application_id) == Status.ELIGIBLE, message="eligible")
    import time

    time.sleep(1)  # let the duplicates finish
    application = Application.objects.get(pk=application_id)
    assert application.history.filter(to_status=Status.ELIGIBLE).count() == 1
    notices = [m for m in sandbox.sms_for(person["phone"]) if "every check passed" in m["text"]]
    assert len(notices) == 1


def test_tasks_are_acknowledged_only_when_done():
    for task in (tasks.run_checks, tasks.request_consent, tasks.notify_citizen, tasks.sweep):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
