"""The citizen's exam pages on the portal: the slot picker (book and reschedule), the booking made, and cancelling.
The booking and results on the application page come from the `exam_portal` template tag. Thin over services."""

import datetime

from django import forms
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.models import Application
from applications.views import citizen_required, own_application
from config.errors import DomainError

from . import selectors, services
from .errors import ExamErrorCode
from .forms import BookingForm, SlotFilterForm, monday_of, week_label
from .models import Booking, ExamKind

# The picker shows one week; this many times at most, so that a busy week still makes a small page.
MOST_SLOTS_SHOWN = 150
HEADINGS = {
    (ExamKind.THEORY, False): gettext_lazy("Choose a date and time for the theory exam"),
    (ExamKind.THEORY, True): gettext_lazy("Choose a new date and time for the theory exam"),
    (ExamKind.PRACTICAL, False): gettext_lazy("Choose a date and time for the practical exam"),
    (ExamKind.PRACTICAL, True): gettext_lazy("Choose a new date and time for the practical exam"),
}


def _active_booking(application: Application, kind: str, *, fresh: bool = False) -> Booking | None:
    """The application's booked seat for `kind`: from the prefetched bookings, or (`fresh`) from the database."""
    if fresh:
        return application.exam_bookings.filter(kind=kind, status=Booking.State.BOOKED).first()
    return next((booking for booking in application.exam_bookings.all()
                 if booking.kind == kind and booking.status == Booking.State.BOOKED), None)


def retake_wait(application: Application, kind: str) -> datetime.datetime | None:
    """When a retake may be booked, while that is still ahead; None when booking is open now."""
    moment = services.retake_from(application, kind)
    return moment if moment is not None and moment > timezone.now() else None


def _local(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "d.m.Y H:i")


def _application_waiting_for(request, pk, kind) -> Application | None:
    """The citizen's application, if it waits for this exam now; None when it has moved on (a stale link)."""
    if kind not in ExamKind.values:
        raise Http404
    application = own_application(request, pk, to_act=True)
    return application if services.stage_kind(application) == kind else None


def _shown_week(filters: SlotFilterForm, application: Application, kind: str, centre: str | None) -> datetime.date:
    """The week asked for; else the week of the soonest free time, so that the first page is never empty for nothing."""
    if week := filters.cleaned_data.get("week"):
        return week
    soonest = (selectors.bookable_slots(kind=kind, categories=application.categories, centre=centre)
               .prefetch_related(None).values_list("starts_at", flat=True).first())
    return monday_of(timezone.localdate(soonest) if soonest else timezone.localdate())


def _by_centre_and_day(slots: list) -> list[dict]:
    """[{centre, days: [{day, slots}]}], centres by city and name, days and times in order; the first radio gets the
    field's own id, which the error summary links to."""
    centres: dict[int, dict] = {}
    for slot in slots:
        group = centres.setdefault(slot.centre_id, {"centre": slot.centre, "days": {}})
        group["days"].setdefault(timezone.localdate(slot.starts_at), []).append(slot)
    groups = sorted(centres.values(), key=lambda group: (group["centre"].city_in(), group["centre"].name_in()))
    first = True
    for group in groups:
        group["days"] = [{"day": day, "slots": day_slots} for day, day_slots in group["days"].items()]
        for day in group["days"]:
            for slot in day["slots"]:
                slot.input_id = "id_slot" if first else f"id_slot_{slot.pk}"
                first = False
    return groups


def _week_link(request, centre: str | None, week: datetime.date) -> str:
    query = {"week": week.isoformat(), **({"centre": centre} if centre else {})}
    return f"{request.path}?{urlencode(query)}"


def _show_problem(form: BookingForm, problem: DomainError) -> None:
    """A refusal of the rules in plain words, next to the choice it is about, or at the top of the page."""
    code = problem.code
    if code == ExamErrorCode.SLOT_FULL:
        form.add_error("slot", _("Every seat at that time has just been taken. Choose another time."))
    elif code == ExamErrorCode.SLOT_NOT_SUITABLE:
        form.add_error("slot", problem.message)
    elif code in (ExamErrorCode.VALIDATION_ERROR, ExamErrorCode.NOT_FOUND):
        form.add_error("slot", _("Choose a date and time from the list."))
    elif code == ExamErrorCode.RETAKE_TOO_EARLY and (moment := parse_datetime(problem.extra.get("retake_from", ""))):
        form.add_error(None, _("You can book a retake from %(moment)s.") % {"moment": _local(moment)})
    elif code == ExamErrorCode.BOOKING_EXISTS:
        form.add_error(None, _("You already have this exam booked (shown below). To change it, choose a new time: "
                               "your booking moves there."))
    else:
        form.add_error(None, problem.message)


