"""A bank's first-licence application through the API only, from create to `approved`, on PostgreSQL with a real
Celery worker on Redis and the registries played by the live sandbox: consent (the code from the sandbox's SMS
outbox), the checks on the worker, submit, both exams (slots created by an examiner, booked by the bank, results
recorded by the examiner), the state fee paid through the sandbox provider, the photo taken at a TSON desk, the
police queue and the decision. Then what the citizen can see: the access log and the notices by SMS."""

import io
import re
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from applications.models import Application, Consent
from applications.services.notices import notice_text
from tests.factories import CentreFactory, OrganisationFactory, StaffFactory, api_key_for
from tests.sandbox import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LANGUAGE = "en"  # the notices and the access log's words are in the language the application was made in
WORKER_DEADLINE = 30  # seconds for anything the worker does (checks, notices, reports)

# The registry requests the access log must show for a first issue: the checks, in the algorithm's order, and the
# SMS gateway (consent code and notices).
CHECK_REGISTRIES = ("consent", "person", "licence_registry", "erap", "medical", "erdb", "driving_school",
                    "exam_attempts")


def client_with(authorization: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization, HTTP_ACCEPT_LANGUAGE=LANGUAGE)
    return client


def staff(role: str) -> tuple[APIClient, object]:
    user = StaffFactory(role=role)
    token, _created = Token.objects.get_or_create(user=user)
    return client_with(f"Token {token.key}"), user


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json() if response.content else {}


def post(client: APIClient, url: str, body: dict | None = None, *, status: int = 200) -> dict:
    return ok(client.post(url, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())), status)


def jpeg(width: int = 450, height: int = 600) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 160)).save(buffer, format="JPEG", quality=85)
    buffer.seek(0)
    buffer.name = "photo.jpg"
    return buffer


@dataclass
class Journey:
    person: dict
    application: dict  # as the bank last read it (approved)
    bookings: dict[str, dict] = field(default_factory=dict)  # kind -> the booking as the examiner's result left it
    payment: dict = field(default_factory=dict)
    bank: APIClient | None = None


def read(bank: APIClient, application_id: str) -> dict:
    return ok(bank.get(f"/api/v1/applications/{application_id}"))


def wait_for_status(bank: APIClient, application_id: str, status: str) -> dict:
    def reached():
        application = read(bank, application_id)
        assert application["status"] not in ("refused", "cancelled"), application
        return application if application["status"] == status else None

    return wait_for(reached, timeout=WORKER_DEADLINE, interval=0.1, message=f"the application {status}")


def take_exam(bank, examiner, application_id: str, *, kind: str, exam_centre: str, score: int) -> dict:
    """An examiner opens a slot starting within the hour, the bank books it, the examiner records a pass."""
    starts_at = (timezone.now() + timezone.timedelta(minutes=30)).isoformat(timespec="milliseconds")
    slot = post(examiner, "/api/v1/exam-slots", {"centre": exam_centre, "kind": kind, "starts_at": starts_at,
                                                 "capacity": 5, "categories": ["B"]}, status=201)
    assert (slot["kind"], slot["centre"], slot["free"]) == (kind, exam_centre, 5)
    public = ok(APIClient().get("/api/v1/exam-slots", {"kind": kind, "category": "B", "centre": exam_centre}))
    assert slot["id"] in [listed["id"] for listed in public["results"]]

    booking = post(bank, f"/api/v1/applications/{application_id}/bookings", {"slot": slot["id"]}, status=201)
    assert booking["status"] == "booked"
    assert booking["slot"]["id"] == slot["id"]
    exams = read(bank, application_id)["exams"]
    assert exams[kind]["booking"]["id"] == booking["id"]

    result = post(examiner, f"/api/v1/bookings/{booking['id']}/result", {"passed": True, "score": score})
    assert (result["id"], result["status"]) == (booking["id"], "passed")
    return {**result, "score": score}


