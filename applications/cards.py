"""The licence card as a PDF: ID-1 size (85.60 × 53.98 mm), front and back, drawn with fpdf2 and the DejaVu font
we ship (applications/fonts/, its licence beside it), so that Kazakh letters render.

The fields are numbered as on Vienna Convention / ISO/IEC 18013-1 cards (docs: shared/domain.md, "Licence card").
The front carries the QR code of the card's signed verification code (`applications.verification`), the back a
PDF417 code of the same text: anyone with the published public key checks either offline
(docs/verifying-a-licence.md).

The card is a state document, not a page of the portal: its captions are fixed, in Kazakh, Russian and English, as on
a real card, whatever the language of the request that prints it.

Pure: it takes a licence, one of its printed cards and the photo's bytes, and returns the PDF's bytes. It asks
nothing of a request and writes nothing to the database.
"""

import datetime
import io
import logging
import math
from pathlib import Path

import segno
from django.utils import timezone
from fpdf import FPDF
from pdf417gen import encode, render_image
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import CardPrint, Licence

# fontTools logs every step of subsetting the font at INFO: a dozen lines per card say nothing an operator needs.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"

CARD_WIDTH_MM = 85.60
CARD_HEIGHT_MM = 53.98
MARGIN_MM = 2.6

# The service's colours: the sky blue and the gold of the flag.
SKY = (0, 175, 202)
GOLD = (254, 197, 12)
INK = (16, 32, 48)
LABEL = (0, 122, 143)  # the sky blue, darker, so that the small field numbers read on white
MUTED = (96, 110, 120)
PALE_SKY = (236, 249, 251)
PALE_GOLD = (255, 240, 190)
WHITE = (255, 255, 255)

# Front: the photo in a 3:4 box; the QR code at least 22 mm wide, so that it decodes from a 300-dpi scan.
PHOTO_WIDTH_MM = 19.5
PHOTO_HEIGHT_MM = PHOTO_WIDTH_MM * 4 / 3
PHOTO_PIXELS = (300, 400)  # about 390 dpi at the printed size: enough for the printer, small in the PDF
QR_WIDTH_MM = 25.0  # the image, its quiet zone included
QR_BORDER_MODULES = 2
QR_PIXELS_PER_MODULE = 8
PDF417_COLUMNS = 12
PDF417_SECURITY_LEVEL = 4  # 32 error-correction codewords: a scratched card still reads

# The back lists every category the law knows, in its order, with the dates of those the holder has (as EU cards do).
CATEGORY_ORDER = ("A1", "A", "B1", "B", "C1", "C", "D1", "D", "BE", "C1E", "CE", "D1E", "DE", "Tb", "Tm")

TITLE_COUNTRY = "ҚАЗАҚСТАН РЕСПУБЛИКАСЫ"
TITLE_DOCUMENT = "ЖҮРГІЗУШІ КУӘЛІГІ"
TITLE_TRANSLATIONS = "ВОДИТЕЛЬСКОЕ УДОСТОВЕРЕНИЕ · DRIVING LICENCE"
PHOTO_HELD_BY_REGISTRY = ("Фотосурет жеке тұлғалар тізілімінде",
                          "Фото хранится в реестре физических лиц",
                          "Photo held by the person registry")
SCAN_TO_VERIFY = "Тексеру · Проверка · Verify"
RESTRICTIONS_NONE = "—"


def card_filename(licence: Licence) -> str:
    return f"licence-{licence.number}.pdf"


def _date(day: datetime.date | None) -> str:
    return day.strftime("%d.%m.%Y") if day else "—"


