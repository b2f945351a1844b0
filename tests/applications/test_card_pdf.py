"""The licence card PDF: ID-1 pages, front and back, the fields as text, the QR code read back from the rendered
page and checked offline with nothing but the published public key; forged, altered and wrong-key codes fail.

The page is rendered with poppler's `pdftoppm` where it is installed (Debian's poppler-utils); the test that needs
it is skipped with the reason when it is not. Without it, the QR and PDF417 images that the card embeds are taken
out of the PDF and read all the same.
"""

import base64
import datetime
import io
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import base45
import cbor2
import pytest
import zxingcpp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from PIL import Image, ImageDraw

from applications import verification
from applications.cards import card_filename, card_pdf
from applications.models import CardPrint, Licence
from applications.verification import InvalidCode, LicenceSeal
from tests.applications.test_fee_pages import pdf_text
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "verifying-a-licence.md"
MM_PER_POINT = 25.4 / 72
HOLDER = {"surname": "Құрманғалиева", "given_names": "Әйгерім Нұрланқызы", "birth_place": "Қарағанды",
          "residence": "Астана қ., Қабанбай батыр даңғылы, 1, 45 пәтер"}


# --- a printed licence -----------------------------------------------------------------------------------------

def printed_licence(*, number="KZ00004217", categories=("B", "BE", "C1"), restrictions="") -> tuple[Licence, CardPrint]:
    licence = Licence.objects.create(
        number=number, application=ApplicationFactory(), iin="871008401427", categories=list(categories),
        issued_on=datetime.date(2026, 3, 2), expires_on=datetime.date(2036, 3, 1), authority="ҚР ІІМ ӘПК / MVD RK",
        birth_date=datetime.date(1987, 10, 8), restrictions=restrictions, **HOLDER)
    code = verification.sign(LicenceSeal(
        number=licence.number, categories=licence.categories, issued_on=licence.issued_on,
        expires_on=licence.expires_on, surname=licence.surname, initials=licence.initials,
        issuer=settings.LICENCE_ISSUER, key_id=settings.LICENCE_SIGNING_KEY_ID))
    card = CardPrint.objects.create(licence=licence, verification_code=code, key_id=settings.LICENCE_SIGNING_KEY_ID)
    return licence, card


def portrait_jpeg(size=(413, 531)) -> bytes:
    image = Image.new("RGB", size, (200, 220, 235))
    draw = ImageDraw.Draw(image)
    draw.ellipse((120, 90, 290, 300), fill=(230, 190, 160))
    draw.rectangle((70, 330, 340, size[1]), fill=(40, 60, 90))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


# --- reading the PDF back --------------------------------------------------------------------------------------

def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's MediaBox in millimetres: its own, or the one it inherits from its /Pages parent."""
    objects = {int(number): body for number, body in re.findall(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.S)}

    def media_box(body: bytes) -> tuple[float, float]:
        if box := re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", body):
            return float(box.group(1)) * MM_PER_POINT, float(box.group(2)) * MM_PER_POINT
        return media_box(objects[int(re.search(rb"/Parent (\d+) 0 R", body).group(1))])

    return [media_box(body) for body in objects.values() if re.search(rb"/Type /Page\b(?!s)", body)]


def embedded_images(pdf: bytes) -> list[Image.Image]:
    """Every image XObject of the PDF, decoded with Pillow. fpdf2 stores them zlib-compressed with PNG row filters
    (/Predictor 15), which is what a PNG's IDAT chunk holds: wrapped in a PNG header, Pillow reads them."""
    images = []
    for header, data in re.findall(rb"\d+ 0 obj\s*<<(.*?)>>\s*stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        if b"/Subtype /Image" not in header:
            continue
        if b"/DCTDecode" in header:  # the photo, a JPEG as it is
            images.append(Image.open(io.BytesIO(data)))
            continue
        width = int(re.search(rb"/Width (\d+)", header).group(1))
        height = int(re.search(rb"/Height (\d+)", header).group(1))
        colour = {b"/DeviceGray": 0, b"/DeviceRGB": 2}[re.search(rb"/ColorSpace (/\w+)", header).group(1)]
        assert b"/Predictor 15" in header and b"/BitsPerComponent 8" in header

        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
               + chunk(b"IDAT", data) + chunk(b"IEND", b""))
        images.append(Image.open(io.BytesIO(png)))
    return images


