"""The citizen portal with Django's test client, the registries played by the live sandbox."""

import re
from html.parser import HTMLParser

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
    for path in ("", "consent/", "form/", "cancel/"):
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
    assert page.count('class="access-entry"') >= 9


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
    assert "send a code to your phone" in page and "Check again" in page
    assert 'http-equiv="refresh"' not in page  # no timed refresh (WCAG 2.2.1): the button, or htmx asking quietly
    assert 'name="code"' not in page
    poll = client.get(f"/my/applications/{application.pk}/consent/?seen=requested", HTTP_HX_REQUEST="true")
    assert poll.status_code == 204  # nothing new: the page is left as it is
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


# --- the portal as a person found it ----------------------------------------------------------------------------


class Page(HTMLParser):
    """The ids, h1s, aria-describedby references and error-summary links of one page."""

    def __init__(self, html: str):
        super().__init__()
        self.ids, self.described_by, self.summary_links, self.h1s = set(), [], [], 0
        self._in_summary = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if "aria-describedby" in attrs:
            self.described_by += attrs["aria-describedby"].split()
        if tag == "h1":
            self.h1s += 1
        if "error-summary" in (attrs.get("class") or ""):
            self._in_summary = True
        if self._in_summary and tag == "a":
            self.summary_links.append(attrs["href"])


def assert_sound(html: str) -> Page:
    """One h1; every aria-describedby and every error-summary link names an element that exists."""
    page = Page(html)
    assert page.h1s == 1, f"{page.h1s} h1 on the page"
    assert not set(page.described_by) - page.ids, set(page.described_by) - page.ids
    for href in page.summary_links:
        assert href.startswith("#") and href[1:] in page.ids, href
    return page


def citizen_of(person):
    from accounts.models import User

    return User.objects.get(iin=person["iin"])


