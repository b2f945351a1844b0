"""The TSON desk, continued: the hand-over of a printed card, and the foreign-licence exchange taken at the desk
(intake, the consent code the citizen reads out, the checks, the form and the number; the registries played by the
live sandbox)."""

import datetime
import io
import re

import pytest
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.models import Role
from applications import services
from applications.models import (
    Application,
    CardPrint,
    Channel,
    ForeignLicenceCountry,
    Licence,
    PersonalDataAccess,
    Photo,
    PhotoSource,
    Service,
    Status,
    StatusChange,
)
from applications.verification import LicenceSeal, sign
from applications.workflow import move_application
from tests.factories import ApplicationFactory, CentreFactory, StaffFactory, UserFactory, application_at_exams

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SANDBOX_DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def operator(client):
    user = StaffFactory(username="o.dana", role=Role.TSON_OPERATOR)
    client.force_login(user)
    return user


def image(width: int = 450, height: int = 600):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 160)).save(buffer, "JPEG")
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


def formalized(application: Application, *, photo_by=None) -> Application:
    """Fee paid and photo in: a photo taken at the desk (stored) when `photo_by` is given, else the registry's."""
    now = timezone.now()
    Application.objects.filter(pk=application.pk).update(fee_paid_at=now)
    if photo_by is not None:
        services.capture_photo(application=Application.objects.get(pk=application.pk), upload=image(),
                               actor=photo_by)
    else:
        Application.objects.filter(pk=application.pk).update(photo_source=PhotoSource.REGISTRY, photo_captured_at=now)
        Photo.objects.create(application_id=application.pk, source=PhotoSource.REGISTRY, taken_at=now)
        move_application(application_id=application.pk, transition="complete_formalization")
    return Application.objects.get(pk=application.pk)


def print_card(application: Application, *, number: str, replaces: Licence | None = None) -> Application:
    """The police approve and print: the licence built here as printing builds it, then `printed`."""
    officer = StaffFactory(username="p.officer", role=Role.POLICE_OFFICER)
    move_application(application_id=application.pk, transition="approve", actor=officer)
    today = timezone.localdate()
    licence = Licence.objects.create(
        number=number, application=application, iin=application.iin, categories=application.categories or ["B"],
        issued_on=today, expires_on=today + relativedelta(years=10) - datetime.timedelta(days=1),
        authority="МВД РК", surname="Сейтқали", given_names="Айгерім Бекқызы",
        birth_date=datetime.date(1987, 10, 8), replaces=replaces, replaces_number=replaces.number if replaces else "")
    seal = LicenceSeal(number=licence.number, categories=licence.categories, issued_on=licence.issued_on,
                       expires_on=licence.expires_on, surname=licence.surname, initials=licence.initials,
                       issuer=settings.LICENCE_ISSUER, key_id=settings.LICENCE_SIGNING_KEY_ID)
    CardPrint.objects.create(licence=licence, verification_code=sign(seal), key_id=settings.LICENCE_SIGNING_KEY_ID,
                             printed_by=officer)
    return move_application(application_id=application.pk, transition="mark_printed", actor=officer)


def printed_first_licence(*, number: str = "KZ0000001", photo_by=None, **fields) -> Application:
    application = application_at_exams(status="practical_exam", **fields)
    application = move_application(application_id=application.pk, transition="pass_practical_exam")
    return print_card(formalized(application, photo_by=photo_by), number=number)


def printed_replacement(old: Licence, *, number: str = "KZ0000002") -> Application:
    application = ApplicationFactory(service=Service.REPLACEMENT, replacement_reason="loss", iin=old.iin)
    for step in ("record_consent", "mark_eligible"):
        move_application(application_id=application.pk, transition=step)
    Application.objects.filter(pk=application.pk).update(
        number=services.next_application_number(), phone="+77010000001",
        pickup_tson=CentreFactory(code="pickup-tson"))
    move_application(application_id=application.pk, transition="submit")
    return print_card(formalized(application), number=number, replaces=old)


def handover(application) -> str:
    return f"/staff/desk/applications/{application.pk}/handover/"


def desk(application) -> str:
    return f"/staff/desk/applications/{application.pk}/"


