"""The public verify page (scan or paste a card's QR code: is this licence valid now?) and the citizen's own card as
a PDF. Thin over `services.verify_licence_code`, which answers exactly as `GET /api/v1/licences/verify` does."""

import datetime

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.security import allow_camera

from . import cards, services
from .category_names import category_labels
from .models import PhotoSource, Status
from .views import citizen_required, own_application

# As the API's query serializer: a card's code is a few hundred characters; anything longer is not one.
CODE_MAX_LENGTH = 2000
# The statuses in which the card exists: printed and waiting at the TSON, or handed over.
CARD_STATUSES = (Status.PRINTED, Status.ISSUED)


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("The text of the QR code on the card"),
        help_text=gettext_lazy("It starts with KZDL1: and is the text that any QR code reader shows for the "
                               "card's code."),
        max_length=CODE_MAX_LENGTH, strip=True,
        error_messages={
            "required": gettext_lazy("Paste the text of the card's QR code, or scan the code with the camera."),
            "max_length": gettext_lazy("This is longer than any licence code: check that you pasted only the "
                                       "text of the card's QR code."),
        },
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "off",
                                     "autocomplete": "off", "data-verify-code": ""}),
    )


def _explanation(status: str, expires_on: datetime.date | None) -> str:
    """The licence's status in plain words, for whoever holds the card in their hand."""
    if status == "valid":
        return _("The licence was issued by the Republic of Kazakhstan and is valid today: its holder may drive "
                 "vehicles of the categories below until the expiry date.")
    if status == "replaced":
        return _("This card is no longer valid: the licence was replaced by a new card (after a loss, damage, a "
                 "change of personal data or expiry). Only the newest card counts; ask the holder for it.")
    if status == "revoked":
        return _("This licence has been revoked by the authorities: its holder may not drive on it.")
    if status == "expired":
        return _("This licence expired on %(date)s: its holder may not drive on it until it is renewed.") % {
            "date": expires_on.strftime("%d.%m.%Y") if expires_on else ""}
    return _("This licence is not valid.")


STATUS_NAMES = {
    "valid": gettext_lazy("Valid"),
    "replaced": gettext_lazy("Replaced"),
    "revoked": gettext_lazy("Revoked"),
    "expired": gettext_lazy("Expired"),
}


def _result(answer: dict) -> dict:
    """The verify answer as the page shows it."""
    if not answer.get("status"):
        return {"valid": False, "forged": True}
    status = answer["status"]
    expires_on = datetime.date.fromisoformat(answer["expires_on"]) if answer.get("expires_on") else None
    holder = answer.get("holder") or {}
    return {
        "valid": bool(answer.get("valid")), "forged": False, "status": status,
        "status_name": STATUS_NAMES.get(status, status), "explanation": _explanation(status, expires_on),
        "number": answer.get("number", ""), "categories": answer.get("categories") or [],
        "category_labels": category_labels(answer.get("categories") or []), "expires_on": expires_on,
        "holder": " ".join(part for part in (holder.get("surname", ""), holder.get("initials", "")) if part),
    }


@allow_camera
def verify_page(request):
    """Scan or paste: `?code=` checks the code's signature and the licence's status now. A GET form, so that it
    works without JavaScript; where the browser reads QR codes, the camera fills the code in and submits."""
    result = None
    form = VerifyForm(request.GET if "code" in request.GET else None)
    if form.is_bound and form.is_valid():
        result = _result(services.verify_licence_code(form.cleaned_data["code"]))
    response = render(request, "verify/page.html", {"form": form, "result": result})
    if form.is_bound:
        # The answer is about a person and may change (a licence revoked): no cache keeps it.
        patch_cache_control(response, private=True, no_store=True)
    return response


def _photo_bytes(application) -> bytes | None:
    """The photo taken at the TSON; None for the registry's photo (it stays with the registry)."""
    photo = services.current_photo(application)
    if photo is None or photo.source != PhotoSource.TSON or not photo.file:
        return None
    with photo.file.open("rb") as file:
        return file.read()


@citizen_required
def card_pdf(request, pk):
    """The citizen's own licence card as a PDF, once it is printed; anyone else's card does not exist (404)."""
    application = own_application(request, pk)
    licence = getattr(application, "licence_record", None)
    if application.status not in CARD_STATUSES or licence is None:
        raise Http404
    card = services.current_card(licence)
    if card is None:
        raise Http404
    response = HttpResponse(cards.card_pdf(licence, card, photo_bytes=_photo_bytes(application)),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{cards.card_filename(licence)}"'
    # It carries personal data: no shared cache keeps it.
    patch_cache_control(response, private=True, no_store=True)
    return response