def barcodes(image: Image.Image) -> dict[str, str]:
    """The text of each barcode zxing-cpp finds in the image, by format ("QRCode", "PDF417")."""
    return {result.format.name: result.text for result in zxingcpp.read_barcodes(image.convert("L"))}


def rendered_pages(pdf: bytes, tmp_path: Path, dpi: int = 300) -> list[Image.Image]:
    source = tmp_path / "card.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(tmp_path / "page")], check=True, timeout=60)
    return [Image.open(path) for path in sorted(tmp_path.glob("page-*.png"))]


# --- a third party: the published key set, and codes made by someone else ---------------------------------------

def downloaded_keys() -> dict[str, Ed25519PublicKey]:
    """The keys as a third party has them: the JWKS as JSON text (as downloaded), each OKP key rebuilt from its x.
    Nothing from the database, nothing private."""
    published = json.loads(json.dumps(verification.jwks()))
    keys = {}
    for key in published["keys"]:
        assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA")
        assert set(key) == {"kty", "crv", "alg", "use", "kid", "x"}  # no private part, "d", is ever published
        keys[key["kid"]] = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key["x"] + "=" * (
            -len(key["x"]) % 4)))
    return keys


def unpack(code: str) -> list:
    message = cbor2.loads(zlib.decompress(base45.b45decode(code.removeprefix(verification.PREFIX))))
    return list(message.value)


def pack(protected: bytes, payload: bytes, signature: bytes) -> str:
    message = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return verification.PREFIX + base45.b45encode(zlib.compress(message, 9)).decode()


def signed_by(code: str, private_key: Ed25519PrivateKey, kid: str) -> str:
    """The same claims, signed by someone else's key under `kid`."""
    _protected, _unprotected, payload, _signature = unpack(code)
    protected = cbor2.dumps({1: -8, 4: kid.encode()})
    return pack(protected, payload, private_key.sign(cbor2.dumps(["Signature1", protected, b"", payload])))


def the_docs_snippet() -> dict:
    """The first Python block of docs/verifying-a-licence.md, run as it is printed there."""
    block = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    namespace: dict = {}
    exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation, checked as code
    return namespace


# --- the PDF ---------------------------------------------------------------------------------------------------

def test_the_card_is_a_two_page_id1_pdf_named_after_the_licence():
    licence, card = printed_licence()
    pdf = card_pdf(licence, card, photo_bytes=portrait_jpeg())
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 2
    sizes = page_sizes_mm(pdf)
    assert len(sizes) == 2
    for width, height in sizes:
        assert width == pytest.approx(85.60, abs=0.05) and height == pytest.approx(53.98, abs=0.05)
    assert card_filename(licence) == "licence-KZ00004217.pdf"


def test_the_card_reads_back_as_text_with_its_numbered_fields_in_kazakh_letters():
    licence, card = printed_licence(restrictions="01.06 көзілдірік")
    text = pdf_text(card_pdf(licence, card, photo_bytes=portrait_jpeg()))
    for expected in ("ҚАЗАҚСТАН РЕСПУБЛИКАСЫ", "ЖҮРГІЗУШІ КУӘЛІГІ", "DRIVING LICENCE",
                     "ҚҰРМАНҒАЛИЕВА", "ӘЙГЕРІМ", "НҰРЛАНҚЫЗЫ", "08.10.1987 Қарағанды", "02.03.2026", "01.03.2036",
                     "ҚР ІІМ ӘПК / MVD RK", "871008401427", "KZ00004217", "B BE C1", "Қабанбай батыр",
                     "01.06 көзілдірік"):
        assert expected in text, expected
    for label in ("1.", "2.", "3.", "4a.", "4b.", "4c.", "4d.", "5.", "8.", "9.", "10.", "11.", "12."):
        assert f"{label} " in f"{text} ", label
    assert "\ufffd" not in text  # every glyph maps back to a character: the font has them all


