"""Formalisation in API v1 (shared/api-v1.md): the online payment, the desk payment and the photo. Shapes, every error
code, `409 wrong_status` out of order, `404` for each role outside its rights, and the move to `under_review` once
both the fee and the photo are in, whichever came last.

Online payments go to the sandbox's payment provider over real HTTP (the `sandbox` fixture), so those tests run on
the live server (transactional, with the seeded policy kept by serialized_rollback); the rest run in a transaction.
"""

import io
import random
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import IdempotencyRecord, Role
from applications.models import Application, Payment, Photo, StatusChange
from applications.workflow import move_application
from tests.factories import OrganisationFactory, StaffFactory, api_key_for, application_at_exams
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

FEE_2026 = 5406
PAYMENT_KEYS = {"id", "amount_kzt", "status", "pay_url"}
ONLINE = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """The notices queued after each commit (task name and arguments), recorded instead of sent."""
    jobs = []
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: jobs.append((task_name, args)))
    return jobs


# --- callers --------------------------------------------------------------------------------------------------


def client_for(organisation, **headers) -> APIClient:
    client = APIClient(**headers)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(organisation)}")
    return client


def staff_client(role, **headers) -> APIClient:
    client = APIClient(**headers)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=StaffFactory(role=role)).key}")
    return client


def operator(**headers) -> APIClient:
    return staff_client(Role.TSON_OPERATOR, **headers)


def caller(name: str, application) -> APIClient:
    """`owner`: the application's channel; `other_organisation`: another channel's key; or staff of a role."""
    if name == "owner":
        return client_for(application.organisation)
    if name == "other_organisation":
        return client_for(OrganisationFactory())
    return staff_client({"tson_operator": Role.TSON_OPERATOR, "police_officer": Role.POLICE_OFFICER,
                         "examiner": Role.EXAMINER}[name])



# --- the world ------------------------------------------------------------------------------------------------


def in_formalization(**fields) -> Application:
    """Submitted, with any exams passed (a first issue by default): the fee and the photo are outstanding."""
    fields.setdefault("organisation", OrganisationFactory())
    application = application_at_exams(status="theory_exam", **fields)
    for step in ("pass_theory_exam", "pass_practical_exam"):
        if application.status != "formalization":
            application = move_application(application_id=application.pk, transition=step)
    assert application.status == "formalization"
    return Application.objects.get(pk=application.pk)


def image_bytes(size=(450, 600), image_format="JPEG", mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=(200, 180, 160) if mode == "RGB" else 128).save(buffer, image_format)
    return buffer.getvalue()


