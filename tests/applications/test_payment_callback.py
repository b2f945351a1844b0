"""The payment provider's signed callback (`POST /api/v1/callbacks/payment`): an HMAC over the timestamp, the nonce and
the body with the shared secret. An unsigned, mis-signed, stale or replayed callback answers 401, changes nothing
and is logged; a genuine one repeated (a new nonce, the same body) does nothing twice.

The provider is played here by signing with registries.clients.payment.signed_headers, as the sandbox does.
"""

import json
import logging
import time
import uuid

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from applications.models import Application, CallbackNonce, Payment, PhotoSource
from registries.clients.payment import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from tests.applications.test_formalization_api import (
    FEE_2026,
    application_json,
    in_formalization,
    moves_to_under_review,
    notices,
    operator,
    pay_at_desk,
)

pytestmark = pytest.mark.django_db

CALLBACK_URL = "/api/v1/callbacks/payment"


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """The notices queued after each commit (task name and arguments), recorded instead of sent."""
    jobs = []
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: jobs.append((task_name, args)))
    return jobs


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what each request queued on commit (the test's transaction never commits)."""

    def run(send, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return send(*args, **kwargs)

    return run


@pytest.fixture
def refusals(caplog):
    caplog.set_level(logging.WARNING, logger="applications")
    return lambda: [record.getMessage() for record in caplog.records
                    if record.name.startswith("applications") and "refused" in record.getMessage()]


def pending_payment(application=None, **fields) -> Payment:
    """An online payment as create_payment leaves it: pending at the provider."""
    application = application or in_formalization()
    reference = uuid.uuid4()
    return Payment.objects.create(application=application, amount_kzt=FEE_2026, method=Payment.Method.ONLINE,
                                  provider_reference=str(reference),
                                  pay_url=f"http://testserver/sandbox/pay/{reference}", **fields)


def body_for(payment: Payment, status: str = "paid", **changes) -> bytes:
    body = {"reference": str(payment.pk), "provider_reference": payment.provider_reference, "status": status,
            "amount_kzt": payment.amount_kzt, "at": timezone.localtime().isoformat(timespec="milliseconds")}
    body.update(changes)
    return json.dumps(body).encode()


def http_headers(headers: dict) -> dict:
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


def send(body: bytes, headers: dict | None = None):
    return Client().post(CALLBACK_URL, data=body, content_type="application/json", **http_headers(headers or {}))


def signed(body: bytes, **overrides) -> dict:
    return signed_headers(body, secret=settings.REGISTRY_CALLBACK_SECRET, **overrides)


def assert_nothing_changed(payment: Payment) -> None:
    payment.refresh_from_db()
    assert (payment.status, payment.decided_at) == ("pending", None)
    application = Application.objects.get(pk=payment.application_id)
    assert application.fee_paid_at is None and application.status == "formalization"
    assert application_json(application)["fee"]["paid"] is False


def assert_refused(response, reason: str, refusals) -> None:
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"
    assert any(reason in message for message in refusals()), refusals()


# --- refused: nothing changes, and the refusal is logged ------------------------------------------------------


def test_an_unsigned_callback_is_401_changes_nothing_and_is_logged(committed, queued, refusals):
    payment = pending_payment()
    assert_refused(committed(send, body_for(payment)), "unsigned", refusals)
    assert_nothing_changed(payment)
    assert not notices(queued, "fee_paid")


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER])
def test_a_callback_missing_one_signing_header_is_401_and_changes_nothing(missing, refusals):
    payment = pending_payment()
    body = body_for(payment)
    headers = {name: value for name, value in signed(body).items() if name != missing}
    assert_refused(send(body, headers), "unsigned", refusals)
    assert_nothing_changed(payment)


def test_a_callback_signed_with_another_secret_is_401_changes_nothing_and_is_logged(committed, queued, refusals):
    payment = pending_payment()
    body = body_for(payment)
    forged = signed_headers(body, secret="not-the-shared-secret")
    assert_refused(committed(send, body, forged), "bad_signature", refusals)
    assert_nothing_changed(payment)
    assert not notices(queued, "fee_paid")


def test_a_callback_whose_body_was_altered_after_signing_is_401_and_changes_nothing(refusals):
    payment = pending_payment()
    headers = signed(body_for(payment, status="declined"))
    assert_refused(send(body_for(payment, status="paid"), headers), "bad_signature", refusals)
    assert_nothing_changed(payment)


def test_a_callback_whose_timestamp_was_altered_after_signing_is_401_and_changes_nothing(refusals):
    payment = pending_payment()
    body = body_for(payment)
    headers = signed(body, timestamp=int(time.time()) - 600)
    headers[TIMESTAMP_HEADER] = str(int(time.time()))  # made fresh again, but the signature covers the old one
    assert_refused(send(body, headers), "bad_signature", refusals)
    assert_nothing_changed(payment)


@pytest.mark.parametrize("offset", [-600, 600], ids=["ten_minutes_old", "ten_minutes_ahead"])
def test_a_stale_callback_is_401_changes_nothing_and_is_logged(offset, committed, queued, refusals):
    payment = pending_payment()
    body = body_for(payment)
    assert_refused(committed(send, body, signed(body, timestamp=int(time.time()) + offset)), "stale", refusals)
    assert_nothing_changed(payment)
    assert not notices(queued, "fee_paid")
    assert not CallbackNonce.objects.exists()  # a refused callback does not use its nonce up


