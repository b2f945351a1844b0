"""The SMS texts of the exams: each booking, the reminder the day before, each result, a no-show. Registered with
the applications' notices at start-up, written once here, in the citizen's language (the active one when called)."""

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from applications.models import Centre
from applications.services import register_notice

from ..models import ExamKind


def _kind(details: dict) -> str:
    return str(ExamKind(details["kind"]).label)


def _where_and_when(details: dict) -> dict:
    centre = Centre.objects.filter(code=details["centre"]).first()
    starts_at = timezone.localtime(parse_datetime(details["starts_at"]))
    return {"kind": _kind(details), "centre": centre.name_in() if centre else details["centre"],
            "address": centre.address_in() if centre else "", "when": starts_at.strftime("%d.%m.%Y %H:%M")}


def booked(application, details: dict) -> str:
    return _("Kuälik: %(kind)s booked for %(when)s at %(centre)s, %(address)s. Bring your identity document.") \
        % _where_and_when(details)


def cancelled(application, details: dict) -> str:
    return _("Kuälik: your %(kind)s booking for %(when)s is cancelled; the seat is free again.") \
        % _where_and_when(details)


def reminder(application, details: dict) -> str:
    return _("Kuälik: reminder: your %(kind)s is on %(when)s at %(centre)s, %(address)s. Bring your identity "
             "document.") % _where_and_when(details)


def result(application, details: dict) -> str:
    kind = _kind(details)
    if details["passed"]:
        if details["kind"] == ExamKind.THEORY:
            next_step = _("Next: book the practical exam.")
        else:
            next_step = _("Next: pay the state fee and have your photo taken.")
        return _("Kuälik: %(kind)s passed (score %(score)s). %(next_step)s") % {
            "kind": kind, "score": details.get("score") if details.get("score") is not None else "—",
            "next_step": next_step}
    return _("Kuälik: %(kind)s not passed (score %(score)s). You can book a retake after the waiting time; the "
             "portal shows the date.") % {
        "kind": kind, "score": details.get("score") if details.get("score") is not None else "—"}


def no_show(application, details: dict) -> str:
    if details.get("counted"):
        return _("Kuälik: you did not come to the %(kind)s; it counts as a failed attempt. The portal shows when you "
                 "can book again.") % {"kind": _kind(details)}
    return _("Kuälik: you did not come to the %(kind)s; your booking is cancelled. Book another date on the "
             "portal.") % {"kind": _kind(details)}


def register() -> None:
    for event, writer in (("exam_booked", booked), ("exam_cancelled", cancelled), ("exam_reminder", reminder),
                          ("exam_result", result), ("exam_no_show", no_show)):
        register_notice(event, writer)