def test_without_a_photo_the_box_says_the_person_registry_holds_it():
    licence, card = printed_licence()
    pdf = card_pdf(licence, card, photo_bytes=None)
    assert "Photo held by the person registry" in pdf_text(pdf)
    assert "Фотосурет жеке тұлғалар тізілімінде" in pdf_text(pdf)
    assert b"/DCTDecode" not in pdf
    assert b"/DCTDecode" in card_pdf(licence, card, photo_bytes=portrait_jpeg())


def test_the_photo_is_cropped_into_a_three_by_four_box_and_a_broken_one_is_refused():
    licence, card = printed_licence()
    photo = next(image for image in embedded_images(card_pdf(licence, card, photo_bytes=portrait_jpeg((600, 600))))
                 if image.mode == "RGB")
    assert photo.width * 4 == photo.height * 3
    with pytest.raises(ValueError, match="photo"):
        card_pdf(licence, card, photo_bytes=b"not an image")


def test_long_names_an_address_and_every_category_wrap_instead_of_being_cut():
    licence, card = printed_licence(categories=("A1", "A", "B1", "B", "C1", "C", "D1", "D", "BE", "C1E", "CE", "D1E",
                                                "DE", "Tb", "Tm"))
    licence.surname = "Жақсылықова-Бекмұхамбетова"
    licence.given_names = "Гүлнұр-Әйгерім Мұхамеджанқызы Нұрсұлтанова"
    licence.residence = "Шығыс Қазақстан облысы, Өскемен қаласы, Қазақстан көшесі, 123-үй, 456-пәтер, 070000"
    pdf = card_pdf(licence, card, photo_bytes=portrait_jpeg())
    text = pdf_text(pdf)
    for expected in ("ЖАҚСЫЛЫҚОВА-", "БЕКМҰХАМБЕТОВА", "НҰРСҰЛТАНОВА", "070000", "Tb Tm"):
        assert expected in text, expected
    found = {}
    for image in embedded_images(pdf):
        found |= barcodes(image)
    assert found == {"QRCode": card.verification_code, "PDF417": card.verification_code}


def test_the_card_is_pure_the_same_inputs_give_the_same_pdf_and_nothing_is_written():
    licence, card = printed_licence()
    before = (Licence.objects.count(), CardPrint.objects.count())
    assert card_pdf(licence, card, photo_bytes=None) == card_pdf(licence, card, photo_bytes=None)
    assert (Licence.objects.count(), CardPrint.objects.count()) == before


# --- the codes on it, read back and checked offline --------------------------------------------------------------

def test_the_qr_and_pdf417_images_embedded_in_the_pdf_hold_the_verification_code():
    licence, card = printed_licence()
    found = {}
    for image in embedded_images(card_pdf(licence, card, photo_bytes=portrait_jpeg())):
        found |= barcodes(image)
    assert found == {"QRCode": card.verification_code, "PDF417": card.verification_code}


@pytest.mark.skipif(shutil.which("pdftoppm") is None,
                    reason="needs pdftoppm to render the page (Debian's poppler-utils); the embedded images are "
                           "read by test_the_qr_and_pdf417_images_embedded_in_the_pdf_hold_the_verification_code")
def test_the_qr_decoded_from_the_rendered_front_verifies_offline_with_only_the_public_key(tmp_path):
    licence, card = printed_licence()
    front, back = rendered_pages(card_pdf(licence, card, photo_bytes=portrait_jpeg()), tmp_path)
    assert front.size == pytest.approx((1011, 638), abs=2)  # 85.6 × 53.98 mm at 300 dpi
    code = barcodes(front)["QRCode"]
    assert code == card.verification_code
    assert barcodes(back)["PDF417"] == card.verification_code

    keys = downloaded_keys()
    seal = verification.verify(code, keys=keys)
    assert (seal.number, seal.categories, seal.surname, seal.initials) == ("KZ00004217", ["B", "BE", "C1"],
                                                                           "Құрманғалиева", "Ә.Н.")
    assert (seal.issued_on, seal.expires_on, seal.key_id) == (licence.issued_on, licence.expires_on, card.key_id)
    assert seal.issuer == settings.LICENCE_ISSUER