def error_summary(page: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    return found.group(0) if found else ""


def reads_by(user, **filters):
    return PersonalDataAccess.objects.filter(actor_user=user, purpose="case_handling", what="application", **filters)


# --- who may use these pages -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.POLICE_OFFICER, Role.EXAMINER, Role.ADMIN, Role.CITIZEN])
def test_the_hand_over_and_exchange_pages_do_not_exist_for_other_roles(client, role):
    application = printed_first_licence()
    exchange = ApplicationFactory(service=Service.FOREIGN_EXCHANGE, channel=Channel.TSON_BRANCH, organisation=None)
    client.force_login(UserFactory(role=role, username=f"someone-{role}"))
    for url in (handover(application), "/staff/desk/exchange/new/", f"/staff/desk/exchange/{exchange.pk}/",
                f"/staff/desk/exchange/{exchange.pk}/consent/"):
        assert client.get(url).status_code == 404, url
    assert client.post(handover(application), {"identity_checked": "on"}).status_code == 404
    assert client.post("/staff/desk/exchange/new/", {"iin": "871008401427"}).status_code == 404
    assert client.post(f"/staff/desk/exchange/{exchange.pk}/consent/", {"code": "123456"}).status_code == 404
    assert Application.objects.get(pk=application.pk).status == Status.PRINTED
    assert Application.objects.count() == 2
    assert not PersonalDataAccess.objects.filter(what="application").exists()


@pytest.mark.django_db
def test_someone_not_signed_in_is_asked_to_sign_in(client):
    application = printed_first_licence()
    for url in (handover(application), "/staff/desk/exchange/new/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/staff/signin/?next="), url


@pytest.mark.django_db
def test_an_application_of_another_service_has_no_exchange_pages(client, operator):
    application = printed_first_licence()
    for url in (f"/staff/desk/exchange/{application.pk}/", f"/staff/desk/exchange/{application.pk}/consent/"):
        assert client.get(url).status_code == 404, url


# --- the hand-over -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_desk_page_of_a_printed_application_offers_the_hand_over(client, operator):
    application = printed_first_licence()
    page = client.get(desk(application), **EN).content.decode()
    assert 'data-testid="nothing-to-do"' not in page
    assert f'href="{handover(application)}"' in page and "Hand over the card" in page
    assert 'href="/staff/desk/exchange/new/"' in page


@pytest.mark.django_db
def test_the_hand_over_page_shows_the_photo_and_the_licence_and_logs_the_read(client, operator):
    application = printed_first_licence(number="KZ0004242", photo_by=operator, categories=("B", "BE"))
    response = client.get(handover(application), **EN)
    page = response.content.decode()
    assert response.status_code == 200 and page.count("<h1") == 1
    photo = Photo.objects.get(application=application)
    assert f'src="{desk(application)}photo.jpg?v={photo.pk}"' in page
    assert "KZ0004242" in page and "Сейтқали" in page and "Айгерім Бекқызы" in page and "B, BE" in page
    assert 'type="checkbox" name="identity_checked"' in page and "I checked the holder&#x27;s identity document" in page
    assert 'aria-describedby="id_identity_checked_helptext"' in page
    assert reads_by(operator, application=application).count() == 1
    assert client.get(f"{desk(application)}photo.jpg").status_code == 200  # the photo view it links to


@pytest.mark.django_db
def test_handing_over_needs_the_identity_box(client, operator):
    application = printed_first_licence()
    response = client.post(handover(application), {}, **EN)
    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert "Confirm that you checked the holder&#x27;s identity document." in summary
    assert 'href="#id_identity_checked"' in summary
    assert Application.objects.get(pk=application.pk).status == Status.PRINTED


@pytest.mark.django_db
def test_handing_over_a_printed_card_issues_it(client, operator):
    application = printed_first_licence(number="KZ0000777")
    response = client.post(handover(application), {"identity_checked": "on"}, **EN)
    assert response.status_code == 302 and response["Location"] == handover(application)
    application.refresh_from_db()
    assert application.status == Status.ISSUED
    change = StatusChange.objects.get(application=application, to_status=Status.ISSUED)
    assert change.actor_user == operator
    assert Licence.objects.get(application=application).status == Licence.State.VALID
    page = client.get(handover(application), **EN).content.decode()
    assert "The card is handed over" in page and 'data-testid="status">Issued<' in page
    assert "Licence KZ0000777 is now with its holder." in page
    assert 'data-testid="replaced"' not in page and 'name="identity_checked"' not in page
    desk_page = client.get(desk(application), **EN).content.decode()
    assert 'data-testid="handed-over"' in desk_page


@pytest.mark.django_db
def test_handing_over_a_replacement_marks_the_old_licence_replaced(client, operator):
    first = printed_first_licence(number="KZ0000100")
    client.post(handover(first), {"identity_checked": "on"})
    old = Licence.objects.get(application=first)
    replacement = printed_replacement(old, number="KZ0000200")
    page = client.get(handover(replacement), **EN).content.decode()
    assert 'data-testid="replaces">KZ0000100<' in page and 'data-testid="registry-photo"' in page
    response = client.post(handover(replacement), {"identity_checked": "on"}, **EN)
    assert response.status_code == 302
    assert Application.objects.get(pk=replacement.pk).status == Status.ISSUED
    old.refresh_from_db()
    assert old.status == Licence.State.REPLACED and old.status_changed_at is not None
    assert Licence.objects.get(application=replacement).status == Licence.State.VALID
    page = client.get(handover(replacement), **EN).content.decode()
    assert "The old licence KZ0000100 is now replaced" in page


@pytest.mark.django_db
def test_a_hand_over_in_the_wrong_status_is_refused_with_the_pages_error(client, operator):
    application = application_at_exams()
    response = client.post(handover(application), {"identity_checked": "on"}, **EN)
    assert response.status_code == 409
    summary = error_summary(response.content.decode())
    assert "This step cannot be taken while the application is Theory exam." in summary
    assert 'href="#handover-title"' in summary
    assert Application.objects.get(pk=application.pk).status == Status.THEORY_EXAM
    response = client.post(handover(application), {}, **EN)  # the status is the reason, not the box
    assert response.status_code == 409
    summary = error_summary(response.content.decode())
    assert "cannot be taken while" in summary and "Confirm that you checked" not in summary
    response = client.get(handover(application), **EN)
    assert response.status_code == 302 and response["Location"] == desk(application)
    page = client.get(desk(application), **EN).content.decode()
    assert "Only a printed card that waits at the TSON can be handed over." in page
    assert f'href="{handover(application)}"' not in page


@pytest.mark.django_db
def test_a_second_hand_over_changes_nothing_and_says_it_was_handed_over(client, operator):
    application = printed_first_licence()
    client.post(handover(application), {"identity_checked": "on"})
    response = client.post(handover(application), {"identity_checked": "on"}, **EN)
    assert response.status_code == 302 and response["Location"] == handover(application)
    page = client.get(handover(application), **EN).content.decode()
    assert "This card is already handed over." in page
    assert StatusChange.objects.filter(application=application, to_status=Status.ISSUED).count() == 1


# --- the foreign-licence exchange: the intake --------------------------------------------------------------------


def intake(iin: str, /, **changes) -> dict:
    body = {"iin": iin, "categories": ["B"], "country": "ru", "number": "77 АВ 123456", "foreign_categories": ["B"],
            "valid_until": "20.05.2031", "language": "ru"}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


@pytest.mark.django_db
def test_the_intake_page_asks_for_the_person_and_the_foreign_licence(client, operator):
    response = client.get("/staff/desk/exchange/new/", **EN)
    page = response.content.decode()
    assert response.status_code == 200 and page.count("<h1") == 1
    for name in ("iin", "categories", "country", "number", "foreign_categories", "valid_until", "language"):
        assert f'name="{name}"' in page, name
    assert 'type="checkbox" name="categories" value="B"' in page and 'type="date"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "message", "anchor"), [
    ({"iin": "871008401428"}, "Enter a valid IIN: 12 digits with a correct check digit.", "id_iin"),
    ({"categories": None}, "Choose at least one category.", "id_categories_0"),
    ({"country": "RUS"}, "Use an ISO 3166-1 alpha-2 code.", "id_country"),
    ({"country": "1"}, "Use an ISO 3166-1 alpha-2 code.", "id_country"),
    ({"number": ""}, "Enter the number of the foreign licence.", "id_number"),
    ({"foreign_categories": None}, "Choose the categories written on the foreign licence.", "id_foreign_categories_0"),
    ({"valid_until": "30.02.2031"}, "Enter a real date, for example 31.12.2030.", "id_valid_until"),
    ({"valid_until": "2031/05/20"}, "Enter a real date, for example 31.12.2030.", "id_valid_until"),
    ({"categories": ["BE"]}, "Category BE needs category B as well.", "id_categories_0"),
])
def test_an_intake_with_a_mistake_is_refused_on_its_field(client, operator, changes, message, anchor):
    response = client.post("/staff/desk/exchange/new/", intake("871008401427", **changes), **EN)
    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert message in summary and f'href="#{anchor}"' in summary
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_an_intake_for_someone_with_an_application_in_progress_says_so(client, operator):
    existing = application_at_exams()
    response = client.post("/staff/desk/exchange/new/", intake(existing.iin), **EN)
    assert response.status_code == 400
    page = response.content.decode()
    assert "This person already has an application in progress." in error_summary(page)
    assert f'href="/staff/desk/?q={existing.iin}"' in page
    assert Application.objects.count() == 1


