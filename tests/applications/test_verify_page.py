"""The public verify page (scan or paste a card's code), the citizen's card PDF, the citizen's page once the card is
printed and handed over, and the notices "printed" and "issued"."""

import datetime
import html as html_module
import io
import re

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.translation import gettext, override
from PIL import Image

from accounts.models import Role, User
from applications import cards, verify_views
from applications.models import Application, CardPrint, Channel, Licence, Photo, PhotoSource, Status
from applications.services import notices
from applications.verification import LicenceSeal, sign
from tests.factories import ApplicationFactory, CentreFactory, make_iin

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.applications.verify_test_urls")]

LANGUAGES = ("kk", "ru", "en")
PICKUP = {"name": "Есіл ауданының ХҚКО", "name_ru": "ЦОН района Есиль",
          "name_en": "Public Service Centre of Yesil District", "city": "Астана", "city_ru": "Астана",
          "city_en": "Astana", "address": "Қабанбай батыр даңғылы, 1", "address_ru": "проспект Кабанбай батыра, 1",
          "address_en": "1 Kabanbay Batyr Avenue"}
FORGED = "This code was not issued by the Republic of Kazakhstan's licence service, or it was changed."


def in_language(client, language: str) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


def translated(language: str, message: str) -> str:
    with override(language):
        return gettext(message)


def citizen(iin: str | None = None) -> User:
    iin = iin or make_iin()
    return User.objects.create(username=f"iin-{iin}", iin=iin, role=Role.CITIZEN)


def an_application(*, user: User | None = None, status: str = Status.PRINTED, language: str = "en",
                   email: str = "holder@example.kz") -> Application:
    """A citizen's own portal application, numbered, with a pickup TSON, moved straight to `status`."""
    user = user or citizen()
    pickup = CentreFactory(code="verify-pickup", **PICKUP)
    application = ApplicationFactory(iin=user.iin, citizen=user, organisation=None, channel=Channel.PORTAL)
    Application.objects.filter(pk=application.pk).update(
        status=status, number=f"KZ-2026-{application.pk.hex[:6].upper()}", phone="+77010000001",
        pickup_tson=pickup, notify_language=language, email=email)
    return Application.objects.get(pk=application.pk)


def licence_for(application: Application, *, number: str = "KZ 000001", status: str = Licence.State.VALID,
                issued_on: datetime.date | None = None, years: int = 10, replaces_number: str = "",
                key_id: str | None = None) -> tuple[Licence, CardPrint]:
    """The licence of the application and its card, the card's code signed as printing signs it."""
    issued_on = issued_on or timezone.localdate()
    expires_on = issued_on.replace(year=issued_on.year + years) - datetime.timedelta(days=1)
    licence = Licence.objects.create(
        number=number, application=application, iin=application.iin, categories=["B", "BE"], issued_on=issued_on,
        expires_on=expires_on, authority="ҚР ІІМ", surname="Сейтқали", given_names="Айгерім Бекқызы",
        status=status, replaces_number=replaces_number)
    key_id = key_id or settings.LICENCE_SIGNING_KEY_ID
    seal = LicenceSeal(number=number, categories=licence.categories, issued_on=issued_on, expires_on=expires_on,
                       surname=licence.surname, initials=licence.initials, issuer=settings.LICENCE_ISSUER,
                       key_id=key_id)
    card = CardPrint.objects.create(licence=licence, verification_code=sign(seal, key_id=key_id), key_id=key_id)
    return licence, card


def verify(client, code: str, language: str = "en"):
    in_language(client, language)
    response = client.get("/verify/", {"code": code})
    assert response.status_code == 200
    return response, response.content.decode()


def result_panel(html: str) -> str:
    match = re.search(r'<section class="verify-result[^"]*".*?</section>', html, re.S)
    assert match, "no result panel"
    return html_module.unescape(match.group(0))