class _Card(FPDF):
    """An FPDF with the card's two fonts and a few drawing helpers in card millimetres."""

    def __init__(self):
        super().__init__(orientation="L", unit="mm", format=(CARD_HEIGHT_MM, CARD_WIDTH_MM))
        self.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.c_margin = 0

    def text_at(self, x: float, y: float, text: str, *, size: float, bold: bool = False, color=INK,
                width: float | None = None, align: str = "L") -> float:
        """One line whose top is at y; shrunk until it fits `width`. Returns the width it took."""
        self.set_font(FONT, "B" if bold else "", size)
        if width is not None:
            while size > 3.5 and self.get_string_width(text) > width:
                size -= 0.25
                self.set_font(FONT, "B" if bold else "", size)
        self.set_text_color(*color)
        taken = self.get_string_width(text)
        height = size * 0.3528 * 1.15
        self.set_xy(x, y)
        self.cell(width if width is not None else taken, height, text, align=align)
        return taken

    def lines_at(self, x: float, y: float, text: str, *, size: float, width: float, max_lines: int,
                 min_size: float = 3.5, bold: bool = False, color=INK, line_factor: float = 1.15,
                 align: str = "L") -> float:
        """Text wrapped into lines of `width`: at `size` if it fits in `max_lines`, else at the largest size down to
        `min_size` that does; at `min_size` it takes the lines it needs, so nothing is ever cut. Returns its height."""
        while True:
            self.set_font(FONT, "B" if bold else "", size)
            lines = self.multi_cell(width, size * 0.3528 * line_factor, text, dry_run=True, output="LINES")
            if len(lines) <= max_lines or size - 0.25 < min_size:
                break
            size -= 0.25
        if len(lines) > max_lines and "-" in text:
            # A double-barrelled name breaks after its hyphen rather than inside a word.
            hyphenated = self.multi_cell(width, size * 0.3528 * line_factor, text.replace("-", "- "),
                                         dry_run=True, output="LINES")
            if len(hyphenated) <= len(lines):
                lines = [line.rstrip().replace("- ", "-") for line in hyphenated]
        self.set_text_color(*color)
        height = size * 0.3528 * line_factor
        for number, line in enumerate(lines):
            self.set_xy(x, y + number * height)
            self.cell(width, height, line, align=align)
        return height * len(lines)

    def sun(self, cx: float, cy: float, radius: float, rays: int = 32):
        """The flag's sun, as a pale watermark: a disc and its rays."""
        self.set_fill_color(*PALE_GOLD)
        inner, outer = radius * 1.25, radius * 1.85
        for ray in range(rays):
            angle = 2 * math.pi * ray / rays
            half = math.pi / rays * 0.55
            self.polygon([(cx + inner * math.cos(angle - half), cy + inner * math.sin(angle - half)),
                          (cx + outer * math.cos(angle), cy + outer * math.sin(angle)),
                          (cx + inner * math.cos(angle + half), cy + inner * math.sin(angle + half))], style="F")
        self.circle(cx, cy, radius, style="F")


def _photo_jpeg(photo_bytes: bytes) -> io.BytesIO:
    """The photo cropped to 3:4 around its centre, scaled to the card's resolution, as a JPEG."""
    try:
        image = Image.open(io.BytesIO(photo_bytes))
        image = ImageOps.exif_transpose(image)
        image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError("the photo is not a readable JPEG or PNG image") from error
    fitted = ImageOps.fit(image.convert("RGB"), PHOTO_PIXELS, method=Image.Resampling.LANCZOS)
    jpeg = io.BytesIO()
    fitted.save(jpeg, format="JPEG", quality=90)
    jpeg.seek(0)
    return jpeg


def _qr_image(code: str) -> Image.Image:
    qr = segno.make(code, error="m", micro=False, boost_error=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=QR_PIXELS_PER_MODULE, border=QR_BORDER_MODULES, dark="#000", light="#fff")
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def _pdf417_image(code: str) -> Image.Image:
    codes = encode(code, columns=PDF417_COLUMNS, security_level=PDF417_SECURITY_LEVEL)
    return render_image(codes, scale=4, ratio=3, padding=8).convert("L")


def _field(pdf: _Card, x: float, y: float, label: str, value: str, *, width: float, size: float = 5.6,
           min_size: float = 4.6, bold: bool = False, max_lines: int = 1, label_width: float = 4.6) -> float:
    """`label.` in the sky blue, its value beside it (see `lines_at`). Returns the y below it."""
    pdf.text_at(x, y + (size - 4.2) * 0.2, f"{label}.", size=4.2, bold=True, color=LABEL)
    height = pdf.lines_at(x + label_width, y, value, size=size, min_size=min_size, width=width - label_width,
                          max_lines=max_lines, bold=bold)
    return y + height + 0.35


