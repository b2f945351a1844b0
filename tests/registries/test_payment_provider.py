"""The payment provider's client and the sandbox that plays the provider, over real HTTP (PROTOCOL.md, "payment"):
creating a payment (deduplicated by reference), the pay page for people, `POST <pay_url>` for programs, and the
signed callback that a decision sends, received here by a small HTTP server of the test's own."""

import datetime
import json
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from registries.clients import payment_client
from registries.clients.payment import sign_callback, signed_headers
from registries.results import Outcome
from registries.sandbox.models import PaymentStatus, SandboxPayment

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.urls("tests.registries.payment_urls"),
]

AMOUNT = 5406


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append({"path": self.path, "headers": self.headers, "body": body})
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        pass


@pytest.fixture
def receiver():
    """Kuälik's callback endpoint, played by a tiny HTTP server on a free local port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/callbacks/payment"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def endpoint(sandbox) -> str:
    return f"{sandbox.base_url}/sandbox/registries/payment/payments"


def payment_body(sandbox, person: dict | None = None, **changes) -> dict:
    body = {"reference": str(uuid.uuid4()), "amount_kzt": AMOUNT,
            "iin": (person or {}).get("iin") or "871008401427",
            "description": "State fee for a driving licence, application KZ-2026-000001",
            "callback_url": f"{sandbox.base_url}/nowhere", "return_url": f"{sandbox.base_url}/my/applications/"}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def create(http, endpoint, body) -> dict:
    response = http.post(endpoint, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/callbacks/payment"


# ---------------------------------------------------------------------------------------------------------------
# Creating a payment


def test_a_created_payment_has_a_pay_url_at_the_public_address(sandbox, http, endpoint):
    body = payment_body(sandbox)

    answer = create(http, endpoint, body)

    provider_reference = str(uuid.UUID(answer["provider_reference"]))
    assert answer == {"provider_reference": provider_reference, "status": "pending",
                      "pay_url": f"{sandbox.base_url}/sandbox/pay/{provider_reference}"}
    payment = SandboxPayment.objects.get(pk=provider_reference)
    assert (payment.reference, payment.iin, payment.amount_kzt, payment.description, payment.callback_url,
            payment.return_url, payment.status, payment.decided_at) == (
        body["reference"], body["iin"], AMOUNT, body["description"], body["callback_url"], body["return_url"],
        PaymentStatus.PENDING, None)


def test_the_same_reference_again_is_the_same_payment(sandbox, http, endpoint):
    body = payment_body(sandbox)

    first = create(http, endpoint, body)
    second = create(http, endpoint, body)

    assert second == first
    assert SandboxPayment.objects.filter(reference=body["reference"]).count() == 1


def test_another_reference_is_another_payment(sandbox, http, endpoint):
    first = create(http, endpoint, payment_body(sandbox))
    second = create(http, endpoint, payment_body(sandbox))

    assert first["provider_reference"] != second["provider_reference"]


@pytest.mark.parametrize("changes", [
    {"amount_kzt": 0}, {"amount_kzt": -1}, {"amount_kzt": "5406"}, {"amount_kzt": 54.06}, {"amount_kzt": True},
    {"amount_kzt": ...}, {"iin": "12345"}, {"iin": ...}, {"reference": ""}, {"reference": ...},
    {"description": ...}, {"callback_url": ...}, {"callback_url": "ftp://example.com/x"}, {"return_url": ...},
])
def test_a_create_that_breaks_the_protocol_is_400(sandbox, http, endpoint, changes):
    response = http.post(endpoint, json=payment_body(sandbox, **changes))

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert not SandboxPayment.objects.exists()


def test_a_create_is_logged_for_the_person(sandbox, http, endpoint):
    person = sandbox.add()

    create(http, endpoint, payment_body(sandbox, person))

    assert [(call["registry"], call["endpoint"]) for call in sandbox.requests_for(person["iin"])] == [
        ("payment", "payments")]


# ---------------------------------------------------------------------------------------------------------------
# The client


def client_create(sandbox, person: dict, **changes):
    body = payment_body(sandbox, person, **changes)
    return body, payment_client.create(**body)


def test_the_client_answers_passed_with_the_provider_reference_and_the_pay_url(sandbox):
    person = sandbox.add()

    body, answer = client_create(sandbox, person)

    assert answer.outcome == Outcome.PASSED
    payment = SandboxPayment.objects.get(reference=body["reference"])
    assert answer.facts == {"provider_reference": str(payment.provider_reference),
                            "pay_url": f"{sandbox.base_url}/sandbox/pay/{payment.provider_reference}"}


def test_the_client_asked_twice_gets_the_same_payment(sandbox):
    person = sandbox.add()
    body, first = client_create(sandbox, person)

    second = payment_client.create(**body)

    assert second.facts == first.facts
    assert SandboxPayment.objects.count() == 1


@pytest.mark.parametrize(("fault", "reason"), [("error", "http_500"), ("timeout", "timeout"),
                                               ("garbage", "unparseable")])
def test_the_client_answers_unavailable_when_the_provider_fails(sandbox, fault, reason):
    person = sandbox.add(faults={"payment": fault})

    _body, answer = client_create(sandbox, person)

    assert answer.outcome == Outcome.UNAVAILABLE
    assert answer.reason == reason
    assert answer.facts == {}


def test_the_client_rides_out_a_flaky_provider(sandbox):
    person = sandbox.add(faults={"payment": "flaky"})

    _body, answer = client_create(sandbox, person)

    assert answer.outcome == Outcome.PASSED


def test_the_client_answers_unavailable_when_the_provider_is_down(sandbox):
    sandbox.settings.REGISTRY_URLS = {"payment": closed_port_url().rsplit("/callbacks", 1)[0]}

    _body, answer = client_create(sandbox, sandbox.add())

    assert answer.outcome == Outcome.UNAVAILABLE
    assert answer.reason.startswith("transport:")


# ---------------------------------------------------------------------------------------------------------------
# Paying and declining


def pending_payment(sandbox, http, endpoint, *, callback_url: str) -> dict:
    return create(http, endpoint, payment_body(sandbox, sandbox.add(), callback_url=callback_url))


def assert_signed_callback(received: dict, *, payment: SandboxPayment, status: str) -> None:
    headers, body = received["headers"], received["body"]
    timestamp, nonce = headers["X-Payment-Timestamp"], headers["X-Payment-Nonce"]
    assert headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{32}", nonce)
    assert abs(int(timestamp) - time.time()) < 60
    assert headers["X-Payment-Signature"] == sign_callback(
        body, secret=settings.REGISTRY_CALLBACK_SECRET, timestamp=int(timestamp), nonce=nonce)
    assert headers["X-Payment-Signature"] != sign_callback(
        body, secret="another secret", timestamp=int(timestamp), nonce=nonce)
    sent = json.loads(body)
    assert set(sent) == {"reference", "provider_reference", "status", "amount_kzt", "at"}
    assert (sent["reference"], sent["provider_reference"], sent["status"], sent["amount_kzt"]) == (
        payment.reference, str(payment.provider_reference), status, AMOUNT)
    at = datetime.datetime.fromisoformat(sent["at"])
    assert at.utcoffset() is not None
    assert abs(at - payment.decided_at) < datetime.timedelta(milliseconds=1)  # written to the millisecond


@pytest.mark.parametrize(("outcome", "status"), [("success", "paid"), ("decline", "declined")])
def test_a_decision_sends_one_signed_callback(sandbox, http, endpoint, receiver, outcome, status):
    created = pending_payment(sandbox, http, endpoint, callback_url=receiver.url)

    response = http.post(created["pay_url"], json={"outcome": outcome})

    assert response.status_code == 200
    assert response.json() == {"status": status, "callback_status": 204}
    payment = SandboxPayment.objects.get(pk=created["provider_reference"])
    assert payment.status == status
    assert payment.decided_at is not None
    assert len(receiver.received) == 1
    assert receiver.received[0]["path"] == "/callbacks/payment"
    assert_signed_callback(receiver.received[0], payment=payment, status=status)


@pytest.mark.parametrize("again", ["success", "decline"])
def test_a_second_decision_answers_the_first_and_sends_nothing(sandbox, http, endpoint, receiver, again):
    created = pending_payment(sandbox, http, endpoint, callback_url=receiver.url)
    http.post(created["pay_url"], json={"outcome": "success"})

    response = http.post(created["pay_url"], json={"outcome": again})

    assert response.status_code == 200
    assert response.json() == {"status": "paid", "callback_status": None}
    assert len(receiver.received) == 1
    assert SandboxPayment.objects.get(pk=created["provider_reference"]).status == PaymentStatus.PAID


def test_a_create_after_the_decision_answers_the_decided_payment(sandbox, http, endpoint, receiver):
    body = payment_body(sandbox, sandbox.add(), callback_url=receiver.url)
    created = create(http, endpoint, body)
    http.post(created["pay_url"], json={"outcome": "decline"})

    assert create(http, endpoint, body) == {**created, "status": "declined"}


def test_a_callback_that_does_not_arrive_leaves_the_decision_made(sandbox, http, endpoint):
    created = pending_payment(sandbox, http, endpoint, callback_url=closed_port_url())

    response = http.post(created["pay_url"], json={"outcome": "success"})

    assert response.json() == {"status": "paid", "callback_status": None}
    assert SandboxPayment.objects.get(pk=created["provider_reference"]).status == PaymentStatus.PAID


def test_the_page_form_decides_and_returns_the_person_to_the_service(sandbox, http, endpoint, receiver):
    created = pending_payment(sandbox, http, endpoint, callback_url=receiver.url)

    response = http.post(created["pay_url"], data={"outcome": "success"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"{sandbox.base_url}/my/applications/"
    assert len(receiver.received) == 1
    payment = SandboxPayment.objects.get(pk=created["provider_reference"])
    assert_signed_callback(receiver.received[0], payment=payment, status="paid")


def test_an_unknown_payment_is_404(sandbox, http):
    url = f"{sandbox.base_url}/sandbox/pay/{uuid.uuid4()}"

    response = http.post(url, json={"outcome": "success"})

    assert response.status_code == 404
    assert response.json() == {"error": "not_found"}
    assert http.get(url).status_code == 404


@pytest.mark.parametrize("body", [{"outcome": "maybe"}, {"outcome": None}, {}, ["success"]])
def test_a_bad_outcome_is_400(sandbox, http, endpoint, receiver, body):
    created = pending_payment(sandbox, http, endpoint, callback_url=receiver.url)

    response = http.post(created["pay_url"], json=body)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert SandboxPayment.objects.get(pk=created["provider_reference"]).status == PaymentStatus.PENDING
    assert receiver.received == []


def test_a_body_that_is_not_json_is_400(sandbox, http, endpoint):
    created = pending_payment(sandbox, http, endpoint, callback_url=closed_port_url())

    response = http.post(created["pay_url"], content=b"outcome=success", headers={"Content-Type": "application/json"})

    assert response.status_code == 400


# ---------------------------------------------------------------------------------------------------------------
# The pay page


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_pay_page_shows_the_amount_the_purpose_and_two_buttons(sandbox, http, endpoint, language):
    created = pending_payment(sandbox, http, endpoint, callback_url=closed_port_url())

    response = http.get(created["pay_url"], headers={"Accept-Language": language})

    assert response.status_code == 200
    page = response.text
    assert f'<html lang="{language}">' in page
    with translation.override(language):
        amount = gettext("%(amount)s tenge") % {"amount": "5\u00a0406"}
        texts = [gettext("Payment"), gettext("Amount"), gettext("Purpose of payment")]
        buttons = [(gettext("Pay"), "success"), (gettext("Decline"), "decline")]
    assert amount in page
    assert "State fee for a driving licence, application KZ-2026-000001" in page
    for text in texts:
        assert text in page
    for label, outcome in buttons:
        assert re.search(rf'<button[^>]*name="outcome" value="{outcome}">{re.escape(label)}</button>', page)
    assert '<form method="post"' in page


@pytest.mark.parametrize(("outcome", "message"), [("success", "The payment is complete."),
                                                  ("decline", "The payment was declined.")])
def test_a_decided_payment_shows_its_outcome_instead_of_the_buttons(sandbox, http, endpoint, outcome, message):
    created = pending_payment(sandbox, http, endpoint, callback_url=closed_port_url())
    http.post(created["pay_url"], json={"outcome": outcome})

    page = http.get(created["pay_url"], headers={"Accept-Language": "en"}).text

    assert message in page
    assert 'name="outcome"' not in page
    assert f'href="{sandbox.base_url}/my/applications/"' in page


# ---------------------------------------------------------------------------------------------------------------
# Signing


def test_the_signature_covers_the_timestamp_the_nonce_and_the_body():
    import hashlib
    import hmac

    body = b'{"reference": "r", "status": "paid"}'
    expected = hmac.new(b"secret", b"1700000000.abc." + body, hashlib.sha256).hexdigest()

    assert sign_callback(body, secret="secret", timestamp=1700000000, nonce="abc") == f"sha256={expected}"
    assert sign_callback(body, secret="secret", timestamp=1700000001, nonce="abc") != f"sha256={expected}"
    assert sign_callback(body, secret="secret", timestamp=1700000000, nonce="abd") != f"sha256={expected}"
    assert sign_callback(body + b" ", secret="secret", timestamp=1700000000, nonce="abc") != f"sha256={expected}"


def test_signed_headers_sign_with_the_given_or_fresh_timestamp_and_nonce():
    body = b"{}"

    given = signed_headers(body, secret="secret", timestamp=1700000000, nonce="n1")
    fresh = signed_headers(body, secret="secret")

    assert given == {"X-Payment-Timestamp": "1700000000", "X-Payment-Nonce": "n1",
                     "X-Payment-Signature": sign_callback(body, secret="secret", timestamp=1700000000, nonce="n1")}
    assert abs(int(fresh["X-Payment-Timestamp"]) - time.time()) < 60
    assert re.fullmatch(r"[0-9a-f]{32}", fresh["X-Payment-Nonce"])
    assert fresh["X-Payment-Nonce"] != signed_headers(body, secret="secret")["X-Payment-Nonce"]