def journey_to_approval(sandbox) -> Journey:
    person = sandbox.add()
    bank = client_with(f"Api-Key {api_key_for(OrganisationFactory(channel='bank'))}")
    examiner, _examiner_user = staff(Role.EXAMINER)
    operator, _operator_user = staff(Role.TSON_OPERATOR)
    police, _officer = staff(Role.POLICE_OFFICER)
    exam_centre = CentreFactory(code="journey-exams", name="Journey exam centre", address="Астана, Тест көшесі 2",
                                offers_exams=True, offers_tson=False).code
    pickup_tson = CentreFactory(code="journey-tson", name="Journey TSON", address="Астана, Тест көшесі 3",
                                offers_exams=False, offers_tson=True).code

    # Create (Idempotency-Key required from a channel), then the consent code the citizen received by SMS.
    created = post(bank, "/api/v1/applications", {"service": "first_issue", "iin": person["iin"],
                                                  "categories": ["B"]}, status=201)
    application_id = created["id"]
    assert (created["status"], created["number"], created["channel"]) == ("consent_pending", None, "bank")
    code = sandbox.consent_code(person["phone"], wait=WORKER_DEADLINE)  # the worker asked the consent service
    # The SMS can arrive a moment before the worker records that it was sent (until then: 409, "not sent yet").
    wait_for(lambda: Consent.objects.get(application_id=application_id).state == Consent.State.CODE_SENT,
             timeout=WORKER_DEADLINE, message="the code recorded as sent")
    consented = post(bank, f"/api/v1/applications/{application_id}/consent", {"code": code})
    assert consented["status"] in ("checks_running", "eligible")

    # The checks run on the worker.
    eligible = wait_for_status(bank, application_id, "eligible")
    assert {check["registry"]: check["outcome"] for check in eligible["checks"]} == dict.fromkeys(
        CHECK_REGISTRIES, "passed")

    submitted = post(bank, f"/api/v1/applications/{application_id}/submit",
                     {"phone": person["phone"], "language": "kk", "pickup_tson": pickup_tson})
    assert submitted["status"] == "theory_exam"
    assert re.fullmatch(r"DL-\d{4}-\d{6}", submitted["number"]), submitted["number"]
    number = submitted["number"]

    bookings = {"theory": take_exam(bank, examiner, application_id, kind="theory", exam_centre=exam_centre,
                                    score=38)}
    assert read(bank, application_id)["status"] == "practical_exam"
    bookings["practical"] = take_exam(bank, examiner, application_id, kind="practical", exam_centre=exam_centre,
                                      score=0)
    formalization = read(bank, application_id)
    assert formalization["status"] == "formalization"
    assert [attempt["passed"] for kind in ("theory", "practical")
            for attempt in formalization["exams"][kind]["attempts"]] == [True, True]
    assert formalization["fee"] == {"amount_kzt": formalization["fee"]["amount_kzt"], "paid": False}
    assert formalization["fee"]["amount_kzt"] > 0

    # The state fee: a payment (no body), paid through the sandbox provider, whose signed callback is delivered
    # before the pay URL answers.
    payment = post(bank, f"/api/v1/applications/{application_id}/payments", status=201)
    assert (payment["status"], payment["amount_kzt"]) == ("pending", formalization["fee"]["amount_kzt"])
    assert payment["pay_url"].startswith(sandbox.base_url)
    paid = httpx.post(payment["pay_url"], json={"outcome": "success"}, timeout=15)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["callback_status"] == 200
    after_payment = read(bank, application_id)
    assert after_payment["status"] == "formalization"
    assert after_payment["fee"]["paid"] is True

    # The photo at the TSON desk: the operator finds the application (a logged read), then uploads it.
    assert ok(operator.get(f"/api/v1/applications/{application_id}"))["number"] == number
    with_photo = ok(operator.put(f"/api/v1/applications/{application_id}/photo", {"photo": jpeg()},
                                 format="multipart"))
    assert with_photo["photo"] == {"captured": True, "source": "tson"}
    assert with_photo["status"] == "under_review"  # the fee was in: on to the police, by itself

    # The police: the queue shows it, the officer claims it and approves.
    queue = ok(police.get("/api/v1/review-queue"))
    assert application_id in [listed["id"] for listed in queue["results"]]
    assert queue["count"] >= 1
    filtered = ok(police.get("/api/v1/review-queue", {"service": "first_issue", "channel": "bank",
                                                      "centre": pickup_tson}))
    assert [listed["id"] for listed in filtered["results"]] == [application_id]
    claim = post(police, f"/api/v1/applications/{application_id}/claim")
    assert claim["officer"] and claim["until"]
    decided = post(police, f"/api/v1/applications/{application_id}/decision", {"decision": "approve"})
    assert decided["status"] == "approved"
    assert decided["decision"]["decision"] == "approve"
    assert application_id not in [listed["id"] for listed in ok(police.get("/api/v1/review-queue"))["results"]]

    approved = read(bank, application_id)
    assert approved["status"] == "approved"
    assert [entry["status"] for entry in approved["history"]] == [
        "consent_pending", "checks_running", "eligible", "theory_exam", "practical_exam", "formalization",
        "under_review", "approved"]
    assert approved["fee"]["paid"] is True
    assert approved["photo"] == {"captured": True, "source": "tson"}
    return Journey(person=person, application=approved, bookings=bookings, payment=payment, bank=bank)