def _front(pdf: _Card, licence: Licence, card: CardPrint, photo_bytes: bytes | None) -> None:
    pdf.add_page()
    width, height = CARD_WIDTH_MM, CARD_HEIGHT_MM
    header = 10.2

    # The ground: white, a pale sky-blue wash under the fields, the sun as a watermark.
    pdf.set_fill_color(*WHITE)
    pdf.rect(0, 0, width, height, style="F")
    pdf.set_fill_color(*PALE_SKY)
    pdf.rect(0, header, width, height - header, style="F")
    pdf.sun(43.5, 31.5, 6.2)

    # The heading band: sky blue, a gold rule under it, the country's sign in gold on the right.
    pdf.set_fill_color(*SKY)
    pdf.rect(0, 0, width, header, style="F")
    pdf.set_fill_color(*GOLD)
    pdf.rect(0, header, width, 0.7, style="F")
    pdf.text_at(MARGIN_MM, 1.05, TITLE_COUNTRY, size=5.2, bold=True, color=WHITE)
    pdf.text_at(MARGIN_MM, 3.4, TITLE_DOCUMENT, size=8.4, bold=True, color=WHITE)
    pdf.text_at(MARGIN_MM, 7.0, TITLE_TRANSLATIONS, size=4.3, color=WHITE)
    badge_x, badge_w = width - MARGIN_MM - 9.5, 9.5
    pdf.set_fill_color(*GOLD)
    pdf.rect(badge_x, 1.8, badge_w, 6.6, style="F", round_corners=True, corner_radius=1.2)
    pdf.text_at(badge_x, 2.85, "KZ", size=10.5, bold=True, color=INK, width=badge_w, align="C")

    # The photo, 3:4, on the left; or a plain box when the registry keeps it.
    top = header + 2.3
    photo_x = MARGIN_MM
    if photo_bytes is not None:
        pdf.image(_photo_jpeg(photo_bytes), x=photo_x, y=top, w=PHOTO_WIDTH_MM, h=PHOTO_HEIGHT_MM)
        pdf.set_draw_color(*MUTED)
        pdf.set_line_width(0.15)
        pdf.rect(photo_x, top, PHOTO_WIDTH_MM, PHOTO_HEIGHT_MM)
    else:
        pdf.set_fill_color(*WHITE)
        pdf.set_draw_color(*MUTED)
        pdf.set_line_width(0.2)
        pdf.rect(photo_x, top, PHOTO_WIDTH_MM, PHOTO_HEIGHT_MM, style="DF")
        y = top + PHOTO_HEIGHT_MM / 2 - 6.0
        for text in PHOTO_HELD_BY_REGISTRY:
            y += pdf.lines_at(photo_x + 1.0, y, text, size=3.6, width=PHOTO_WIDTH_MM - 2.0, max_lines=3,
                              color=MUTED, line_factor=1.2, align="C") + 1.0
    # 5. The number under the photo, large, as the card's reference.
    pdf.text_at(photo_x, top + PHOTO_HEIGHT_MM + 1.6, "5.", size=4.2, bold=True, color=LABEL)
    pdf.text_at(photo_x, top + PHOTO_HEIGHT_MM + 3.3, licence.number, size=7.2, bold=True,
                width=PHOTO_WIDTH_MM + 2)

    # The QR code of the verification code on the right, on white.
    qr_x = width - MARGIN_MM - QR_WIDTH_MM + 0.8
    qr_y = header + 1.6
    pdf.set_fill_color(*WHITE)
    pdf.rect(qr_x, qr_y, QR_WIDTH_MM, QR_WIDTH_MM, style="F")
    pdf.image(_qr_image(card.verification_code), x=qr_x, y=qr_y, w=QR_WIDTH_MM, h=QR_WIDTH_MM)
    printed_at = card.printed_at if timezone.is_aware(card.printed_at) else timezone.make_aware(card.printed_at)
    pdf.text_at(qr_x, qr_y + QR_WIDTH_MM + 0.9, SCAN_TO_VERIFY, size=3.8, color=MUTED, width=QR_WIDTH_MM,
                align="C")
    pdf.text_at(qr_x, qr_y + QR_WIDTH_MM + 2.8, f"{card.key_id} · {timezone.localtime(printed_at):%d.%m.%Y}", size=3.4,
                color=MUTED, width=QR_WIDTH_MM, align="C")

    # The fields between them.
    x = photo_x + PHOTO_WIDTH_MM + 2.2
    column = qr_x - 1.4 - x
    y = top - 0.3
    y = _field(pdf, x, y, "1", licence.surname.upper(), width=column, size=7.4, min_size=5.6, bold=True)
    y = _field(pdf, x, y, "2", licence.given_names.upper(), width=column, size=6.0, min_size=5.0, bold=True,
               max_lines=2)
    birth = " ".join(part for part in (_date(licence.birth_date), licence.birth_place) if part)
    y = _field(pdf, x, y, "3", birth, width=column)
    y = _field(pdf, x, y, "4a", _date(licence.issued_on), width=column)
    y = _field(pdf, x, y, "4b", _date(licence.expires_on), width=column)
    y = _field(pdf, x, y, "4c", licence.authority, width=column, size=5.0, min_size=4.4, max_lines=2)
    y = _field(pdf, x, y, "4d", licence.iin, width=column)
    y = _field(pdf, x, y, "8", licence.residence or "—", width=column, size=5.0, min_size=4.4, max_lines=2)
    _field(pdf, x, y + 0.2, "9", " ".join(licence.categories), width=column, size=7.0, min_size=5.6, bold=True)

    # A sky-blue rule closes the card.
    pdf.set_fill_color(*SKY)
    pdf.rect(0, height - 1.2, width, 1.2, style="F")