def test_the_error_summary_of_a_checkbox_group_reaches_its_first_box(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    page = assert_sound(client.post("/apply/first_issue/", {}, HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert page.summary_links == ["#id_categories_0"]
    assert {"id_categories_error"} <= set(page.described_by)


def test_the_error_summary_of_a_radio_group_reaches_its_first_radio(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    page = assert_sound(client.post("/apply/replacement/", {}, HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert page.summary_links == ["#id_replacement_reason_0"]


def test_hints_and_errors_are_named_by_the_fields_they_describe(client, sandbox):
    from tests.factories import CentreFactory

    CentreFactory()
    person = sandbox.add()
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    page = assert_sound(client.post(f"/my/applications/{application.pk}/form/", {"phone": "1"},
                                    HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert {"id_phone_helptext", "id_phone_error", "id_language_error"} <= set(page.described_by)
    assert set(page.summary_links) == {"#id_phone", "#id_language_0", "#id_pickup_tson"}
    assert_sound(client.post("/signin/", {"iin": "1"}, HTTP_ACCEPT_LANGUAGE="en").content.decode())


def test_every_portal_page_has_one_h1(client, sandbox):
    person = sandbox.add()
    assert_sound(client.get("/").content.decode())
    assert_sound(client.get("/apply/foreign_exchange/").content.decode())
    assert_sound(client.get("/no-such-page/").content.decode())
    sign_in(client, sandbox, person)
    for path in ("/apply/first_issue/", "/apply/replacement/", "/my/applications/", "/my/access-log/"):
        assert_sound(client.get(path).content.decode())
    client.post("/apply/first_issue/", {"categories": ["B"]})
    assert_sound(client.get("/apply/first_issue/check/").content.decode())
    client.post("/apply/first_issue/check/")
    application = Application.objects.get(iin=person["iin"])
    for path in ("consent/", "", "cancel/"):
        assert_sound(client.get(f"/my/applications/{application.pk}/{path}").content.decode())


def test_categories_are_shown_with_what_they_allow(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    page = client.get("/apply/first_issue/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "B: cars up to 3,500 kg" in page and "A1: light motorcycles" in page
    client.post("/apply/first_issue/", {"categories": ["B", "BE"]})
    page = client.get("/apply/first_issue/check/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "BE: a category B car with a trailer over 750 kg" in page


def test_the_consent_text_names_only_the_registries_the_service_asks(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    client.post("/apply/replacement/", {"replacement_reason": "loss"})
    page = client.get("/apply/replacement/check/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Person registry" in page and "ERAP" in page and "Driving licence registry" in page
    assert "073" not in page and "ERDB" not in page and "Avtoshkola" not in page
    client.post("/apply/replacement/", {"replacement_reason": "expiry"})
    page = client.get("/apply/replacement/check/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "073" in page and "ERDB" in page and "Avtoshkola" not in page
    client.post("/apply/first_issue/", {"categories": ["B"]})
    page = client.get("/apply/first_issue/check/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Avtoshkola" in page and "Earlier exam attempts" in page


def test_a_replacement_form_asks_no_exam_language_and_submits(client, sandbox):
    from tests.factories import CentreFactory

    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", name_ru="ЦОН района Есиль", city_ru="Астана")
    person = sandbox.add(licence={"number": "AB123", "categories": ["B"], "issued_on": "2020-01-01",
                                  "expires_on": "2030-01-01", "status": "valid"})
    sign_in(client, sandbox, person)
    client.post("/apply/replacement/", {"replacement_reason": "loss"})
    client.post("/apply/replacement/check/")
    application = Application.objects.get(iin=person["iin"])
    client.post(f"/my/applications/{application.pk}/consent/", {"code": sandbox.consent_code(person["phone"])})
    assert Application.objects.get(pk=application.pk).status == Status.ELIGIBLE
    page = client.get(f"/my/applications/{application.pk}/form/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="id_language' not in page
    response = client.post(f"/my/applications/{application.pk}/form/",
                           {"phone": "+77010000001", "pickup_tson": "ast-tson-1"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.FORMALIZATION and application.number and application.language == ""
    page = client.get(f"/my/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Pay the state fee of" in page and "What happens next" in page


def test_the_pickup_choice_names_the_centre_in_the_reader_language_not_its_code(client, sandbox):
    from tests.factories import CentreFactory

    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", name_ru="ЦОН района Есиль",
                  name_en="Public Service Centre of Yesil District", city="Астана", city_en="Astana")
    person = sandbox.add()
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    form = f"/my/applications/{application.pk}/form/"
    english = client.get(form, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Public Service Centre of Yesil District, Astana</option>" in english
    assert "(ast-tson-1)" not in english
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert "ЦОН района Есиль, Астана</option>" in client.get(form).content.decode()
    client.post("/i18n/setlang/", {"language": "kk", "next": "/"})
    assert "Есіл ауданының ХҚКО, Астана</option>" in client.get(form).content.decode()


def test_the_api_names_centres_in_the_request_language(api_client):
    from tests.factories import CentreFactory

    CentreFactory(code="alm-spec", name="Алматы қаласы бойынша мамандандырылған ХҚКО",
                  name_ru="Специализированный ЦОН по городу Алматы", name_en="")
    names = {language: api_client.get("/api/v1/centres", HTTP_ACCEPT_LANGUAGE=language).json()["results"][0]["name"]
             for language in ("kk", "ru", "en")}
    assert names == {"kk": "Алматы қаласы бойынша мамандандырылған ХҚКО",
                     "ru": "Специализированный ЦОН по городу Алматы",
                     "en": "Алматы қаласы бойынша мамандандырылған ХҚКО"}  # no English name: the Kazakh one


def test_a_wrong_consent_code_says_how_many_tries_are_left(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    client.post("/apply/first_issue/", {"categories": ["B"]})
    client.post("/apply/first_issue/check/")
    application = Application.objects.get(iin=person["iin"])
    right = sandbox.consent_code(person["phone"])
    wrong = "000000" if right != "000000" else "111111"
    page = client.post(f"/my/applications/{application.pk}/consent/", {"code": wrong},
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "4 tries left" in page
    for _ in range(4):
        response = client.post(f"/my/applications/{application.pk}/consent/", {"code": wrong})
    assert response.status_code == 302  # the fifth: refused, and the application page says why
    application.refresh_from_db()
    assert application.status == Status.REFUSED and application.refusal_code == "consent_failed"


def test_cancelling_asks_first_and_then_cancels(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    page = client.get(f"/my/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="/my/applications/{application.pk}/cancel/"' in page
    page = client.get(f"/my/applications/{application.pk}/cancel/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Do you want to cancel the application?" in page
    assert Application.objects.get(pk=application.pk).status == Status.ELIGIBLE  # looking changed nothing
    assert client.post(f"/my/applications/{application.pk}/cancel/").status_code == 302
    assert Application.objects.get(pk=application.pk).status == Status.CANCELLED
    page = client.get(f"/my/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Withdraw my consent" not in page and "Cancel the application" not in page


def test_a_refusal_shows_every_failed_check_with_the_registry_facts(client, sandbox):
    person = sandbox.add(exam_ban={"article": "608-6", "until": "2099-12-31"},
                         licence={"number": "AB1", "categories": ["B"], "issued_on": "2020-01-01",
                                  "expires_on": "2099-01-01", "status": "valid"})
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    assert application.status == Status.REFUSED and application.refusal_code == "licence_exists"
    page = client.get(f"/my/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "you already hold a valid driving licence" in page.lower()
    assert "bars you from taking driving exams" in page and "The ban ends on 31.12.2099." in page
    assert 'href="/apply/replacement/"' in page
    assert page.count("Not asked") == 4 and "Pending" not in page  # phase 2 was never reached
    assert "Withdraw my consent" not in page and "Cancel the application" not in page


def test_an_underage_refusal_names_the_category_and_its_age(client, sandbox):
    person = sandbox.add(birth_date="2012-05-05")
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    assert application.refusal_code == "underage"
    check = application.checks.get(registry="person")
    assert check.facts["underage"] == [{"category": "B", "minimum_age": 18}] and "birth_date" not in check.facts
    page = client.get(f"/my/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Category B is issued from the age of 18." in page


def test_while_a_registry_is_down_the_page_says_since_when_and_the_sms_comes(client, sandbox):
    from applications.services import checks

    person = sandbox.add(faults={"erap": "error"})
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    assert application.status == Status.CHECKS_RUNNING
    erap = application.checks.get(registry="erap")
    assert erap.outcome == "error" and erap.facts["unavailable_since"]
    page = client.get(f"/my/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "has not been answering since" in page
    assert "You may close this page: we will send you an SMS when the checks are done." in page
    assert "Check again" in page and 'http-equiv="refresh"' not in page
    before = len(sandbox.sms_for(person["phone"]))

    sandbox.update(person, faults={})
    assert checks.run_checks(application.pk) == checks.ELIGIBLE  # the sweep's (or the retry's) turn
    messages = sandbox.sms_for(person["phone"])
    assert len(messages) == before + 1 and "every check passed" in messages[0]["text"].lower()


def test_the_status_poll_answers_204_until_something_changes(client, sandbox):
    person = sandbox.add(faults={"erap": "error"})
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    page = client.get(f"/my/applications/{application.pk}/").content.decode()
    version = re.search(r"\?seen=([0-9a-f]+)", page).group(1)
    url = f"/my/applications/{application.pk}/?seen={version}"
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 204
    Application.objects.filter(pk=application.pk).update(status=Status.CANCELLED)
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="status-news"' in response.content.decode()


def test_a_bank_application_for_the_citizen_is_theirs_to_read_but_its_steps_stay_with_the_bank(client, sandbox,
                                                                                              api_client):
    import uuid

    from tests.factories import OrganisationFactory, api_key_for

    person = sandbox.add()
    bank = OrganisationFactory(name="Halyk Bank")
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(bank)}")
    created = api_client.post("/api/v1/applications", {"service": "first_issue", "iin": person["iin"],
                                                       "categories": ["B"]},
                              format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    sign_in(client, sandbox, person)
    listing = client.get("/my/applications/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"/my/applications/{pk}/" in listing and "Halyk Bank" in listing
    page = client.get(f"/my/applications/{pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert "This application was opened through Bank" in text and "Halyk Bank" in text
    assert "Enter the consent code" not in text and "Cancel the application" not in text
    assert "Withdraw my consent" not in text
    for path in ("consent/", "form/", "cancel/"):
        assert client.get(f"/my/applications/{pk}/{path}").status_code == 404
    for path in ("consent/", "cancel/", "withdraw-consent/"):
        assert client.post(f"/my/applications/{pk}/{path}", {"code": "123456"}).status_code == 404
    assert Application.objects.get(pk=pk).status == Status.CONSENT_PENDING
    log = client.get("/my/access-log/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"/my/applications/{pk}/" in log  # the consent request the bank's application made


def test_the_access_log_names_the_application_of_each_entry(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    page = client.get("/my/access-log/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    entries = page.count('class="access-entry"')
    assert entries >= 8
    assert page.count(f'href="/my/applications/{application.pk}/"') == entries
    assert "First driving licence, opened" in page


def test_after_the_number_the_page_says_what_comes_next(client, sandbox):
    from tests.factories import CentreFactory

    CentreFactory(code="ast-tson-1")
    person = sandbox.add()
    sign_in(client, sandbox, person)
    application = apply_first_licence(client, sandbox, person)
    client.post(f"/my/applications/{application.pk}/form/",
                {"phone": "+77010000001", "language": "kk", "pickup_tson": "ast-tson-1"})
    page = client.get(f"/my/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "What happens next" in page and "Book a date and time for the theory exam" in page
