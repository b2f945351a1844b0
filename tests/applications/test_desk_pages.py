"""The TSON operator's desk: finding an application, the fee at the desk, the photo upload, and the photo view."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from accounts.models import Role
from applications.models import (
    Application,
    Payment,
    PersonalDataAccess,
    Photo,
    PhotoSource,
    Service,
    ServicePolicy,
    Status,
)
from applications.workflow import move_application
from tests.factories import (
    ApplicationFactory,
    CentreFactory,
    OrganisationFactory,
    StaffFactory,
    UserFactory,
    api_key_for,
    application_at_exams,
)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def operator(client):
    user = StaffFactory(username="o.dana", role=Role.TSON_OPERATOR)
    client.force_login(user)
    return user


def in_formalization(**fields) -> Application:
    """A first licence past both exams: the fee and the photo are what it waits for."""
    application = application_at_exams(status="practical_exam", **fields)
    return move_application(application_id=application.pk, transition="pass_practical_exam")


def replacement_with_registry_photo() -> Application:
    application = ApplicationFactory(service=Service.REPLACEMENT, replacement_reason="loss")
    for step in ("record_consent", "mark_eligible"):
        move_application(application_id=application.pk, transition=step)
    now = timezone.now()
    Application.objects.filter(pk=application.pk).update(
        number="DL-2026-900001", phone="+77010000001", pickup_tson=CentreFactory(code="pickup-tson"),
        photo_source=PhotoSource.REGISTRY, photo_captured_at=now)
    Photo.objects.create(application_id=application.pk, source=PhotoSource.REGISTRY, taken_at=now)
    return move_application(application_id=application.pk, transition="submit")


def cancelled(iin: str) -> Application:
    """An earlier application of the same person, cancelled (one IIN has one active application at most)."""
    return ApplicationFactory(iin=iin, status=Status.CANCELLED)


def image(width: int = 450, height: int = 600, image_format: str = "JPEG", name: str = "photo.jpg"):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 160)).save(buffer, image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{image_format.lower()}")


def desk(application) -> str:
    return f"/staff/desk/applications/{application.pk}/"


def reads_by(user, what="application", **filters):
    return PersonalDataAccess.objects.filter(actor_user=user, purpose="case_handling", what=what, **filters)


def error_summary(page: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    return found.group(0) if found else ""


# --- who may use the desk ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.POLICE_OFFICER, Role.EXAMINER, Role.ADMIN, Role.CITIZEN])
def test_the_desk_pages_do_not_exist_for_other_roles(client, role):
    application = in_formalization()
    client.force_login(UserFactory(role=role, username=f"someone-{role}"))
    for url in ("/staff/desk/", f"/staff/desk/?q={application.number}", desk(application),
                f"{desk(application)}photo/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{desk(application)}fee/", {"receipt": "R-1"}).status_code == 404
    assert client.post(f"{desk(application)}photo/", {"photo": image()}).status_code == 404
    assert not Payment.objects.exists() and not Photo.objects.exists()
    assert not PersonalDataAccess.objects.filter(what="application").exists()


def test_someone_not_signed_in_is_asked_to_sign_in(client):
    application = in_formalization()
    for url in ("/staff/desk/", desk(application), f"{desk(application)}photo/", f"{desk(application)}photo.jpg"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/staff/signin/?next="), url


def test_the_operator_home_links_to_the_desk(client, operator):
    assert 'href="/staff/desk/"' in client.get("/staff/", **EN).content.decode()


# --- finding an application ----------------------------------------------------------------------------------


def test_finding_by_number_lists_the_application_and_logs_the_read(client, operator):
    application = in_formalization()
    other = in_formalization()
    response = client.get(f"/staff/desk/?q={application.number.lower()}", **EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'data-application="([0-9a-f-]+)"', page) == [str(application.pk)]
    assert application.iin in page and other.iin not in page
    assert f'href="{desk(application)}"' in page
    assert list(reads_by(operator, role=Role.TSON_OPERATOR).values_list("application_id", flat=True)) == [
        application.pk]


def test_finding_by_iin_lists_every_application_of_that_person_newest_first(client, operator):
    current = in_formalization()
    older = cancelled(current.iin)
    Application.objects.filter(pk=older.pk).update(created_at=timezone.now() - timezone.timedelta(days=30))
    someone_else = in_formalization()
    page = client.get(f"/staff/desk/?q={current.iin[:6]} {current.iin[6:]}", **EN).content.decode()
    assert re.findall(r'data-application="([0-9a-f-]+)"', page) == [str(current.pk), str(older.pk)]
    assert "Without a number yet" in page and "Cancelled" in page
    assert someone_else.iin not in page
    assert sorted(reads_by(operator).values_list("application_id", flat=True)) == sorted([current.pk, older.pk])


def test_a_search_that_finds_nothing_says_so_and_logs_nothing(client, operator):
    page = client.get("/staff/desk/?q=DL-2026-123456", **EN).content.decode()
    assert 'data-testid="nothing-found"' in page and "No application has this number." in page
    page = client.get("/staff/desk/?q=871008401427", **EN).content.decode()
    assert "No application has this IIN." in page
    assert not reads_by(operator).exists()


@pytest.mark.parametrize(("query", "message"), [
    ("", "Enter an application number or an IIN."),
    ("871008401428", "This IIN is not valid: check its digits."),
    ("DL-26-1", "Enter an application number such as DL-2026-000001, or an IIN of 12 digits."),
])
def test_a_search_that_is_not_a_number_or_an_iin_is_an_error_on_the_field(client, operator, query, message):
    response = client.get(f"/staff/desk/?q={query}", **EN)
    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert message in summary and 'href="#id_q"' in summary


def test_the_search_list_makes_the_same_queries_for_one_application_or_many(client, operator):
    current = in_formalization()
    client.get(f"/staff/desk/?q={current.iin}")
    with CaptureQueriesContext(connection) as one:
        assert client.get(f"/staff/desk/?q={current.iin}").status_code == 200
    for _ in range(4):
        cancelled(current.iin)
    with CaptureQueriesContext(connection) as many:
        page = client.get(f"/staff/desk/?q={current.iin}").content.decode()
    assert page.count('data-testid="result"') == 5
    assert len(many) == len(one), [query["sql"] for query in many]
    # The session and the user, the applications, one insert for the access log, the session saved (a savepoint).
    assert len(many) <= 7, "\n".join(query["sql"][:150] for query in many)


# --- the desk page and the fee ---------------------------------------------------------------------------------


def test_the_desk_page_shows_the_application_and_the_unpaid_fee_and_logs_the_read(client, operator):
    application = in_formalization(categories=("B", "BE"))
    response = client.get(desk(application), **EN)
    page = response.content.decode()
    assert response.status_code == 200 and page.count("<h1") == 1
    assert application.number in page and application.iin in page and "B, BE" in page
    assert "First driving licence" in page and "State fee and photo" in page
    assert f"{ServicePolicy.current_fee_kzt()} tenge" in page and "Not paid" in page
    assert 'name="receipt"' in page and "Take the fee at the desk" in page
    assert 'data-testid="no-photo"' in page and f'href="{desk(application)}photo/"' in page
    assert reads_by(operator, application=application).count() == 1


def test_a_fee_without_a_receipt_number_is_refused_on_the_field(client, operator):
    application = in_formalization()
    response = client.post(f"{desk(application)}fee/", {"receipt": "  "}, **EN)
    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert "Enter the receipt number." in summary and 'href="#id_receipt"' in summary
    assert not Payment.objects.exists()


def test_the_fee_at_the_desk_is_recorded_with_its_receipt(client, operator):
    application = in_formalization()
    response = client.post(f"{desk(application)}fee/", {"receipt": " KZ-0042-7781 "}, **EN)
    assert response.status_code == 302 and response["Location"] == desk(application)
    payment = Payment.objects.get(application=application)
    assert (payment.method, payment.status, payment.receipt, payment.taken_by) == (
        Payment.Method.DESK, Payment.State.PAID, "KZ-0042-7781", operator)
    assert payment.amount_kzt == ServicePolicy.current_fee_kzt()
    page = client.get(desk(application), **EN).content.decode()
    assert "is paid at the desk, receipt KZ-0042-7781" in page
    assert "KZ-0042-7781" in page and "At a TSON desk" in page and 'name="receipt"' not in page
    assert Application.objects.get(pk=application.pk).status == Status.FORMALIZATION  # the photo is still missing


def test_a_second_fee_at_the_desk_is_refused_with_the_pages_error(client, operator):
    application = in_formalization()
    client.post(f"{desk(application)}fee/", {"receipt": "R-1"})
    response = client.post(f"{desk(application)}fee/", {"receipt": "R-2"}, **EN)
    assert response.status_code == 409
    summary = error_summary(response.content.decode())
    assert "The state fee is already paid." in summary and 'href="#fee-title"' in summary
    assert list(Payment.objects.values_list("receipt", flat=True)) == ["R-1"]


def test_the_fee_is_not_taken_before_formalization(client, operator):
    application = application_at_exams()
    page = client.get(desk(application), **EN).content.decode()
    assert 'data-testid="nothing-to-do"' in page and 'name="receipt"' not in page
    assert f'href="{desk(application)}photo/"' not in page
    response = client.post(f"{desk(application)}fee/", {"receipt": "R-1"}, **EN)
    assert response.status_code == 409 and "cannot be taken while the application is" in response.content.decode()
    assert not Payment.objects.exists()
    assert client.get(f"{desk(application)}photo/").status_code == 302


# --- the photo -----------------------------------------------------------------------------------------------


def test_the_photo_page_may_use_the_camera_and_offers_the_file_upload(client, operator):
    application = in_formalization()
    response = client.get(f"{desk(application)}photo/", **EN)
    page = response.content.decode()
    assert response.status_code == 200 and page.count("<h1") == 1
    assert "camera=(self)" in response["Permissions-Policy"]
    assert "<video" in page and "/static/js/desk-camera.js" in page and "<script>" not in page
    assert 'type="file"' in page and 'accept="image/jpeg,image/png"' in page and 'enctype="multipart/form-data"' in page
    assert application.iin not in page and not reads_by(operator).exists()
    assert "camera=()" in client.get("/staff/desk/")["Permissions-Policy"]  # only the photo page opts in


def test_an_uploaded_photo_is_stored_and_the_operator_goes_back_to_the_desk(client, operator):
    application = in_formalization()
    upload = image(450, 600)
    response = client.post(f"{desk(application)}photo/", {"photo": upload}, **EN)
    assert response.status_code == 302 and response["Location"] == desk(application)
    photo = Photo.objects.get(application=application)
    assert (photo.source, photo.content_type, photo.width, photo.height, photo.taken_by) == (
        PhotoSource.TSON, "image/jpeg", 450, 600, operator)
    assert Application.objects.get(pk=application.pk).photo_source == PhotoSource.TSON
    page = client.get(desk(application), **EN).content.decode()
    assert "The photo is saved." in page and "gone to a police officer" not in page
    assert f'src="{desk(application)}photo.jpg?v={photo.pk}"' in page and "Take a new photo" in page


def test_a_png_photo_is_accepted(client, operator):
    application = in_formalization()
    response = client.post(f"{desk(application)}photo/", {"photo": image(450, 600, "PNG", "photo.png")})
    assert response.status_code == 302
    assert Photo.objects.get(application=application).content_type == "image/png"


@pytest.mark.parametrize(("upload", "reason"), [
    (lambda: image(600, 450), "The photo must be portrait: taller than it is wide."),
    (lambda: image(300, 400), "The photo must be at least 413×531 pixels; this one is 300×400."),
    (lambda: SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg"),
     "The file is not a JPEG or PNG image."),
    (lambda: image(450, 600, "GIF", "photo.jpg"), "The photo must be a JPEG or PNG image."),
    (lambda: None, "Take the photo with the camera, or choose a photo file."),
])
def test_an_invalid_photo_is_refused_with_the_reason_in_the_error_summary(client, operator, upload, reason):
    application = in_formalization()
    file = upload()
    response = client.post(f"{desk(application)}photo/", {"photo": file} if file else {}, **EN)
    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert reason in summary and 'href="#id_photo"' in summary
    assert not Photo.objects.exists()
    assert Application.objects.get(pk=application.pk).photo_source == ""


def test_a_photo_over_10_mb_is_refused_before_it_is_read(client, operator):
    application = in_formalization()
    huge = SimpleUploadedFile("photo.jpg", b"\xff" * (10 * 1024 * 1024 + 100 * 1024), content_type="image/jpeg")
    response = client.post(f"{desk(application)}photo/", {"photo": huge}, **EN)
    assert response.status_code == 413
    assert "The photo is larger than 10 MB." in error_summary(response.content.decode())
    assert not Photo.objects.exists()


def test_the_photo_upload_is_protected_against_cross_site_requests(operator):
    application = in_formalization()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post(f"{desk(application)}photo/", {"photo": image()}).status_code == 403
    assert not Photo.objects.exists()


@pytest.mark.parametrize("photo_first", [True, False])
def test_the_application_goes_to_review_once_fee_and_photo_are_in(client, operator, photo_first):
    application = in_formalization()
    # The message is written in the language of the step's request.
    steps = [lambda: client.post(f"{desk(application)}photo/", {"photo": image()}, **EN),
             lambda: client.post(f"{desk(application)}fee/", {"receipt": "R-77"}, **EN)]
    for step in steps if photo_first else reversed(steps):
        assert step().status_code == 302
    assert Application.objects.get(pk=application.pk).status == Status.UNDER_REVIEW
    page = client.get(desk(application), **EN).content.decode()
    assert "gone to a police officer for review" in page and "Under police review" in page
    assert 'name="receipt"' not in page and f'href="{desk(application)}photo/"' not in page


def test_a_replacement_using_the_registry_photo_says_so(client, operator):
    application = replacement_with_registry_photo()
    assert application.status == Status.FORMALIZATION
    page = client.get(desk(application), **EN).content.decode()
    assert 'data-testid="registry-photo"' in page and "Registry photo" in page
    assert "photo.jpg" not in page
    assert client.get(f"{desk(application)}photo.jpg").status_code == 404


# --- the photo view ------------------------------------------------------------------------------------------


def photo_taken(client, application):
    upload = image(480, 640)
    assert client.post(f"{desk(application)}photo/", {"photo": upload}).status_code == 302
    upload.seek(0)
    return upload.read()


def test_the_photo_view_serves_the_bytes_uncached_and_logs_each_view(client, operator):
    application = in_formalization()
    stored = photo_taken(client, application)
    before = reads_by(operator, application=application, what="photo").count()
    for expected in (1, 2):
        response = client.get(f"{desk(application)}photo.jpg")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == stored
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, no-store"
        assert reads_by(operator, application=application, what="photo").count() == before + expected


def test_a_police_officer_may_view_the_photo_and_the_view_is_logged(client, operator):
    application = in_formalization()
    stored = photo_taken(client, application)
    officer = StaffFactory(username="p.arman", role=Role.POLICE_OFFICER)
    police = Client()
    police.force_login(officer)
    response = police.get(f"{desk(application)}photo.jpg")
    assert response.status_code == 200 and b"".join(response.streaming_content) == stored
    assert reads_by(officer, application=application, role=Role.POLICE_OFFICER, what="photo").count() == 1


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.EXAMINER, Role.ADMIN])
def test_other_roles_get_404_from_the_photo_view(client, operator, role):
    application = in_formalization()
    photo_taken(client, application)
    someone = Client()
    someone.force_login(UserFactory(role=role, username=f"someone-{role}"))
    assert someone.get(f"{desk(application)}photo.jpg").status_code == 404


def test_a_bank_channel_gets_no_photo(client, operator):
    application = in_formalization()
    photo_taken(client, application)
    key = api_key_for(OrganisationFactory())
    response = Client().get(f"{desk(application)}photo.jpg", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 302 and response["Location"].startswith("/staff/signin/")
    assert not PersonalDataAccess.objects.filter(application=application, actor_kind="channel").exists()


def test_the_photo_view_is_404_without_a_photo(client, operator):
    application = in_formalization()
    assert client.get(f"{desk(application)}photo.jpg").status_code == 404
    assert not reads_by(operator).exists()