def test_a_callback_with_a_nonce_seen_before_is_401_changes_nothing_and_is_logged(committed, queued, refusals):
    payment = pending_payment()
    other = pending_payment()
    first = body_for(other, status="declined")
    nonce = uuid.uuid4().hex
    assert committed(send, first, signed(first, nonce=nonce)).status_code == 200
    body = body_for(payment)
    assert_refused(committed(send, body, signed(body, nonce=nonce)), "replayed", refusals)
    assert_nothing_changed(payment)
    assert not notices(queued, "fee_paid")


def test_a_replayed_callback_is_401_and_does_nothing_twice(committed, queued, refusals):
    application = in_formalization()
    payment = pending_payment(application)
    body = body_for(payment)
    headers = signed(body)
    assert committed(send, body, headers).json() == {"outcome": "paid"}
    assert_refused(committed(send, body, headers), "replayed", refusals)
    payment.refresh_from_db()
    assert payment.status == "paid"
    assert Payment.objects.filter(application=application, status="paid").count() == 1
    assert len(notices(queued, "fee_paid")) == 1


# --- genuine --------------------------------------------------------------------------------------------------


def test_a_genuine_paid_callback_marks_the_fee_paid_and_queues_one_notice(committed, queued):
    payment = pending_payment()
    body = body_for(payment)
    response = committed(send, body, signed(body))
    assert response.status_code == 200, response.content
    assert response.json() == {"outcome": "paid"}
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.decided_at is not None
    assert application_json(payment.application)["fee"] == {"amount_kzt": FEE_2026, "paid": True}
    assert [args[2]["payment_id"] for args in notices(queued, "fee_paid")] == [str(payment.pk)]
    assert CallbackNonce.objects.count() == 1


def test_a_genuine_callback_repeated_with_a_new_nonce_does_nothing_twice(committed, queued):
    application = in_formalization()
    Application.objects.filter(pk=application.pk).update(photo_source=PhotoSource.TSON,
                                                         photo_captured_at=timezone.now())
    payment = pending_payment(application)
    body = body_for(payment)
    assert committed(send, body, signed(body)).json() == {"outcome": "paid"}
    again = committed(send, body, signed(body))
    assert again.status_code == 200, again.content
    assert again.json()["outcome"] != "paid"
    assert Payment.objects.filter(application=application, status="paid").count() == 1
    assert Application.objects.get(pk=application.pk).status == "under_review"
    assert moves_to_under_review(application) == 1
    assert len(notices(queued, "fee_paid")) == 1


def test_a_genuine_declined_callback_leaves_the_fee_unpaid_and_tells_the_citizen(committed, queued):
    payment = pending_payment()
    body = body_for(payment, status="declined")
    assert committed(send, body, signed(body)).json() == {"outcome": "declined"}
    payment.refresh_from_db()
    assert payment.status == "declined" and payment.decided_at is not None
    assert application_json(payment.application)["fee"]["paid"] is False
    assert len(notices(queued, "fee_declined")) == 1
    assert not notices(queued, "fee_paid")


def test_a_paid_callback_with_another_amount_leaves_the_payment_pending(committed, queued, caplog):
    caplog.set_level(logging.WARNING, logger="applications")
    payment = pending_payment()
    body = body_for(payment, amount_kzt=FEE_2026 - 1)
    response = committed(send, body, signed(body))
    assert response.status_code == 200, response.content
    assert response.json() == {"outcome": "amount_mismatch"}
    assert_nothing_changed(payment)
    assert not notices(queued, "fee_paid")
    assert any("expected" in record.getMessage() for record in caplog.records)


def test_a_paid_callback_after_a_desk_payment_does_not_pay_twice(committed, queued):
    application = in_formalization()
    online = pending_payment(application)
    assert committed(pay_at_desk, operator(), application).status_code == 200
    body = body_for(online)
    response = committed(send, body, signed(body))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] != "paid"
    online.refresh_from_db()
    assert online.status != "paid"
    paid = Payment.objects.filter(application=application, status="paid")
    assert list(paid.values_list("method", flat=True)) == ["desk"]
    assert len(notices(queued, "fee_paid")) == 1


def test_a_signed_callback_for_an_unknown_payment_changes_nothing(committed, queued):
    payment = pending_payment()
    body = body_for(payment, reference=str(uuid.uuid4()))
    response = committed(send, body, signed(body))
    assert response.status_code == 200, response.content
    assert response.json() == {"outcome": "unknown"}
    assert_nothing_changed(payment)
    assert not notices(queued, "fee_paid")


def test_a_signed_callback_with_an_unknown_status_changes_nothing(committed):
    payment = pending_payment()
    body = body_for(payment, status="refunded")
    assert committed(send, body, signed(body)).json() == {"outcome": "unknown_status"}
    assert_nothing_changed(payment)


def test_the_callback_answers_get_with_405():
    assert Client().get(CALLBACK_URL).status_code == 405


def test_a_callback_with_a_non_ascii_signature_is_401_and_changes_nothing(refusals):
    payment = pending_payment()
    body = body_for(payment)
    headers = {**signed(body), SIGNATURE_HEADER: "sha256=\u00e9" + "0" * 63}
    assert_refused(send(body, headers), "bad_signature", refusals)
    assert_nothing_changed(payment)


def test_a_signed_callback_whose_reference_is_not_a_payment_id_changes_nothing(committed):
    payment = pending_payment()
    body = body_for(payment, reference="not-a-uuid")
    response = committed(send, body, signed(body))
    assert response.status_code == 200, response.content
    assert response.json() == {"outcome": "unknown"}
    assert_nothing_changed(payment)