def _back(pdf: _Card, licence: Licence, card: CardPrint) -> None:
    pdf.add_page()
    width, height = CARD_WIDTH_MM, CARD_HEIGHT_MM
    pdf.set_fill_color(*WHITE)
    pdf.rect(0, 0, width, height, style="F")
    pdf.set_fill_color(*SKY)
    pdf.rect(0, 0, width, 1.6, style="F")
    pdf.set_fill_color(*GOLD)
    pdf.rect(0, 1.6, width, 0.5, style="F")

    # 9 | 10 | 11 | 12: every category, with the dates of those held; 12. restrictions below.
    held = set(licence.categories)
    categories = list(CATEGORY_ORDER) + [code for code in licence.categories if code not in CATEGORY_ORDER]
    x0, top = MARGIN_MM, 3.0
    columns = [("9.", 8.0), ("10.", 11.5), ("11.", 11.5), ("12.", 9.0)]
    row = 1.78
    table_width = sum(column_width for _, column_width in columns)
    pdf.set_fill_color(*SKY)
    pdf.rect(x0, top, table_width, row + 0.2, style="F")
    x = x0
    for title, column_width in columns:
        pdf.text_at(x + 0.8, top + 0.15, title, size=4.4, bold=True, color=WHITE)
        x += column_width
    pdf.set_draw_color(190, 214, 220)
    pdf.set_line_width(0.08)
    y = top + row + 0.2
    for number, code in enumerate(categories):
        if code in held:
            pdf.set_fill_color(*PALE_GOLD)
            pdf.rect(x0, y, table_width, row, style="F")
        elif number % 2:
            pdf.set_fill_color(*PALE_SKY)
            pdf.rect(x0, y, table_width, row, style="F")
        x = x0
        cells = (code, _date(licence.issued_on), _date(licence.expires_on), "") if code in held else (code, "", "", "")
        for (title, column_width), text in zip(columns, cells, strict=True):
            if text:
                pdf.text_at(x + 0.8, y + 0.12, text, size=4.2, bold=(title == "9." and code in held),
                            color=INK if code in held else MUTED)
            x += column_width
        y += row
    table_bottom = y
    # The rules last, so that no row's fill covers them.
    for number in range(1, len(categories) + 2):
        rule_y = top + 0.2 + number * row
        pdf.line(x0, rule_y, x0 + table_width, rule_y)
    x = x0
    for _, column_width in columns[:-1]:
        x += column_width
        pdf.line(x, top, x, table_bottom)

    # Beside the table: the number, the restrictions, then who issued the card.
    side_x = x0 + table_width + 3.0
    side_w = width - MARGIN_MM - side_x
    pdf.text_at(side_x, top, "5.", size=4.2, bold=True, color=LABEL)
    pdf.text_at(side_x + 3.6, top - 0.35, licence.number, size=6.8, bold=True, width=side_w - 3.6)
    y = top + 4.0
    pdf.text_at(side_x, y, "12.", size=4.2, bold=True, color=LABEL)
    y += pdf.lines_at(side_x + 3.6, y - 0.15, licence.restrictions or RESTRICTIONS_NONE, size=5.2, min_size=4.2,
                      width=side_w - 3.6, max_lines=3)
    y = max(y + 2.5, top + 12.5)
    y += pdf.lines_at(side_x, y, f"{TITLE_DOCUMENT}\n{TITLE_COUNTRY}", size=3.8, width=side_w, max_lines=4,
                      color=MUTED) + 1.2
    pdf.lines_at(side_x, y, f"4c. {licence.authority}", size=3.8, width=side_w, max_lines=3, color=MUTED)

    # The PDF417 code of the same verification code, across the bottom.
    image = _pdf417_image(card.verification_code)
    code_w = width - 2 * MARGIN_MM
    code_h = min(code_w * image.height / image.width, height - table_bottom - 2.6)
    code_y = height - 1.6 - code_h
    pdf.image(image, x=MARGIN_MM, y=code_y, w=code_w, h=code_h)


def card_pdf(licence: Licence, card: CardPrint, *, photo_bytes: bytes | None) -> bytes:
    """The card of `licence` as printed with `card`'s code: two ID-1 pages, the front and the back.

    `photo_bytes` is the photo (JPEG or PNG), cropped into the 3:4 box; None draws a plain box that says the person
    registry holds it. An unreadable photo is a ValueError."""
    pdf = _Card()
    pdf.set_lang("kk-KZ")
    pdf.set_title(f"{TITLE_DOCUMENT} / Driving licence {licence.number}")
    pdf.set_author(licence.authority)
    pdf.set_creator("Kuälik")
    printed_at = card.printed_at if timezone.is_aware(card.printed_at) else timezone.make_aware(card.printed_at)
    pdf.set_creation_date(printed_at)
    _front(pdf, licence, card, photo_bytes)
    _back(pdf, licence, card)
    return bytes(pdf.output())