def _book_or_move(request, application: Application, kind: str, form: BookingForm) -> Booking | None:
    """Book, or move the booking the page showed. A second click, or another tab that chose the same time, finds the
    seat already held: that is success, not an error. None (with the form's error) when the rules refuse."""
    slot_id, shown = form.cleaned_data["slot"], form.cleaned_data["booking"]
    current = _active_booking(application, kind, fresh=True)
    if current is not None and current.slot_id == slot_id:
        return current
    if (current.pk if current else None) != shown:
        form.add_error(None, _("Your booking changed in another window. Check it below and choose again."))
        return None
    try:
        if current is not None:
            return services.reschedule_booking(application=application, booking_id=current.pk, slot_id=slot_id,
                                               actor=request.user)
        return services.book_exam_slot(application=application, slot_id=slot_id, actor=request.user)
    except DomainError as problem:
        if problem.code == ExamErrorCode.BOOKING_EXISTS:
            current = _active_booking(application, kind, fresh=True)  # two clicks at once: the other one won
            if current is not None and current.slot_id == slot_id:
                return current
        _show_problem(form, problem)
        return None


@citizen_required
def choose_slot(request, pk, kind):
    """The slot picker: free times of one week that serve every category applied for, by centre and day. Books, or
    with a booking held, moves it."""
    application = _application_waiting_for(request, pk, kind)
    if application is None:
        return redirect("portal:application", pk=pk)
    form = BookingForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        # The page may have changed since it was shown: a new booking is made from the database's state.
        if form.is_valid() and (booking := _book_or_move(request, application, kind, form)) is not None:
            return redirect("exams_portal:booking", pk=application.pk, booking_id=booking.pk)
        application = own_application(request, pk, to_act=True)
    current = _active_booking(application, kind)
    if current is not None and current.slot.has_started():
        return redirect("portal:application", pk=application.pk)  # the exam is on: nothing to choose any more
    retake = None if current else retake_wait(application, kind)
    filters = SlotFilterForm(request.GET)
    filters.is_valid()  # a value that is not offered (an old week, a closed centre) is left out
    centre = filters.cleaned_data.get("centre")
    centre_code = centre.code if centre else None
    week = _shown_week(filters, application, kind, centre_code)
    slots = list(selectors.bookable_slots(kind=kind, categories=application.categories, centre=centre_code,
                                          date_from=week, date_to=week + datetime.timedelta(days=6))
                 [:MOST_SLOTS_SHOWN + 1]) if retake is None else []
    weeks = filters.weeks()
    shown_filters = SlotFilterForm(initial={"centre": centre_code, "week": week.isoformat()})
    return render(request, "portal/exams/choose_slot.html", {
        "application": application, "kind": kind, "heading": HEADINGS[(kind, current is not None)],
        "current": current, "retake": retake, "filters": shown_filters, "form": form,
        "chosen": str(form.data.get("slot", "")), "groups": _by_centre_and_day(slots[:MOST_SLOTS_SHOWN]),
        "more_than_shown": len(slots) > MOST_SLOTS_SHOWN, "centre": centre, "week_label": week_label(week),
        "previous_week": _week_link(request, centre_code, week - datetime.timedelta(weeks=1))
        if week > weeks[0] else None,
        "next_week": _week_link(request, centre_code, week + datetime.timedelta(weeks=1))
        if week < weeks[-1] else None,
    })


def _own_booking(request, pk, booking_id) -> tuple[Application, Booking]:
    application = own_application(request, pk, to_act=True)
    booking = selectors.booking(booking_id, application=application)
    if booking is None:
        raise Http404
    return application, booking


@citizen_required
def booking_made(request, pk, booking_id):
    """Where the picker leads after booking: what was booked, and that an SMS says the same."""
    application, booking = _own_booking(request, pk, booking_id)
    if booking.status != Booking.State.BOOKED:
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/exams/booking_made.html", {"application": application, "booking": booking})


@citizen_required
def cancel_booking(request, pk, booking_id):
    """Cancelling asks first; the seat is given back at once."""
    application, booking = _own_booking(request, pk, booking_id)
    if booking.status != Booking.State.BOOKED:  # cancelled already, or the exam took place
        return redirect("portal:application", pk=application.pk)
    form = forms.Form(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        try:
            services.cancel_booking(application=application, booking_id=booking.pk, actor=request.user)
        except DomainError as problem:
            form.add_error(None, problem.message)
        else:
            return redirect(f"{reverse('portal:application', kwargs={'pk': application.pk})}#exams")
    return render(request, "portal/exams/cancel_booking.html",
                  {"application": application, "booking": booking, "form": form})