@SANDBOX_DB
def test_the_intake_opens_a_tson_branch_foreign_exchange_and_the_code_goes_to_the_citizen(client, operator,
                                                                                         sandbox):
    person = sandbox.add()
    response = client.post("/staff/desk/exchange/new/", intake(person["iin"]), **EN)
    assert response.status_code == 302
    application = Application.objects.get(iin=person["iin"])
    assert response["Location"] == f"/staff/desk/exchange/{application.pk}/consent/"
    assert (application.service, application.channel, application.status) == (
        Service.FOREIGN_EXCHANGE, Channel.TSON_BRANCH, Status.CONSENT_PENDING)
    assert application.created_by == operator and application.organisation is None
    assert application.categories == ["B"] and application.notify_language == "ru"
    assert application.foreign_licence == {"country": "RU", "number": "77 АВ 123456", "categories": ["B"],
                                           "valid_until": "2031-05-20"}
    assert re.fullmatch(r"\d{6}", sandbox.consent_code(person["phone"]))
    page = client.get(response["Location"], **EN).content.decode()
    assert 'name="code"' in page and "Send a new code" in page and person["iin"] in page
    assert "RU 77 АВ 123456, categories B, valid until 20.05.2031" in page
    assert reads_by(operator, application=application).count() == 1
    desk_page = client.get(desk(application), **EN).content.decode()
    assert f'href="/staff/desk/exchange/{application.pk}/"' in desk_page and "Continue the exchange intake" in desk_page


