"""Formalisation under races, with real threads against PostgreSQL: a payment created twice at once is one payment,
and the fee and the photo arriving together move the application to `under_review` exactly once."""

import uuid
from functools import partial

import pytest
from django.test import Client

from applications.models import Application, Payment
from tests.applications.test_formalization_api import (
    FEE_2026,
    client_for,
    in_formalization,
    jpeg,
    moves_to_under_review,
    operator,
    pay,
    pay_at_desk,
    payments_url,
    put_photo,
)
from tests.applications.test_payment_callback import body_for, http_headers, signed
from tests.helpers import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """The notices queued after each commit, recorded instead of sent (list.append is atomic across threads)."""
    jobs = []
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: jobs.append((task_name, args)))
    return jobs



def answered(send):
    """(status, JSON body) of a request, so that a thread hands back plain data."""
    response = send()
    return response.status_code, response.json()


def fee_paid_notices(queued) -> int:
    return sum(1 for task, args in queued if task == "applications.tasks.notify_citizen" and args[1] == "fee_paid")


# --- online payment -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("callers", [2, 4])
def test_payments_created_at_once_are_one_payment(sandbox, callers):
    application = in_formalization()
    clients = [client_for(application.organisation) for _ in range(callers)]
    outcomes = race([partial(answered, partial(pay, client, application)) for client in clients])
    assert [status for status, _body in outcomes] == [201] * callers, outcomes
    assert len({body["id"] for _status, body in outcomes}) == 1, outcomes
    assert {(body["amount_kzt"], body["status"]) for _status, body in outcomes} == {(FEE_2026, "pending")}
    assert Payment.objects.filter(application=application).count() == 1


def test_payments_created_at_once_with_the_same_key_are_one_payment(sandbox):
    application = in_formalization()
    client = client_for(application.organisation)
    send = partial(client.post, payments_url(application), format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    outcomes = race([partial(answered, send), partial(answered, send)])
    statuses = sorted(status for status, _body in outcomes)
    assert statuses in ([201, 201], [201, 409]), outcomes
    for status, body in outcomes:
        assert status == 201 or body["code"] == "idempotency_key_in_use", outcomes
    assert Payment.objects.filter(application=application).count() == 1


# --- the fee and the photo together ---------------------------------------------------------------------------


@pytest.mark.parametrize("round_", range(3))
def test_a_desk_payment_and_a_photo_at_once_move_to_under_review_exactly_once(round_, queued):
    application = in_formalization()
    cashier, photographer = operator(), operator()
    outcomes = race([partial(answered, partial(pay_at_desk, cashier, application)),
                     partial(answered, partial(put_photo, photographer, application, jpeg()))])
    assert [status for status, _body in outcomes] == [200, 200], outcomes
    assert Application.objects.get(pk=application.pk).status == "under_review"
    assert moves_to_under_review(application) == 1
    assert fee_paid_notices(queued) == 1


def test_two_desk_payments_at_once_take_the_fee_once():
    application = in_formalization()
    outcomes = race([partial(answered, partial(pay_at_desk, operator(), application, receipt=f"R-{n}"))
                     for n in range(2)])
    assert sorted(status for status, _body in outcomes) == [200, 409], outcomes
    assert Payment.objects.filter(application=application, status="paid").count() == 1


@pytest.mark.parametrize("round_", range(2))
def test_a_paid_callback_and_a_desk_payment_at_once_take_the_fee_once(round_, queued):
    application = in_formalization()
    online = Payment.objects.create(application=application, amount_kzt=FEE_2026, method=Payment.Method.ONLINE,
                                    provider_reference=str(uuid.uuid4()), pay_url="http://testserver/pay")
    body = body_for(online)
    callback = partial(Client().post, "/api/v1/callbacks/payment", data=body, content_type="application/json",
                       **http_headers(signed(body)))
    outcomes = race([partial(answered, callback), partial(answered, partial(pay_at_desk, operator(), application))])
    assert outcomes[0][0] == 200, outcomes
    assert outcomes[1][0] in (200, 409), outcomes
    assert Payment.objects.filter(application=application, status="paid").count() == 1
    assert Application.objects.get(pk=application.pk).fee_paid_at is not None
    assert fee_paid_notices(queued) == 1


def test_a_genuine_callback_delivered_twice_at_once_pays_once(queued):
    application = in_formalization()
    Application.objects.filter(pk=application.pk).update(photo_source="tson")
    online = Payment.objects.create(application=application, amount_kzt=FEE_2026, method=Payment.Method.ONLINE,
                                    provider_reference=str(uuid.uuid4()), pay_url="http://testserver/pay")
    body = body_for(online)
    callbacks = [partial(answered, partial(Client().post, "/api/v1/callbacks/payment", data=body,
                                           content_type="application/json", **http_headers(signed(body))))
                 for _ in range(3)]
    outcomes = race(callbacks)
    assert [status for status, _body in outcomes] == [200] * 3, outcomes
    assert sorted(body["outcome"] for _status, body in outcomes).count("paid") == 1, outcomes
    assert Payment.objects.filter(application=application, status="paid").count() == 1
    assert moves_to_under_review(application) == 1
    assert fee_paid_notices(queued) == 1