# --- the verify page ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_page_renders_in_each_language_with_one_h1_and_the_camera_allowed(client, language):
    in_language(client, language)
    response = client.get("/verify/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert html.count("<h1") == 1 and translated(language, "Check a driving licence") in html
    assert '<textarea name="code"' in html and 'method="get"' in html
    assert translated(language, "Scan with the camera") in html and "js/verify-scan.js" in html
    assert "verify-result" not in html  # nothing checked yet
    # The page may offer the camera to this site (the QR scan); nothing else may.
    assert "camera=(self)" in response["Permissions-Policy"] and "microphone=()" in response["Permissions-Policy"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_genuine_code_of_a_valid_licence_shows_valid_with_the_details(client, language):
    licence, card = licence_for(an_application(status=Status.ISSUED))

    response, html = verify(client, card.verification_code, language)

    panel = result_panel(html)
    assert 'data-valid="true"' in panel and 'data-status="valid"' in panel
    assert "verify-result--valid" in panel
    assert translated(language, "Valid") in panel and translated(language, "Not valid") not in panel
    assert licence.number in panel
    assert "Сейтқали А.Б." in panel
    assert "B:" in panel and "BE:" in panel
    assert licence.expires_on.strftime("%d.%m.%Y") in panel
    assert translated(language, FORGED) not in panel
    # An answer about a person, and one that may change: no cache keeps it.
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


@pytest.mark.parametrize("status", [Licence.State.REPLACED, Licence.State.REVOKED])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_replaced_or_revoked_licence_is_not_valid_and_says_why(client, language, status):
    licence, card = licence_for(an_application(status=Status.ISSUED), status=status)

    _response, html = verify(client, card.verification_code, language)

    panel = result_panel(html)
    assert 'data-valid="false"' in panel and f'data-status="{status}"' in panel
    assert "verify-result--invalid" in panel
    assert translated(language, "Not valid") in panel
    with override(language):
        assert verify_views._explanation(status, licence.expires_on) in panel
        assert str(verify_views.STATUS_NAMES[status]) in panel
    assert licence.number in panel and translated(language, FORGED) not in panel


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_licence_past_its_expiry_date_is_not_valid_expired(client, language):
    licence, card = licence_for(an_application(status=Status.ISSUED), years=1)

    with time_machine.travel(licence.expires_on + datetime.timedelta(days=2), tick=False):
        _response, html = verify(client, card.verification_code, language)

    panel = result_panel(html)
    assert 'data-valid="false"' in panel and 'data-status="expired"' in panel
    with override(language):
        explanation = verify_views._explanation("expired", licence.expires_on)
    assert explanation in panel and licence.expires_on.strftime("%d.%m.%Y") in explanation


def test_the_last_day_before_expiry_is_still_valid(client):
    licence, card = licence_for(an_application(status=Status.ISSUED), years=1)

    with time_machine.travel(datetime.datetime.combine(licence.expires_on, datetime.time(12),
                                                       tzinfo=timezone.get_current_timezone()), tick=False):
        _response, html = verify(client, card.verification_code)

    assert 'data-status="valid"' in result_panel(html)


def _altered(code: str) -> str:
    """One character of the Base45 text changed, as a hand that edits a code would."""
    position = len(code) // 2
    replacement = "A" if code[position] != "A" else "B"
    return code[:position] + replacement + code[position + 1:]


def _signed_by_a_key_nobody_published(licence: Licence) -> str:
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode()
    seal = LicenceSeal(number=licence.number, categories=licence.categories, issued_on=licence.issued_on,
                       expires_on=licence.expires_on, surname=licence.surname, initials=licence.initials,
                       issuer=settings.LICENCE_ISSUER, key_id="forger-1")
    with override_keys({**settings.LICENCE_SIGNING_KEYS, "forger-1": pem}):
        return sign(seal, key_id="forger-1")


class override_keys:
    """Signing keys as a forger has them: the project's, and one of their own that nobody published."""

    def __init__(self, keys):
        from django.test import override_settings

        self._override = override_settings(LICENCE_SIGNING_KEYS=keys)

    def __enter__(self):
        from applications import verification

        verification._private_key.cache_clear()
        self._override.__enter__()

    def __exit__(self, *exc):
        from applications import verification

        self._override.__exit__(*exc)
        verification._private_key.cache_clear()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("forgery", ["altered", "other key", "not a code"])
def test_a_forged_or_altered_code_shows_the_forged_message(client, language, forgery):
    licence, card = licence_for(an_application(status=Status.ISSUED))
    code = {"altered": lambda: _altered(card.verification_code),
            "other key": lambda: _signed_by_a_key_nobody_published(licence),
            "not a code": lambda: "https://example.com/not-a-licence"}[forgery]()

    _response, html = verify(client, code, language)

    panel = result_panel(html)
    assert 'data-valid="false"' in panel and "data-status" not in panel
    assert translated(language, "Not valid") in panel
    assert translated(language, FORGED) in panel
    assert licence.number not in panel and "Сейтқали" not in panel


def test_an_empty_code_asks_for_one_and_a_too_long_one_is_refused(client):
    response = client.get("/verify/", {"code": "   "})
    html = response.content.decode()
    assert response.status_code == 200 and "error-summary" in html and 'id="id_code_error"' in html
    assert "verify-result" not in html

    html = client.get("/verify/", {"code": "KZDL1:" + "A" * 3000}).content.decode()
    assert "error-summary" in html and "verify-result" not in html


def test_the_code_pasted_with_spaces_and_a_newline_around_it_still_verifies(client):
    _licence, card = licence_for(an_application(status=Status.ISSUED))

    _response, html = verify(client, f"  {card.verification_code}\n")

    assert 'data-status="valid"' in result_panel(html)


# --- the citizen's card PDF --------------------------------------------------------------------------------------


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (450, 600), color=(200, 180, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("status", [Status.PRINTED, Status.ISSUED])
def test_the_citizen_downloads_the_card_of_their_own_printed_application(client, status):
    application = an_application(status=status)
    licence, _card = licence_for(application)
    client.force_login(application.citizen)

    response = client.get(f"/my/applications/{application.pk}/card.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert cards.card_filename(licence) in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_card_carries_the_photo_taken_at_the_tson_and_not_the_registry_one(client, monkeypatch):
    application = an_application()
    licence, card = licence_for(application)
    client.force_login(application.citizen)
    received = []
    real_card_pdf = cards.card_pdf
    monkeypatch.setattr(cards, "card_pdf", lambda licence, card, *, photo_bytes: (
        received.append(photo_bytes) or real_card_pdf(licence, card, photo_bytes=photo_bytes)))

    jpeg = _jpeg()
    Photo.objects.create(application=application, source=PhotoSource.TSON, content_type="image/jpeg",
                         file=SimpleUploadedFile("photo.jpg", jpeg, content_type="image/jpeg"))
    assert client.get(f"/my/applications/{application.pk}/card.pdf").status_code == 200
    Photo.objects.create(application=application, source=PhotoSource.REGISTRY,
                         taken_at=timezone.now() + datetime.timedelta(minutes=1))
    assert client.get(f"/my/applications/{application.pk}/card.pdf").status_code == 200

    assert received == [jpeg, None]


def test_another_citizens_card_is_404_and_a_stranger_is_sent_to_sign_in(client):
    application = an_application()
    licence_for(application)
    url = f"/my/applications/{application.pk}/card.pdf"

    response = client.get(url)
    assert response.status_code == 302 and "/signin/" in response["Location"]

    client.force_login(citizen())
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("status", [Status.APPROVED, Status.UNDER_REVIEW])
def test_there_is_no_card_before_it_is_printed(client, status):
    application = an_application(status=status)
    client.force_login(application.citizen)

    assert client.get(f"/my/applications/{application.pk}/card.pdf").status_code == 404


def test_a_card_with_no_current_print_is_404(client):
    application = an_application()
    _licence, card = licence_for(application)
    CardPrint.objects.filter(pk=card.pk).update(superseded_at=timezone.now())
    client.force_login(application.citizen)

    assert client.get(f"/my/applications/{application.pk}/card.pdf").status_code == 404


# --- the citizen's application page -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_application_page_says_where_a_printed_licence_waits(client, language):
    application = an_application(status=Status.PRINTED)
    licence_for(application)
    client.force_login(application.citizen)
    in_language(client, language)

    html = client.get(f"/my/applications/{application.pk}/").content.decode()

    pickup = application.pickup_tson
    ready = re.search(r'<p data-testid="ready-for-pickup">(.*?)</p>', html, re.S).group(1)
    assert pickup.name_in(language) in ready and pickup.address_in(language) in ready
    assert 'data-testid="card-pdf"' not in html  # the card is handed over first


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_application_page_of_an_issued_licence_shows_its_number_and_the_card_link(client, language):
    application = an_application(status=Status.ISSUED)
    licence, _card = licence_for(application, number="KZ 004242")
    client.force_login(application.citizen)
    in_language(client, language)

    html = client.get(f"/my/applications/{application.pk}/").content.decode()

    assert re.search(r'data-testid="licence-number">KZ 004242<', html)
    assert f'href="/my/applications/{application.pk}/card.pdf"' in html
    assert translated(language, "Download the licence card (PDF)") in html
    assert licence.number in html


# --- the notices -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_printed_notice_says_where_to_collect_the_licence_and_what_to_bring(language):
    application = an_application(status=Status.PRINTED, language=language)
    licence_for(application)

    notice = notices.render_notice(application, "printed", {"status": Status.PRINTED})

    pickup = application.pickup_tson
    assert notice.language == language and notice.sms.startswith("Kuälik: ") and len(notice.sms) <= 320
    for text in (notice.sms, notice.body):
        assert pickup.name_in(language) in text and pickup.address_in(language) in text
        assert "{" not in text and "None" not in text
    assert application.number in notice.sms and application.number in notice.body
    assert notice.subject and "\n" not in notice.subject
    bring = {"kk": "жеке басыңызды куәландыратын құжат", "ru": "документ, удостоверяющий личность",
             "en": "identity document"}[language]
    assert bring in notice.sms.lower() and bring in notice.body.lower()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_issued_notice_gives_the_licence_number(language):
    application = an_application(status=Status.ISSUED, language=language)
    licence, _card = licence_for(application, number="KZ 007777", replaces_number="KZ 000123")

    notice = notices.render_notice(application, "issued", {"status": Status.ISSUED})

    assert notice.sms.startswith("Kuälik: ") and len(notice.sms) <= 320
    assert "KZ 007777" in notice.sms and "KZ 007777" in notice.subject and "KZ 007777" in notice.body
    assert licence.expires_on.strftime("%d.%m.%Y") in notice.sms
    assert "KZ 000123" in notice.body  # the licence it replaces is no longer valid
    assert application.number in notice.body
    for text in (notice.sms, notice.subject, notice.body):
        assert "{" not in text and "None" not in text


def test_moves_to_printed_and_issued_are_told_now_that_their_texts_exist():
    assert notices.has_templates("printed") and notices.has_templates("issued")
    assert notices.event_for_move(from_status=Status.APPROVED, to_status=Status.PRINTED) == "printed"
    assert notices.event_for_move(from_status=Status.PRINTED, to_status=Status.ISSUED) == "issued"
