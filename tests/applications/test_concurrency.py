"""Races, with real threads against PostgreSQL: the database decides, not Python."""


import pytest

from accounts.models import Role
from applications.errors import NotPermitted, WrongStatus
from applications.models import Application, PhotoSource, Service, Status
from applications.services import next_application_number
from applications.workflow import move_application
from tests.factories import ApplicationFactory, CentreFactory, StaffFactory
from tests.helpers import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]



def under_review_application():
    application = ApplicationFactory(service=Service.REPLACEMENT, replacement_reason="loss")
    for step in ("record_consent", "mark_eligible"):
        move_application(application_id=application.pk, transition=step)
    Application.objects.filter(pk=application.pk).update(
        number=next_application_number(), phone="+77010000001", language="ru", pickup_tson=CentreFactory(),
        fee_paid_at="2026-11-28T10:00:00+05:00", photo_source=PhotoSource.TSON,
    )
    for step in ("submit", "complete_formalization"):
        move_application(application_id=application.pk, transition=step)
    return application


def test_two_officers_deciding_at_once_one_wins_and_history_has_one_decision():
    application = under_review_application()
    first, second = StaffFactory(role=Role.POLICE_OFFICER), StaffFactory(role=Role.POLICE_OFFICER)
    outcomes = race([
        lambda: move_application(application_id=application.pk, transition="approve", actor=first),
        lambda: move_application(application_id=application.pk, transition="refuse_by_officer", actor=second,
                                 comment="documents do not match"),
    ])
    winners = [o for o in outcomes if isinstance(o, Application)]
    losers = [o for o in outcomes if isinstance(o, WrongStatus)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    application.refresh_from_db()
    assert application.status in (Status.APPROVED, Status.REFUSED)
    decisions = application.history.filter(from_status=Status.UNDER_REVIEW)
    assert decisions.count() == 1


def test_a_retried_step_racing_itself_happens_once():
    application = ApplicationFactory()
    outcomes = race([lambda: move_application(application_id=application.pk, transition="record_consent")] * 4)
    assert sum(isinstance(o, Application) for o in outcomes) == 1
    assert sum(isinstance(o, WrongStatus) for o in outcomes) == 3
    assert application.history.filter(to_status=Status.CHECKS_RUNNING).count() == 1


def test_concurrent_submissions_get_distinct_numbers():
    outcomes = race([next_application_number] * 8)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len(set(outcomes)) == 8


def test_two_channels_opening_an_application_for_one_iin_at_once_make_one():
    from django.db import IntegrityError

    from tests.factories import make_iin

    iin = make_iin()
    outcomes = race([lambda: ApplicationFactory(iin=iin)] * 3)
    assert sum(isinstance(o, Application) for o in outcomes) == 1
    assert sum(isinstance(o, IntegrityError) for o in outcomes) == 2
    assert Application.objects.filter(iin=iin).count() == 1


def test_not_permitted_is_checked_under_the_lock():
    application = under_review_application()
    with pytest.raises(NotPermitted):
        move_application(application_id=application.pk, transition="approve",
                         actor=StaffFactory(role=Role.EXAMINER))


def test_concurrent_retries_with_one_idempotency_key_create_one_application(monkeypatch):
    import uuid

    from rest_framework.test import APIClient

    from tests.factories import OrganisationFactory, api_key_for, make_iin

    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)
    key, iin = api_key_for(OrganisationFactory()), make_iin()
    idempotency_key = str(uuid.uuid4())

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client.post("/api/v1/applications", {"service": "first_issue", "iin": iin, "categories": ["B"]},
                           format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key).status_code

    statuses = race([post] * 6)
    assert statuses.count(201) >= 1, statuses
    assert set(statuses) <= {201, 409}, statuses
    assert Application.objects.filter(iin=iin).count() == 1


def test_channels_opening_one_iin_at_once_through_the_api_get_one_201_and_409s_kept_for_their_keys(monkeypatch):
    import uuid

    from rest_framework.test import APIClient

    from accounts.models import IdempotencyRecord
    from tests.factories import OrganisationFactory, api_key_for, make_iin

    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)
    keys, iin = [api_key_for(OrganisationFactory()) for _ in range(4)], make_iin()
    idempotency_keys = [str(uuid.uuid4()) for _ in keys]

    def post(key, idempotency_key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        response = client.post("/api/v1/applications", {"service": "first_issue", "iin": iin, "categories": ["B"]},
                               format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key)
        return response.status_code, response.json().get("code")

    outcomes = race([lambda k=k, i=i: post(k, i) for k, i in zip(keys, idempotency_keys, strict=True)])
    assert sorted(outcomes, key=lambda outcome: outcome[0]) == [(201, None)] + [(409, "active_application_exists")] * 3
    assert Application.objects.filter(iin=iin).count() == 1
    assert sorted(IdempotencyRecord.objects.filter(key__in=idempotency_keys).values_list("response_status", flat=True)
                  ) == [201, 409, 409, 409]