# --- the consent code, the checks, the form -----------------------------------------------------------------------


def opened(client, sandbox, **person_fields):
    person = sandbox.add(**person_fields)
    assert client.post("/staff/desk/exchange/new/", intake(person["iin"])).status_code == 302
    return person, Application.objects.get(iin=person["iin"])


@SANDBOX_DB
def test_the_code_typed_at_the_desk_moves_it_to_the_checks(client, operator, sandbox):
    person, application = opened(client, sandbox)
    consent_url = f"/staff/desk/exchange/{application.pk}/consent/"
    code = sandbox.consent_code(person["phone"])
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(consent_url, {"code": wrong}, **EN)
    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert "The code is not right. 4 tries left." in summary and 'href="#id_code"' in summary
    response = client.post(consent_url, {"code": f"{code[:3]} {code[3:]}"}, **EN)  # read out in two groups
    assert response.status_code == 302 and response["Location"] == f"/staff/desk/exchange/{application.pk}/"
    application.refresh_from_db()
    assert application.status in (Status.CHECKS_RUNNING, Status.ELIGIBLE)  # in-process, the checks run at once
    assert application.history.filter(to_status=Status.CHECKS_RUNNING, actor_user=operator).exists()
    assert client.get(consent_url).status_code == 302  # consent is given: that page leads on


@SANDBOX_DB
def test_the_consent_page_waits_while_the_code_is_being_sent(client, operator, sandbox, monkeypatch):
    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)  # queued
    person, application = opened(client, sandbox)
    consent_url = f"/staff/desk/exchange/{application.pk}/consent/"
    page = client.get(consent_url, **EN).content.decode()
    assert 'data-testid="sending"' in page and "Check again" in page
    assert 'name="code"' not in page and 'http-equiv="refresh"' not in page
    response = client.post(consent_url, {"code": "123456"}, **EN)
    assert response.status_code == 409
    assert "The code has not been sent yet." in error_summary(response.content.decode())
    assert services.request_consent(application_id=application.pk) == "code_sent"  # the worker's turn
    page = client.get(consent_url, **EN).content.decode()
    assert 'name="code"' in page and 'data-testid="sending"' not in page


