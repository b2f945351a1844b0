"""The police officer's print queue (/staff/review/print/): approved applications waiting for their card, printed
several at a time; the cards printed today, each opened as a PDF or printed again when spoiled. The pages call the
same services as the API (reviews.services.print_licence, applications.services.reprint_card)."""

import datetime
import logging
import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from applications import cards
from applications.errors import ApplicationErrorCode
from applications.models import Application, CardPrint, Licence, PersonalDataAccess, PhotoSource, Status
from applications.services import current_card, current_photo, log_staff_read, reprint_card
from config.errors import DomainError

from . import services
from .staff_views import police_required

logger = logging.getLogger(__name__)

QUEUE_SIZE = 200  # rows shown; printing empties the queue from the top, so the next ones come up
MAX_BATCH = 50  # each card asks the person registry: a batch stays within one request's patience
PRINTED_TODAY_SIZE = 200
REPORT = "print_report"  # the session's memory of the last batch, shown once after the redirect


class PrintBatchForm(forms.Form):
    """The applications ticked for printing (their ids, repeated `application` inputs)."""

    application = forms.Field(widget=forms.MultipleHiddenInput, error_messages={
        "required": gettext_lazy("Select at least one application to print its card.")})

    def clean_application(self) -> list[uuid.UUID]:
        chosen = self.cleaned_data["application"]
        try:
            ids = list(dict.fromkeys(uuid.UUID(str(value)) for value in chosen))
        except ValueError:
            raise ValidationError(_("Select the applications from the list.")) from None
        if len(ids) > MAX_BATCH:
            raise ValidationError(_("Select at most %(limit)d applications at a time.") % {"limit": MAX_BATCH})
        return ids


class ReprintForm(forms.Form):
    """Why a spoiled card is printed again: required, and kept with the new card."""

    reason = forms.CharField(
        max_length=300,
        error_messages={"required": gettext_lazy("Say why the card is printed again."),
                        "max_length": gettext_lazy("Write the reason in at most %(limit_value)d characters.")})


def _today_start() -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))


def _waiting():
    return Application.objects.filter(status=Status.APPROVED).select_related("pickup_tson").order_by("decided_at", "id")


def _printed_today() -> list[CardPrint]:
    """The current card of each application printed (or printed again) today that still waits at its TSON."""
    return list(CardPrint.objects.filter(printed_at__gte=_today_start(), superseded_at__isnull=True,
                                         licence__application__status=Status.PRINTED)
                .select_related("licence__application", "printed_by")
                .order_by("-printed_at", "-id")[:PRINTED_TODAY_SIZE])


def _render(request, *, batch_form: PrintBatchForm | None = None, reprint: tuple[uuid.UUID, ReprintForm] | None = None,
            status: int = 200):
    waiting = _waiting()
    report = request.session.pop(REPORT, None) if request.method == "GET" else None
    ticked = {str(value) for value in (batch_form.data.getlist("application") if batch_form is not None else [])}
    waiting_rows = list(waiting[:QUEUE_SIZE])
    if report:
        shown = {str(application.pk) for application in waiting_rows}
        for failure in report["failed"]:
            failure["waiting"] = failure["pk"] in shown
        # What the last batch could not print stays ticked, so that trying again is one button.
        ticked |= {failure["pk"] for failure in report["failed"]}
    error_links = []
    if batch_form is not None:
        error_links += [("print-title", error) for error in batch_form.errors.get("application", [])]
    reprint_pk, reprint_form = reprint if reprint is not None else (None, None)
    if reprint_form is not None:
        error_links += [(f"reason-{reprint_pk}", error) for error in reprint_form.errors.get("reason", [])]
    return render(request, "staff/review/print_queue.html", {
        "count": waiting.count(),
        "waiting": waiting_rows,
        "ticked": ticked,
        "printed_today": _printed_today(),
        "report": report,
        "error_links": error_links,
        "batch_errors": batch_form.errors.get("application", []) if batch_form is not None else [],
        "reprint_pk": reprint_pk,
        "reprint_form": reprint_form,
        "max_batch": MAX_BATCH,
    }, status=status)


@never_cache
@require_safe
@police_required
def print_queue(request):
    return _render(request)


def _failure_reason(error: DomainError) -> str:
    if error.code == ApplicationErrorCode.WRONG_STATUS and error.extra.get("current_status") == Status.PRINTED:
        return _("It was printed already.")
    if error.code == ApplicationErrorCode.WRONG_STATUS:
        return _("It no longer waits to be printed.")
    return error.message


@require_POST
@police_required
def print_batch(request):
    """Print each ticked application's card in the queue's order; one that cannot be printed now (the person
    registry does not answer) is reported and the others go on."""
    form = PrintBatchForm(request.POST)
    if not form.is_valid():
        return _render(request, batch_form=form, status=400)
    chosen = (Application.objects.filter(pk__in=form.cleaned_data["application"]).only("pk", "number", "decided_at")
              .order_by("decided_at", "id"))
    printed, failed = [], []
    for application in chosen:
        try:
            services.print_licence(application=application, officer=request.user)
        except DomainError as error:
            logger.info("card for %s not printed: %s", application.number, error.code)
            failed.append({"pk": str(application.pk), "number": application.number,
                           "reason": _failure_reason(error)})
        else:
            licence = Licence.objects.only("number").get(application=application)
            printed.append({"number": application.number, "licence": licence.number})
    request.session[REPORT] = {"printed": printed, "failed": failed}
    return redirect("review:print-queue")


@require_POST
@police_required
def reprint(request, pk):
    """A spoiled card printed again, with the reason kept with the new card."""
    application = Application.objects.only("pk", "number").filter(pk=pk).first()
    if application is None:
        raise Http404
    form = ReprintForm(request.POST)
    if form.is_valid():
        try:
            card = reprint_card(application=application, officer=request.user, reason=form.cleaned_data["reason"])
        except DomainError as error:
            form.add_error("reason" if error.field == "reason" else None, error.message)
        else:
            messages.success(request, _("The card of licence %(number)s is printed again; the earlier card's code "
                                        "no longer counts as current.") % {"number": card.licence.number})
            return redirect("review:print-queue")
    if form.non_field_errors():
        # The application left the printed status meanwhile: nothing to print again from here.
        messages.error(request, " ".join(form.non_field_errors()))
        return redirect("review:print-queue")
    return _render(request, reprint=(application.pk, form), status=400)


@never_cache
@require_safe
@police_required
def card_pdf(request, number):
    """The licence's current card as a PDF (front and back): a read of the holder's personal data, logged."""
    licence = Licence.objects.select_related("application").filter(number=number).first()
    card = current_card(licence) if licence is not None else None
    if card is None:
        raise Http404
    photo = current_photo(licence.application)
    photo_bytes = None
    if photo is not None and photo.source == PhotoSource.TSON and photo.file:
        with photo.file.open("rb") as stored:
            photo_bytes = stored.read()
    document = cards.card_pdf(licence, card, photo_bytes=photo_bytes)
    log_staff_read(application=licence.application, user=request.user,
                   purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{cards.card_filename(licence)}"'
    return response
