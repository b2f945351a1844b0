"""The citizen portal with Django's test client, the registries played by the live sandbox."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications.models import Application, Status
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def sign_in(client, sandbox, person, language="en"):
    response = client.post("/signin/", {"iin": person["iin"]}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302, response.content.decode()[:2000]
    code = re.search(r"\b(\d{6})\b", sandbox.sms_for(person["phone"])[0]["text"]).group(1)
    response = client.post("/signin/code/", {"code": code}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    return response


def apply_first_licence(client, sandbox, person, language="en"):
    assert client.post("/apply/first_issue/", {"categories": ["B"]}, HTTP_ACCEPT_LANGUAGE=language).status_code == 302
    response = client.post("/apply/first_issue/check/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    application = Application.objects.get(iin=person["iin"])
    code = sandbox.consent_code(person["phone"])
    response = client.post(f"/my/applications/{application.pk}/consent/", {"code": code},
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    return Application.objects.get(pk=application.pk)


def test_a_citizen_applies_consents_and_gets_a_number(client, sandbox):
    from tests.factories import CentreFactory

    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО")
    person = sandbox.add()
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    assert application.status == Status.ELIGIBLE
    assert application.channel == "portal" and application.citizen.iin == person["iin"]
    page = client.get(f"/my/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Fill in the application form" in page
    response = client.post(f"/my/applications/{application.pk}/form/",
                           {"phone": "+77010000001", "language": "kk", "pickup_tson": "ast-tson-1"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.number and application.status == Status.THEORY_EXAM
    assert application.number in client.get(f"/my/applications/{application.pk}/").content.decode()


def test_the_form_shows_an_error_summary_linking_to_the_fields(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    page = client.post(f"/my/applications/{application.pk}/form/", {"phone": "123"},
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "There is a problem" in page
    assert 'href="#id_phone"' in page and 'href="#id_pickup_tson"' in page
    assert Application.objects.get(pk=application.pk).number is None


def test_a_refusal_shows_its_step_reason_and_next_step_in_russian(client, sandbox):
    person = sandbox.add(medical_073=None)
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    sign_in(client, sandbox, person, language="ru")
    application = apply_first_licence(client, sandbox, person, language="ru")
    page = client.get(f"/my/applications/{application.pk}/").content.decode()
    assert "Шаг 7" in page and "Что можно сделать" in page


def test_the_egov_deep_link_records_the_channel(client, sandbox):
    person = sandbox.add()
    response = client.get("/apply/first_issue/?source=egov_mobile")
    assert response.status_code == 302 and "/signin/" in response["Location"]
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    assert application.channel == "egov_mobile"


def test_someone_elses_application_is_404(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    other = ApplicationFactory(citizen=UserFactory(iin="871008401427"), organisation=None, channel="portal")
    for path in ("", "consent/", "form/"):
        assert client.get(f"/my/applications/{other.pk}/{path}").status_code == 404
    assert client.post(f"/my/applications/{other.pk}/cancel/").status_code == 404
    assert Application.objects.get(pk=other.pk).status == Status.CONSENT_PENDING


def test_wrong_sign_in_codes_are_limited(client, sandbox):
    person = sandbox.add()
    client.post("/signin/", {"iin": person["iin"]})
    for _ in range(5):
        page = client.post("/signin/code/", {"code": "000000"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "no tries are left" in page
    code = re.search(r"\b(\d{6})\b", sandbox.sms_for(person["phone"])[0]["text"]).group(1)
    assert client.post("/signin/code/", {"code": code}).status_code == 200  # spent: a new code is needed
    assert "_auth_user_id" not in client.session


def test_pages_are_kazakh_by_default_and_say_who_read_the_data(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person, language="kk")
    apply_first_licence(client, sandbox, person, language="kk")
    page = client.get("/my/access-log/").content.decode()
    assert 'lang="kk"' in page
    assert "Who accessed my data" not in page
    assert page.count("<tr>") >= 9


def test_my_applications_does_not_query_per_application(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    citizen = Application.objects.none()
    from accounts.models import User

    citizen = User.objects.get(iin=person["iin"])
    ApplicationFactory(citizen=citizen, organisation=None, channel="portal", iin=person["iin"])
    with CaptureQueriesContext(connection) as few:
        client.get("/my/applications/")
    for _ in range(5):
        application = ApplicationFactory(citizen=citizen, organisation=None, channel="portal")
        Application.objects.filter(pk=application.pk)  # distinct IINs: only one active per IIN
    with CaptureQueriesContext(connection) as many:
        client.get("/my/applications/")
    assert len(many) == len(few)


def test_the_consent_page_waits_for_the_code_to_be_sent(client, sandbox, monkeypatch):
    from applications import services

    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)  # queued
    person = sandbox.add()
    sign_in(client, sandbox, person)
    client.post("/apply/first_issue/", {"categories": ["B"]})
    assert client.post("/apply/first_issue/check/").status_code == 302
    application = Application.objects.get(iin=person["iin"])
    page = client.get(f"/my/applications/{application.pk}/consent/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This page updates itself" in page and 'http-equiv="refresh"' in page
    assert 'name="code"' not in page
    page = client.post(f"/my/applications/{application.pk}/consent/", {"code": "123456"},
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The code has not been sent yet" in page
    assert Application.objects.get(pk=application.pk).status == Status.CONSENT_PENDING

    assert services.request_consent(application_id=application.pk) == "code_sent"  # the worker's turn
    page = client.get(f"/my/applications/{application.pk}/consent/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="code"' in page and 'http-equiv="refresh"' not in page
    code = sandbox.consent_code(person["phone"])
    response = client.post(f"/my/applications/{application.pk}/consent/", {"code": code})
    assert response.status_code == 302
    assert Application.objects.get(pk=application.pk).status == Status.ELIGIBLE


def test_a_refused_resend_says_why_on_the_page(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    client.post("/apply/first_issue/", {"categories": ["B"]})
    client.post("/apply/first_issue/check/")
    application = Application.objects.get(iin=person["iin"])
    page = client.post(f"/my/applications/{application.pk}/consent/", {"resend": "1"},
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "There is a problem" in page and "Please wait before asking for another code" in page
    assert 'name="code"' in page