def access_log(bank: APIClient, application_id: str) -> list[dict]:
    entries, url = [], f"/api/v1/applications/{application_id}/access-log"
    while url:
        page = ok(bank.get(url))
        entries += page["results"]
        url = page["next"]
    return entries


def sms_texts(sandbox, phone: str) -> list[str]:
    return [message["text"] for message in sandbox.sms_for(phone)]


def expected_notices(journey: Journey) -> dict[str, str]:
    """Each notice the citizen must have had from the first booking to the decision, as the notices' templates write
    it for this application (its language, its centres, the state it was in when told)."""
    application = Application.objects.select_related("pickup_tson").get(pk=journey.application["id"])
    texts = {}
    for kind, booking in journey.bookings.items():
        slot = booking["slot"]
        texts[f"{kind} booked"] = notice_text(application, "exam_booked", {
            "booking_id": booking["id"], "kind": kind, "centre": slot["centre"], "starts_at": slot["starts_at"]})
        texts[f"{kind} result"] = notice_text(application, "exam_result", {
            "booking_id": booking["id"], "kind": kind, "passed": True, "score": booking["score"]})
    captured_at, application.photo_captured_at = application.photo_captured_at, None  # paid before the photo
    texts["payment"] = notice_text(application, "fee_paid", {"payment_id": journey.payment["id"],
                                                             "amount_kzt": journey.payment["amount_kzt"]})
    application.photo_captured_at = captured_at
    texts["photo"] = notice_text(application, "photo_taken")
    texts["decision"] = notice_text(application, "approved")
    return texts


def test_a_banks_first_licence_goes_through_the_api_to_approved_and_the_citizen_sees_who_read_it(
        sandbox, celery_worker, live_server):
    journey = journey_to_approval(sandbox)
    application_id, number = journey.application["id"], journey.application["number"]

    # The exam results are reported to the exam system by the worker; each report is in the access log.
    def complete_log():
        entries = access_log(journey.bank, application_id)
        reports = [entry for entry in entries if entry["actor"]["kind"] == "registry"
                   and entry["purpose"] == "Reporting your exam result to the exam system"]
        return entries if len(reports) == 2 else None

    entries = wait_for(complete_log, timeout=WORKER_DEADLINE, interval=0.2, message="both exam result reports")
    assert [entry["at"] for entry in entries] == sorted(entry["at"] for entry in entries)
    assert all(entry["purpose"] and entry["what"] for entry in entries)

    registry_requests = [entry for entry in entries if entry["actor"]["kind"] == "registry"]
    assert {entry["registry"] for entry in registry_requests} >= {*CHECK_REGISTRIES, "sms"}
    reports = [entry for entry in registry_requests
               if entry["purpose"] == "Reporting your exam result to the exam system"]
    assert {entry["registry"] for entry in reports} == {"exam_attempts"}
    assert all("exam result" in entry["what"] for entry in reports)

    staff_reads = [entry for entry in entries if entry["actor"]["kind"] == "staff"]
    assert {entry["actor"]["role"] for entry in staff_reads} == {"tson_operator", "police_officer"}
    assert all(entry["purpose"] == "Handling the application" for entry in staff_reads)
    # The police read it three times at least: the queue, the filtered queue, the claim.
    assert sum(entry["actor"]["role"] == "police_officer" for entry in staff_reads) >= 3

    # The citizen heard of each booking, each result, the payment, the photo and the decision, once each, in the
    # language of the application; and of the number on submit.
    expected = expected_notices(journey)
    phone = journey.person["phone"]
    wait_for(lambda: set(expected.values()) <= set(sms_texts(sandbox, phone)), timeout=WORKER_DEADLINE,
             interval=0.2, message=f"the notices {sorted(expected)}")
    texts = sms_texts(sandbox, phone)
    assert {step: texts.count(text) for step, text in expected.items()} == dict.fromkeys(expected, 1), texts
    assert all(number in expected[step] for step in ("payment", "photo", "decision"))
    assert any(number in text and text not in expected.values() for text in texts)  # the number, on submit