@SANDBOX_DB
def test_a_new_code_asked_for_too_soon_says_why_on_the_page(client, operator, sandbox):
    person, application = opened(client, sandbox)
    sandbox.consent_code(person["phone"])
    response = client.post(f"/staff/desk/exchange/{application.pk}/consent/", {"resend": "1"}, **EN)
    assert response.status_code == 429
    assert "Please wait before asking for another code." in error_summary(response.content.decode())


@SANDBOX_DB
def test_while_a_registry_is_down_the_checks_page_says_so_and_offers_a_refresh_not_a_timed_one(client, operator,
                                                                                               sandbox):
    person, application = opened(client, sandbox, faults={"medical": "error"})
    response = client.post(f"/staff/desk/exchange/{application.pk}/consent/",
                           {"code": sandbox.consent_code(person["phone"])})
    assert response.status_code == 302
    assert Application.objects.get(pk=application.pk).status == Status.CHECKS_RUNNING
    page = client.get(response["Location"], **EN).content.decode()
    assert "The state registries are checked" in page
    assert 'data-testid="refresh"' in page and 'http-equiv="refresh"' not in page and "hx-trigger" not in page
    assert re.search(r'data-registry="medical" data-outcome="error">.*?Not answering: asked again automatically',
                     page, re.S)
    assert 'data-registry="person" data-outcome="passed"' in page
    assert 'data-registry="driving_school"' not in page  # a foreign exchange asks no driving school
    assert 'name="phone"' not in page

    sandbox.update(person, faults={})
    services.run_checks(application.pk)  # the sweep's turn
    page = client.get(response["Location"], **EN).content.decode()
    assert "Every check passed" in page and 'name="phone"' in page


@SANDBOX_DB
def test_a_refusal_shows_which_step_refused_and_why(client, operator, sandbox):
    person, application = opened(client, sandbox, medical_073=None)
    response = client.post(f"/staff/desk/exchange/{application.pk}/consent/",
                           {"code": sandbox.consent_code(person["phone"])})
    assert response.status_code == 302
    assert Application.objects.get(pk=application.pk).status == Status.REFUSED
    page = client.get(response["Location"], **EN).content.decode()
    assert "The application is refused" in page
    assert "Step 7, Medical certificate 073/у (Ministry of Health)" in page
    assert "there is no valid medical certificate 073/у" in page.lower()
    assert 'data-outcome="failed"' in page and 'href="/staff/desk/exchange/new/"' in page


@SANDBOX_DB
@pytest.mark.parametrize(("theory_exam_required", "status", "next_step"), [
    (None, Status.THEORY_EXAM, "starting with the theory exam"),
    (False, Status.FORMALIZATION, "take the state fee and the photo at the desk now"),
])
def test_after_eligible_the_form_gives_a_number_and_says_what_comes_next(client, operator, sandbox,
                                                                        theory_exam_required, status, next_step):
    if theory_exam_required is not None:
        ForeignLicenceCountry.objects.create(country="RU", theory_exam_required=theory_exam_required)
    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", offers_tson=True)
    person, application = opened(client, sandbox)
    client.post(f"/staff/desk/exchange/{application.pk}/consent/", {"code": sandbox.consent_code(person["phone"])})
    assert Application.objects.get(pk=application.pk).status == Status.ELIGIBLE
    url = f"/staff/desk/exchange/{application.pk}/"
    page = client.get(url, **EN).content.decode()
    assert 'name="phone"' in page and 'name="pickup_tson"' in page and 'name="language"' in page
    assert "Every check passed" in page

    response = client.post(url, {"phone": "123"}, **EN)
    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert "Enter the phone as +7 and 10 digits." in summary and 'href="#id_phone"' in summary

    response = client.post(url, {"phone": "+77010000001", "language": "ru", "pickup_tson": "ast-tson-1"}, **EN)
    assert response.status_code == 302 and response["Location"] == url
    application.refresh_from_db()
    assert application.status == status and re.fullmatch(r"DL-\d{4}-\d{6}", application.number)
    assert (application.phone, application.language, application.pickup_tson.code) == (
        "+77010000001", "ru", "ast-tson-1")
    page = client.get(url, **EN).content.decode()
    assert f'data-testid="number">{application.number}<' in page and next_step in page
    assert page.count("<h1") == 1