def test_the_code_verifies_offline_with_the_key_set_a_third_party_downloads():
    licence, card = printed_licence(number="KZ00000007", categories=("A", "B"))
    seal = verification.verify(card.verification_code, keys=downloaded_keys())
    assert (seal.number, seal.categories, seal.expires_on) == ("KZ00000007", ["A", "B"], licence.expires_on)


@pytest.mark.parametrize("position", [6, 20, 100, -30, -1])
def test_a_flipped_character_in_the_base45_text_is_refused(position):
    _licence, card = printed_licence()
    code = card.verification_code
    index = position % len(code)
    forged = code[:index] + ("A" if code[index] != "A" else "B") + code[index + 1:]
    with pytest.raises(InvalidCode):
        verification.verify(forged, keys=downloaded_keys())


def test_a_flipped_byte_of_the_signature_is_refused():
    _licence, card = printed_licence()
    protected, _unprotected, payload, signature = unpack(card.verification_code)
    forged = pack(protected, payload, bytes([signature[0] ^ 0x01]) + signature[1:])
    with pytest.raises(InvalidCode, match="bad signature"):
        verification.verify(forged, keys=downloaded_keys())


def test_an_altered_payload_under_the_old_signature_is_refused():
    _licence, card = printed_licence()
    protected, _unprotected, payload, signature = unpack(card.verification_code)
    claims = cbor2.loads(payload)
    claims[-260]["n"] = "KZ99999999"
    altered = pack(protected, cbor2.dumps(claims), signature)
    with pytest.raises(InvalidCode, match="bad signature"):
        verification.verify(altered, keys=downloaded_keys())
    claims = cbor2.loads(payload)
    claims[-260]["c"] = ["B", "BE", "C1", "D"]
    with pytest.raises(InvalidCode, match="bad signature"):
        verification.verify(pack(protected, cbor2.dumps(claims), signature), keys=downloaded_keys())


def test_a_code_signed_with_another_key_is_refused_under_an_unknown_kid_and_under_the_real_kid():
    _licence, card = printed_licence()
    rogue = Ed25519PrivateKey.generate()
    keys = downloaded_keys()
    with pytest.raises(InvalidCode, match="unknown key"):
        verification.verify(signed_by(card.verification_code, rogue, "rogue-2026"), keys=keys)
    with pytest.raises(InvalidCode, match="bad signature"):
        verification.verify(signed_by(card.verification_code, rogue, settings.LICENCE_SIGNING_KEY_ID), keys=keys)
    # The real kid, but a third party holding a wrong public key under it, refuses the genuine code too.
    with pytest.raises(InvalidCode, match="bad signature"):
        verification.verify(card.verification_code,
                            keys={settings.LICENCE_SIGNING_KEY_ID: Ed25519PrivateKey.generate().public_key()})


# --- the documentation's snippet ---------------------------------------------------------------------------------

def test_the_snippet_in_the_documentation_verifies_a_card_and_refuses_forgeries():
    licence, card = printed_licence()
    snippet = the_docs_snippet()
    keys = snippet["load_keys"](json.loads(json.dumps(verification.jwks())))
    check = snippet["check_licence_code"]
    licence_claims = check(card.verification_code, keys)
    assert licence_claims == {"n": "KZ00004217", "c": ["B", "BE", "C1"], "i": "2026-03-02", "e": "2036-03-01",
                              "s": "Құрманғалиева", "in": "Ә.Н.", "iss": settings.LICENCE_ISSUER,
                              "kid": settings.LICENCE_SIGNING_KEY_ID}

    protected, _unprotected, payload, signature = unpack(card.verification_code)
    claims = cbor2.loads(payload)
    claims[-260]["n"] = "KZ99999999"
    with pytest.raises(InvalidSignature):
        check(pack(protected, cbor2.dumps(claims), signature), keys)
    with pytest.raises(ValueError, match="unknown key id"):
        check(signed_by(card.verification_code, Ed25519PrivateKey.generate(), "rogue-2026"), keys)
    with pytest.raises(InvalidSignature):
        check(signed_by(card.verification_code, Ed25519PrivateKey.generate(), settings.LICENCE_SIGNING_KEY_ID), keys)
    with pytest.raises(ValueError, match="not a Kuälik licence code"):
        check("HC1:" + card.verification_code[6:], keys)