def jpeg(size=(450, 600), name="photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(size), content_type="image/jpeg")


def payments_url(application) -> str:
    return f"/api/v1/applications/{application.pk}/payments"


def desk_url(application) -> str:
    return f"/api/v1/applications/{application.pk}/payments/desk"


def photo_url(application) -> str:
    return f"/api/v1/applications/{application.pk}/photo"


def pay(client, application, body=None, *, key: str | None = None, **headers):
    """POST /payments with a fresh Idempotency-Key unless one is given (key="" sends none)."""
    key = str(uuid.uuid4()) if key is None else key
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(payments_url(application), body, format="json", **headers)


def pay_at_desk(client, application, receipt="R-000123"):
    return client.post(desk_url(application), {"receipt": receipt} if receipt is not None else {}, format="json")


def put_photo(client, application, upload):
    return client.put(photo_url(application), {"photo": upload}, format="multipart")


def application_json(application) -> dict:
    response = client_for(application.organisation).get(f"/api/v1/applications/{application.pk}")
    assert response.status_code == 200, response.content
    return response.json()


def moves_to_under_review(application) -> int:
    return StatusChange.objects.filter(application=application, to_status="under_review").count()


def notices(queued, event: str) -> list:
    return [args for task, args in queued if task == "applications.tasks.notify_citizen" and args[1] == event]


def decide_at_provider(pay_url: str, outcome: str) -> dict:
    """The contract's `POST <pay_url>`: the sandbox provider decides and sends its signed callback at once."""
    response = httpx.post(pay_url, json={"outcome": outcome}, timeout=20)
    assert response.status_code == 200, response.text
    return response.json()


# --- online payment -------------------------------------------------------------------------------------------


@ONLINE
def test_a_payment_is_created_201_with_the_contracts_shape_and_an_absolute_pay_url(sandbox):
    application = in_formalization()
    response = pay(client_for(application.organisation), application)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= PAYMENT_KEYS
    assert (body["amount_kzt"], body["status"]) == (FEE_2026, "pending")
    url = urlsplit(body["pay_url"])
    assert url.scheme in ("http", "https") and url.netloc, body["pay_url"]
    payment = Payment.objects.get(application=application)
    assert (str(payment.pk), payment.method, payment.amount_kzt) == (body["id"], "online", FEE_2026)
    assert application_json(application)["fee"] == {"amount_kzt": FEE_2026, "paid": False}


@ONLINE
def test_an_amount_sent_with_the_payment_request_is_ignored(sandbox):
    application = in_formalization()
    response = pay(client_for(application.organisation), application, {"amount_kzt": 1, "amount": 1})
    assert response.status_code == 201, response.content
    assert response.json()["amount_kzt"] == FEE_2026
    assert Payment.objects.get(application=application).amount_kzt == FEE_2026


@ONLINE
def test_asking_again_while_a_payment_is_pending_answers_the_same_payment(sandbox):
    application = in_formalization()
    client = client_for(application.organisation)
    first, second = pay(client, application), pay(client, application)
    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["pay_url"] == second.json()["pay_url"]
    assert Payment.objects.filter(application=application).count() == 1


def test_a_channel_client_without_an_idempotency_key_gets_400_idempotency_key_missing():
    application = in_formalization()
    body = assert_problem(pay(client_for(application.organisation), application, key=""), 400,
                          "idempotency_key_missing")
    assert "Idempotency-Key" in body["detail"]
    assert not Payment.objects.filter(application=application).exists()


@ONLINE
def test_the_same_idempotency_key_replays_the_first_answer_and_asks_the_provider_once(sandbox):
    person = sandbox.add()
    application = in_formalization(iin=person["iin"])
    client = client_for(application.organisation)
    first, again = pay(client, application, key="pay-once"), pay(client, application, key="pay-once")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Payment.objects.filter(application=application).count() == 1
    provider_calls = [call for call in sandbox.requests_for(person["iin"]) if call["registry"] == "payment"]
    assert len(provider_calls) == 1, provider_calls
    assert IdempotencyRecord.objects.filter(key="pay-once").count() == 1


@ONLINE
def test_the_same_idempotency_key_with_another_body_is_422_idempotency_key_reused(sandbox):
    application = in_formalization()
    client = client_for(application.organisation)
    assert pay(client, application, key="pay-reused").status_code == 201
    assert_problem(pay(client, application, {"amount_kzt": 1}, key="pay-reused"), 422, "idempotency_key_reused")


def test_a_payment_before_formalization_is_409_wrong_status():
    application = application_at_exams(status="practical_exam", organisation=OrganisationFactory())
    body = assert_problem(pay(client_for(application.organisation), application), 409, "wrong_status")
    assert body.get("current_status") in (None, "practical_exam")
    assert not Payment.objects.filter(application=application).exists()


def test_a_payment_after_the_fee_is_paid_is_409_wrong_status():
    application = in_formalization()
    assert pay_at_desk(operator(), application).status_code == 200
    assert_problem(pay(client_for(application.organisation), application), 409, "wrong_status")
    assert list(Payment.objects.filter(application=application).values_list("method", flat=True)) == ["desk"]


@pytest.mark.parametrize("who", ["other_organisation", "police_officer", "examiner", "tson_operator"])
def test_a_payment_by_a_caller_outside_its_rights_is_404(who):
    application = in_formalization()
    client = caller(who, application)
    assert_problem(pay(client, application), 404, "not_found")
    assert not Payment.objects.filter(application=application).exists()


@ONLINE
def test_a_payment_the_provider_fails_to_create_is_503_and_the_next_ask_completes_the_same_payment(sandbox):
    person = sandbox.add(faults={"payment": "error"})
    application = in_formalization(iin=person["iin"])
    client = client_for(application.organisation)
    response = pay(client, application, key="pay-when-down", HTTP_ACCEPT_LANGUAGE="en")
    assert_problem(response, 503, "registry_unavailable")
    kept = Payment.objects.get(application=application)  # pending, with no page yet: nothing to pay
    assert (kept.status, kept.pay_url) == ("pending", "")
    assert application_json(application)["fee"]["paid"] is False
    sandbox.update(next(p for p in sandbox.citizens if p["iin"] == person["iin"]), faults={})
    again = pay(client, application, key="pay-when-back")
    assert again.status_code == 201, again.content
    assert again.json()["id"] == str(kept.pk) and again.json()["pay_url"].startswith("http")


@ONLINE
def test_paying_at_the_providers_page_marks_the_applications_fee_paid(sandbox, queued):
    application = in_formalization()
    created = pay(client_for(application.organisation), application).json()
    answer = decide_at_provider(created["pay_url"], "success")
    assert answer["callback_status"] == 200, answer
    payment = Payment.objects.get(pk=created["id"])
    assert (payment.status, payment.decided_at is not None) == ("paid", True)
    body = application_json(application)
    assert body["fee"] == {"amount_kzt": FEE_2026, "paid": True}
    assert body["status"] == "formalization"  # the photo is still outstanding
    assert len(notices(queued, "fee_paid")) == 1


@ONLINE
def test_a_declined_payment_leaves_the_fee_unpaid_and_a_new_payment_can_be_created(sandbox, queued):
    application = in_formalization()
    client = client_for(application.organisation)
    declined = pay(client, application).json()
    assert decide_at_provider(declined["pay_url"], "decline")["callback_status"] == 200
    assert Payment.objects.get(pk=declined["id"]).status == "declined"
    assert application_json(application)["fee"]["paid"] is False
    assert len(notices(queued, "fee_declined")) == 1
    retry = pay(client, application)
    assert retry.status_code == 201, retry.content
    assert retry.json()["id"] != declined["id"]
    assert retry.json()["status"] == "pending" and retry.json()["pay_url"] != declined["pay_url"]
    decide_at_provider(retry.json()["pay_url"], "success")
    assert application_json(application)["fee"]["paid"] is True
    assert sorted(Payment.objects.filter(application=application).values_list("status", flat=True)) == \
        ["declined", "paid"]


@ONLINE
def test_a_tson_operator_pays_online_for_a_branch_application_without_an_idempotency_key(sandbox):
    application = in_formalization(channel="tson_branch", service="foreign_exchange")
    response = pay(operator(), application, key="")
    assert response.status_code == 201, response.content
    assert response.json()["amount_kzt"] == FEE_2026


# --- desk payment ---------------------------------------------------------------------------------------------


def test_a_desk_payment_by_a_tson_operator_is_200_with_its_receipt(queued, django_capture_on_commit_callbacks):
    application = in_formalization()
    client = operator()
    with django_capture_on_commit_callbacks(execute=True):
        response = pay_at_desk(client, application, receipt="KASPI-0042")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= PAYMENT_KEYS
    assert (body["amount_kzt"], body["status"], body.get("receipt")) == (FEE_2026, "paid", "KASPI-0042")
    payment = Payment.objects.get(application=application)
    assert (payment.method, payment.receipt, payment.status) == ("desk", "KASPI-0042", "paid")
    assert payment.taken_by is not None and payment.taken_by.role == Role.TSON_OPERATOR
    assert application_json(application)["fee"]["paid"] is True
    assert len(notices(queued, "fee_paid")) == 1


def test_a_desk_payment_without_a_receipt_is_400_missing_field():
    application = in_formalization()
    body = assert_problem(pay_at_desk(operator(), application, receipt=None), 400, "missing_field")
    assert "receipt" in body["errors"]
    assert not Payment.objects.filter(application=application).exists()


def test_a_second_desk_payment_is_409_wrong_status():
    application = in_formalization()
    client = operator()
    assert pay_at_desk(client, application).status_code == 200
    assert_problem(pay_at_desk(client, application, receipt="R-2"), 409, "wrong_status")
    assert Payment.objects.filter(application=application).count() == 1


def test_a_desk_payment_outside_formalization_is_409_wrong_status():
    application = application_at_exams(status="practical_exam", organisation=OrganisationFactory())
    assert_problem(pay_at_desk(operator(), application), 409, "wrong_status")


@ONLINE
def test_a_desk_payment_declines_a_pending_online_payment(sandbox):
    application = in_formalization()
    online = pay(client_for(application.organisation), application).json()
    assert pay_at_desk(operator(), application).status_code == 200
    assert Payment.objects.get(pk=online["id"]).status == "declined"
    assert Payment.objects.filter(application=application, status="paid").count() == 1


@pytest.mark.parametrize("who", ["owner", "police_officer", "examiner"])
def test_a_desk_payment_by_a_caller_outside_its_rights_is_404(who):
    application = in_formalization()
    assert_problem(pay_at_desk(caller(who, application), application), 404, "not_found")
    assert not Payment.objects.filter(application=application).exists()


# --- photo ----------------------------------------------------------------------------------------------------


def test_a_portrait_jpeg_photo_is_200_and_the_application_shows_it_taken_at_the_tson(
        queued, django_capture_on_commit_callbacks):
    application = in_formalization()
    client = operator()
    with django_capture_on_commit_callbacks(execute=True):
        response = put_photo(client, application, jpeg())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == str(application.pk)
    assert body["photo"] == {"captured": True, "source": "tson"}
    assert body["status"] == "formalization"  # the fee is still outstanding
    photo = Photo.objects.get(application=application)
    assert (photo.content_type, photo.width, photo.height, photo.source) == ("image/jpeg", 450, 600, "tson")
    assert photo.file and photo.file.read() == image_bytes()
    assert len(notices(queued, "photo_taken")) == 1


def test_a_portrait_png_photo_is_200():
    application = in_formalization()
    upload = SimpleUploadedFile("photo.png", image_bytes(image_format="PNG"), content_type="image/png")
    response = put_photo(operator(), application, upload)
    assert response.status_code == 200, response.content
    assert Photo.objects.get(application=application).content_type == "image/png"


def test_a_png_named_jpg_is_judged_by_the_image_itself():
    application = in_formalization()
    upload = SimpleUploadedFile("photo.jpg", image_bytes(image_format="PNG"), content_type="image/jpeg")
    assert put_photo(operator(), application, upload).status_code == 200
    assert Photo.objects.get(application=application).content_type == "image/png"


INVALID_PHOTOS = {
    "landscape": (lambda: SimpleUploadedFile("photo.jpg", image_bytes((600, 450)), content_type="image/jpeg"),
                  "portrait"),
    "too_small": (lambda: SimpleUploadedFile("photo.jpg", image_bytes((400, 500)), content_type="image/jpeg"),
                  "413"),
    "not_an_image": (lambda: SimpleUploadedFile("photo.jpg", b"This is a text file, not a photo.\n" * 50,
                                                content_type="image/jpeg"), "JPEG"),
    "gif": (lambda: SimpleUploadedFile("photo.gif", image_bytes(image_format="GIF", mode="L"),
                                       content_type="image/gif"), "JPEG"),
    "over_5_mb": (lambda: SimpleUploadedFile("photo.jpg", image_bytes() + b"\0" * (6 * 1024 * 1024),
                                             content_type="image/jpeg"), "5 MB"),
    "10_mb": (lambda: SimpleUploadedFile("photo.jpg", b"\0" * (10 * 1024 * 1024), content_type="image/jpeg"),
              "5 MB"),
}


@pytest.mark.parametrize("case", list(INVALID_PHOTOS))
def test_each_unsuitable_photo_is_400_invalid_photo_with_its_reason_and_nothing_is_kept(case):
    application = in_formalization()
    make_upload, says = INVALID_PHOTOS[case]
    response = operator(HTTP_ACCEPT_LANGUAGE="en").put(photo_url(application), {"photo": make_upload()},
                                                       format="multipart")
    body = assert_problem(response, 400, "invalid_photo")
    assert says in body["detail"], body["detail"]
    assert body["errors"]["photo"]
    assert not Photo.objects.filter(application=application).exists()
    assert application_json(application)["photo"] == {"captured": False, "source": None}


def test_a_photo_of_exactly_the_minimum_size_is_200():
    application = in_formalization()
    assert put_photo(operator(), application, jpeg((413, 531))).status_code == 200


@pytest.mark.parametrize("size", [(412, 600), (450, 530), (500, 500)], ids=["narrow", "short", "square"])
def test_a_photo_just_outside_the_rules_is_400_invalid_photo(size):
    application = in_formalization()
    assert_problem(put_photo(operator(), application, jpeg(size)), 400, "invalid_photo")


def noisy_jpeg(size=(450, 600)) -> bytes:
    """A JPEG with real image data in it (noise), so that cutting it short loses most of the picture."""
    image = Image.frombytes("L", size, random.Random(7).randbytes(size[0] * size[1])).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_truncated_jpeg_is_400_invalid_photo():
    application = in_formalization()
    data = noisy_jpeg()
    upload = SimpleUploadedFile("photo.jpg", data[: len(data) // 3], content_type="image/jpeg")
    assert_problem(put_photo(operator(), application, upload), 400, "invalid_photo")
    assert not Photo.objects.filter(application=application).exists()


def test_a_body_over_10_mb_is_refused_with_invalid_photo_without_being_read(monkeypatch):
    from django.http import multipartparser

    parsed = []
    original = multipartparser.MultiPartParser.parse
    monkeypatch.setattr(multipartparser.MultiPartParser, "parse",
                        lambda self: parsed.append(True) or original(self))
    application = in_formalization()
    upload = SimpleUploadedFile("photo.jpg", image_bytes() + b"\0" * (11 * 1024 * 1024), content_type="image/jpeg")
    payload = encode_multipart(BOUNDARY, {"photo": upload})
    assert len(payload) > 11 * 1024 * 1024
    response = operator().generic("PUT", photo_url(application), payload, content_type=MULTIPART_CONTENT)
    body = assert_problem(response, 400, "invalid_photo")
    assert body["errors"]["photo"]
    assert parsed == [], "the multipart body was parsed"
    assert not Photo.objects.filter(application=application).exists()


def test_a_photo_request_without_the_photo_field_is_400_missing_field():
    application = in_formalization()
    upload = SimpleUploadedFile("photo.jpg", image_bytes(), content_type="image/jpeg")
    response = operator().put(photo_url(application), {"picture": upload}, format="multipart")
    body = assert_problem(response, 400, "missing_field")
    assert "photo" in body["errors"]


@pytest.mark.parametrize("who", ["owner", "police_officer", "examiner"])
def test_a_photo_by_a_caller_outside_its_rights_is_404(who):
    application = in_formalization()
    assert_problem(put_photo(caller(who, application), application, jpeg()), 404, "not_found")
    assert not Photo.objects.filter(application=application).exists()


def test_a_photo_outside_formalization_is_409_wrong_status():
    application = application_at_exams(status="practical_exam", organisation=OrganisationFactory())
    assert_problem(put_photo(operator(), application, jpeg()), 409, "wrong_status")
    assert not Photo.objects.filter(application=application).exists()


def test_a_photo_after_the_application_went_to_the_police_is_409_wrong_status():
    application = in_formalization()
    client = operator()
    assert put_photo(client, application, jpeg()).status_code == 200
    assert pay_at_desk(client, application).status_code == 200
    assert_problem(put_photo(client, application, jpeg()), 409, "wrong_status")
    assert Photo.objects.filter(application=application).count() == 1


# --- both in: on to the police, once --------------------------------------------------------------------------


def test_the_photo_then_the_fee_moves_the_application_to_under_review_once():
    application = in_formalization()
    client = operator()
    assert put_photo(client, application, jpeg()).json()["status"] == "formalization"
    assert moves_to_under_review(application) == 0
    assert pay_at_desk(client, application).status_code == 200
    body = application_json(application)
    assert body["status"] == "under_review"
    assert [entry["status"] for entry in body["history"]].count("under_review") == 1
    assert moves_to_under_review(application) == 1
    assert Application.objects.get(pk=application.pk).under_review_since is not None


def test_the_fee_then_the_photo_moves_the_application_to_under_review_once():
    application = in_formalization()
    client = operator()
    assert pay_at_desk(client, application).status_code == 200
    assert application_json(application)["status"] == "formalization"
    response = put_photo(client, application, jpeg())
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "under_review"
    assert [entry["status"] for entry in response.json()["history"]].count("under_review") == 1
    assert moves_to_under_review(application) == 1


@ONLINE
def test_the_photo_then_the_online_fee_moves_the_application_to_under_review_once(sandbox):
    application = in_formalization()
    assert put_photo(operator(), application, jpeg()).status_code == 200
    created = pay(client_for(application.organisation), application).json()
    decide_at_provider(created["pay_url"], "success")
    assert application_json(application)["status"] == "under_review"
    assert moves_to_under_review(application) == 1
