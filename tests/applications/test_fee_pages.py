"""The citizen's side of formalisation: the state fee and its receipt, the photo instructions, the review's outcome.

The payment provider is the sandbox's, over real HTTP on the live server: paying on its page sends the signed
callback back to this project before the citizen is redirected, as a provider does.
"""

import re
import zlib

import httpx
import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, override

from accounts.models import User
from applications.models import Application, Centre, Payment, ServicePolicy, Status
from applications.receipts import masked_iin, receipt_pdf, tenge
from applications.services import pay_at_desk
from applications.workflow import move_application
from tests.applications.test_views import sign_in
from tests.factories import ApplicationFactory, StaffFactory, UserFactory, application_at_exams

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PICKUP = {"name": "Есіл ауданының ХҚКО", "name_ru": "ЦОН района Есиль",
          "name_en": "Public Service Centre of Yesil District", "city": "Астана", "city_ru": "Астана",
          "city_en": "Astana", "address": "Қабанбай батыр даңғылы, 1", "address_ru": "проспект Кабанбай батыра, 1",
          "address_en": "1 Kabanbay Batyr Avenue"}


def in_language(client, language: str) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


def at_formalization(client, sandbox, *, language="en", **person) -> Application:
    """A signed-in citizen whose own portal application passed both exams: fee and photo outstanding."""
    person = sandbox.add(**person)
    sign_in(client, sandbox, person)
    user = User.objects.get(iin=person["iin"])
    application = application_at_exams(status="practical_exam", citizen=user, organisation=None, channel="portal",
                                       iin=person["iin"], notify_language=language)
    Centre.objects.filter(pk=application.pickup_tson_id).update(**PICKUP)
    move_application(application_id=application.pk, transition="pass_practical_exam")
    in_language(client, "en")
    return Application.objects.get(pk=application.pk)


def page(client, application, path="") -> str:
    response = client.get(f"/my/applications/{application.pk}/{path}")
    assert response.status_code == 200
    return response.content.decode()


def pay_on_the_providers_page(client, application, outcome: str) -> Payment:
    """The citizen presses the button, pays or declines on the provider's page, and comes back."""
    response = client.post(f"/my/applications/{application.pk}/fee/pay/")
    assert response.status_code == 302
    payment = Payment.objects.get(application=application, status=Payment.State.PENDING)
    assert response["Location"] == payment.pay_url
    assert httpx.get(payment.pay_url, timeout=10).status_code == 200
    back = httpx.post(payment.pay_url, data={"outcome": outcome}, timeout=10)
    assert back.status_code == 302
    assert back.headers["location"].endswith(f"/my/applications/{application.pk}/")
    return Payment.objects.get(pk=payment.pk)


def paid_at_desk(application, receipt="TSON-000123") -> Payment:
    return pay_at_desk(application=application, receipt=receipt, actor=StaffFactory(role="tson_operator"))


def words(text: str) -> str:
    return " ".join(text.split())


# --- reading the PDF back: pypdf is not installed, so the text is decoded through the fonts' ToUnicode maps --------

def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(number): body for number, body in re.findall(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.S)}


def _stream(body: bytes) -> bytes:
    data = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S).group(1)
    return zlib.decompress(data) if b"/FlateDecode" in body else data


def _literal_strings(data: bytes):
    """Each `( ... )` string of a content stream, its escapes undone, with where it starts."""
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    position = 0
    while (start := data.find(b"(", position)) != -1:
        text, depth, position = bytearray(), 1, start + 1
        while depth:
            byte = data[position]
            if byte == 0x5C:
                following = data[position + 1]
                if following in escapes:
                    text += escapes[following]
                    position += 2
                elif 0x30 <= following <= 0x37:
                    digits = re.match(rb"[0-7]{1,3}", data[position + 1:position + 4]).group()
                    text.append(int(digits, 8) & 0xFF)
                    position += 1 + len(digits)
                else:
                    text.append(following)
                    position += 2
                continue
            depth += (byte == 0x28) - (byte == 0x29)
            if depth:
                text.append(byte)
            position += 1
        yield start, bytes(text)


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages: each string's two-byte glyph codes mapped through its font's ToUnicode CMap."""
    objects = _objects(pdf)
    maps = {}
    for number, body in objects.items():
        if reference := re.search(rb"/ToUnicode (\d+) 0 R", body):
            cmap = _stream(objects[int(reference.group(1))])
            maps[number] = {int(code, 16): chr(int(char, 16)) for code, char
                            in re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]{4,8})>", cmap)}
    fonts = {name: maps.get(int(number), {}) for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", pdf)}
    lines = []
    for number in re.findall(rb"/Contents (\d+) 0 R", pdf):
        data = _stream(objects[int(number)])
        selections = [(match.start(), match.group(1)) for match in re.finditer(rb"/(F\d+) [\d.]+ Tf", data)]
        for start, codes in _literal_strings(data):
            font = max((selection for selection in selections if selection[0] < start), default=(0, None))[1]
            cmap = fonts.get(font, {})
            lines.append("".join(cmap.get(int.from_bytes(codes[i:i + 2], "big"), "\ufffd")
                                 for i in range(0, len(codes), 2)))
    return words("\n".join(lines))


# --- the amount -----------------------------------------------------------------------------------------------

def test_amounts_are_written_with_a_space_between_thousands_and_the_tenge_sign():
    assert tenge(5406) == "5\u00a0406\u00a0₸"
    assert tenge(950) == "950\u00a0₸"
    assert masked_iin("871008401427") == "8710******27"


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_fee_amount_shows_in_each_language(client, sandbox, language):
    application = at_formalization(client, sandbox)
    in_language(client, language)
    amount = tenge(ServicePolicy.current_fee_kzt())
    if timezone.localdate().year == 2026:
        assert amount == "5\u00a0406\u00a0₸"  # 1.25 MRP of 4 325 tenge, rounded to whole tenge
    for path in ("", "fee/"):
        shown = page(client, application, path)
        assert f'lang="{language}"' in shown
        assert f'data-testid="fee-amount">{amount}<' in shown
        assert f'action="/my/applications/{application.pk}/fee/pay/"' in shown


def test_the_application_page_says_the_fee_is_not_paid_and_links_the_photo_instructions(client, sandbox):
    application = at_formalization(client, sandbox)
    shown = page(client, application)
    assert "Not paid yet." in shown and "Pay the state fee</button>" in shown
    assert f'href="/my/applications/{application.pk}/photo/"' in shown
    assert "Where and how to have your photo taken" in shown


# --- paying ---------------------------------------------------------------------------------------------------

def test_paying_goes_to_the_providers_page_and_comes_back_paid_with_a_receipt(client, sandbox):
    application = at_formalization(client, sandbox)
    payment = pay_on_the_providers_page(client, application, "success")
    assert payment.pay_url.startswith(f"{sandbox.base_url}/sandbox/pay/")
    assert payment.status == Payment.State.PAID
    assert Application.objects.get(pk=application.pk).fee_paid_at is not None
    shown = page(client, application)
    assert "Paid online on" in shown
    assert f'href="/my/applications/{application.pk}/payments/{payment.pk}/receipt.pdf"' in shown
    assert "fee/pay/" not in shown  # nothing more to pay
    assert "The state fee is paid. Have your photo taken at a TSON" in shown
    # A stale button pressed again takes nothing twice: back to the application.
    response = client.post(f"/my/applications/{application.pk}/fee/pay/")
    assert response.status_code == 302 and response["Location"] == f"/my/applications/{application.pk}/"
    assert Payment.objects.filter(application=application).count() == 1


def test_pressing_pay_twice_goes_to_the_same_payment(client, sandbox):
    application = at_formalization(client, sandbox)
    first = client.post(f"/my/applications/{application.pk}/fee/pay/")["Location"]
    second = client.post(f"/my/applications/{application.pk}/fee/pay/")["Location"]
    assert first == second
    assert Payment.objects.filter(application=application).count() == 1
    shown = page(client, application)
    assert "Waiting for the payment provider to confirm the payment." in shown
    assert "Continue to the payment</button>" in shown


def test_a_declined_payment_says_not_paid_and_the_citizen_can_try_again(client, sandbox):
    application = at_formalization(client, sandbox)
    declined = pay_on_the_providers_page(client, application, "decline")
    assert declined.status == Payment.State.DECLINED
    shown = page(client, application)
    assert "Not paid: the payment was declined. You can try again." in shown
    assert "Pay the state fee</button>" in shown and "receipt.pdf" not in shown
    assert Application.objects.get(pk=application.pk).fee_paid_at is None
    retried = pay_on_the_providers_page(client, application, "success")
    assert retried.pk != declined.pk and retried.pay_url != declined.pay_url
    assert retried.status == Payment.State.PAID


def test_a_provider_that_does_not_answer_keeps_the_citizen_on_the_fee_page_with_the_reason(client, sandbox):
    application = at_formalization(client, sandbox, faults={"payment": "error"})
    response = client.post(f"/my/applications/{application.pk}/fee/pay/")
    assert response.status_code == 503
    shown = response.content.decode()
    assert "The payment provider does not answer" in shown and 'class="error-summary"' in shown
    assert shown.count("<h1") == 1
    kept = Payment.objects.get(application=application)  # pending, with no page yet: the next ask completes it
    assert (kept.status, kept.pay_url) == (Payment.State.PENDING, "")


def test_a_channels_application_shows_the_fee_but_is_paid_through_the_channel(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    application = application_at_exams(status="practical_exam", iin=person["iin"])
    move_application(application_id=application.pk, transition="pass_practical_exam")
    shown = page(client, application)
    assert "data-testid=\"fee-amount\"" in shown and "fee/pay/" not in shown
    assert client.post(f"/my/applications/{application.pk}/fee/pay/").status_code == 404


# --- the receipt ----------------------------------------------------------------------------------------------

def test_the_receipt_is_a_pdf_in_the_applications_language_with_the_payment_facts(client, sandbox):
    application = at_formalization(client, sandbox, language="kk")
    payment = pay_on_the_providers_page(client, application, "success")
    in_language(client, "en")  # the page's language is not the receipt's: the application's is
    response = client.get(f"/my/applications/{application.pk}/payments/{payment.pk}/receipt.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="receipt-{application.number}.pdf"'
    assert "no-store" in response["Cache-Control"]
    pdf = response.content
    assert pdf.startswith(b"%PDF") and b"DejaVuSans" in pdf
    text = pdf_text(pdf)
    with override("kk"):
        assert words(gettext("Receipt for the state fee")) in text
        assert words(str(Application.objects.get(pk=application.pk).get_service_display())) in text
    assert "ә" in text and "қ" in text  # Kazakh letters drawn, and mapped back to their characters
    assert "\ufffd" not in text
    assert words(tenge(payment.amount_kzt)) in text
    assert timezone.localtime(payment.decided_at).strftime("%d.%m.%Y %H:%M") in text
    assert application.number in text and str(payment.pk) in text and payment.provider_reference in text
    assert masked_iin(application.iin) in text and application.iin not in text


def test_the_receipt_of_a_desk_payment_names_its_receipt_number_in_russian(client, sandbox):
    application = at_formalization(client, sandbox, language="ru")
    payment = paid_at_desk(application, receipt="ЦОН-77")
    response = client.get(f"/my/applications/{application.pk}/payments/{payment.pk}/receipt.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    with override("ru"):
        assert words(gettext("At a TSON desk, receipt no. %(receipt)s") % {"receipt": "ЦОН-77"}) in text
    assert masked_iin(application.iin) in text and application.number in text
    shown = page(client, application)
    assert "at a TSON desk, receipt no. ЦОН-77" in shown and f"payments/{payment.pk}/receipt.pdf" in shown


def test_receipt_pdf_is_pure_and_refuses_an_unpaid_payment(client, sandbox):
    application = at_formalization(client, sandbox)
    client.post(f"/my/applications/{application.pk}/fee/pay/")
    pending = Payment.objects.get(application=application)
    with pytest.raises(ValueError):
        receipt_pdf(pending, "en")
    payment = paid_at_desk(application)
    english = pdf_text(receipt_pdf(Payment.objects.select_related("application").get(pk=payment.pk), "en"))
    assert "Receipt for the state fee" in english and "At a TSON desk, receipt no. TSON-000123" in english


def test_another_citizens_receipt_and_an_unpaid_payment_are_404(client, sandbox):
    application = at_formalization(client, sandbox)
    client.post(f"/my/applications/{application.pk}/fee/pay/")
    pending = Payment.objects.get(application=application)
    assert client.get(f"/my/applications/{application.pk}/payments/{pending.pk}/receipt.pdf").status_code == 404
    other = application_at_exams(status="practical_exam", citizen=UserFactory(iin="871008401427"),
                                 organisation=None, channel="portal", iin="871008401427")
    move_application(application_id=other.pk, transition="pass_practical_exam")
    theirs = paid_at_desk(Application.objects.get(pk=other.pk))
    for path in (f"{other.pk}/payments/{theirs.pk}/receipt.pdf", f"{application.pk}/payments/{theirs.pk}/receipt.pdf",
                 f"{other.pk}/fee/", f"{other.pk}/photo/"):
        assert client.get(f"/my/applications/{path}").status_code == 404
    assert client.post(f"/my/applications/{other.pk}/fee/pay/").status_code == 404
    assert Payment.objects.filter(application=other).count() == 1


# --- the photo ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "centre", "address"), [
    ("kk", PICKUP["name"], PICKUP["address"]),
    ("ru", PICKUP["name_ru"], PICKUP["address_ru"]),
    ("en", PICKUP["name_en"], PICKUP["address_en"]),
])
def test_the_photo_instructions_name_the_pickup_tson_in_the_readers_language(client, sandbox, language, centre,
                                                                             address):
    application = at_formalization(client, sandbox)
    in_language(client, language)
    shown = page(client, application, "photo/")
    assert f'lang="{language}"' in shown and shown.count("<h1") == 1
    pickup = re.search(r'data-testid="pickup">(.*?)</p>', shown, re.S).group(1)
    assert centre in pickup and address in pickup
    assert application.number in shown
    assert f'href="/my/applications/{application.pk}/"' in shown


def test_the_photo_instructions_say_what_to_bring_and_how_to_look(client, sandbox):
    application = at_formalization(client, sandbox)
    shown = page(client, application, "photo/")
    assert "identity document" in shown and "free of charge" in shown
    assert "No glasses with tinted lenses" in shown and "plain and light" in shown


def test_during_the_exams_the_photo_page_says_to_come_after_them_and_before_them_it_is_not_there(client, sandbox):
    person = sandbox.add()
    sign_in(client, sandbox, person)
    user = User.objects.get(iin=person["iin"])
    application = application_at_exams(citizen=user, organisation=None, channel="portal", iin=person["iin"])
    assert 'data-testid="photo-later"' in page(client, application, "photo/")
    assert client.get(f"/my/applications/{application.pk}/fee/").status_code == 302
    early = ApplicationFactory(citizen=user, organisation=None, channel="portal", iin=person["iin"],
                               status=Status.CANCELLED)
    assert client.get(f"/my/applications/{early.pk}/photo/")["Location"] == f"/my/applications/{early.pk}/"


def test_a_replacement_uses_the_registrys_photo_and_asks_nothing_of_the_citizen(client, sandbox):
    from tests.factories import CentreFactory

    CentreFactory(code="ast-tson-1", **PICKUP)
    person = sandbox.add(photo="photo.jpg", licence={"number": "AB123", "categories": ["B"],
                                                     "issued_on": "2020-01-01", "expires_on": "2030-01-01",
                                                     "status": "valid"})
    sign_in(client, sandbox, person)
    client.post("/apply/replacement/", {"replacement_reason": "damage"})
    client.post("/apply/replacement/check/")
    application = Application.objects.get(iin=person["iin"])
    client.post(f"/my/applications/{application.pk}/consent/", {"code": sandbox.consent_code(person["phone"])})
    client.post(f"/my/applications/{application.pk}/form/", {"phone": "+77010000001", "pickup_tson": "ast-tson-1"})
    application.refresh_from_db()
    assert application.status == Status.FORMALIZATION and application.photo_source == "registry"
    in_language(client, "en")
    shown = page(client, application)
    assert "We use the photo that the state holds" in shown and "/photo/" not in shown
    assert "Your photo is in. Pay the state fee" in shown
    assert "We use the photo that the state holds" in page(client, application, "photo/")
    pay_on_the_providers_page(client, application, "success")
    assert Application.objects.get(pk=application.pk).status == Status.UNDER_REVIEW


# --- after formalisation --------------------------------------------------------------------------------------

def test_under_review_and_approved_say_what_happens_and_still_link_the_receipt(client, sandbox):
    application = at_formalization(client, sandbox)
    payment = paid_at_desk(application)
    Application.objects.filter(pk=application.pk).update(photo_source="tson", photo_captured_at=timezone.now())
    move_application(application_id=application.pk, transition="complete_formalization")
    shown = page(client, application)
    assert "A police officer is reviewing your application" in shown
    assert f"payments/{payment.pk}/receipt.pdf" in shown and "fee/pay/" not in shown
    officer = StaffFactory(role="police_officer")
    move_application(application_id=application.pk, transition="approve", actor=officer)
    shown = page(client, application)
    assert "Your licence is approved. It will be printed" in shown and PICKUP["name_en"] in shown
    assert f"payments/{payment.pk}/receipt.pdf" in shown


def test_an_officers_refusal_shows_the_reason_and_the_comment(client, sandbox):
    from applications.models import RefusalReason

    RefusalReason.objects.update_or_create(code="photo_unusable", defaults={
        "title_kk": "Сурет жарамсыз", "title_ru": "Фотография непригодна", "title_en": "The photo cannot be used"})
    application = at_formalization(client, sandbox)
    paid_at_desk(application)
    Application.objects.filter(pk=application.pk).update(photo_source="tson", photo_captured_at=timezone.now())
    move_application(application_id=application.pk, transition="complete_formalization")
    move_application(application_id=application.pk, transition="refuse_by_officer",
                     actor=StaffFactory(role="police_officer"), reason_code="photo_unusable",
                     comment="The face is in shadow.")
    shown = page(client, application)
    refusal = re.search(r'data-testid="refusal">(.*?)</div>', shown, re.S).group(1)
    assert "Step 16" in refusal and "The photo cannot be used" in refusal
    assert "The face is in shadow." in refusal
    in_language(client, "ru")
    assert "Фотография непригодна" in page(client, application)
