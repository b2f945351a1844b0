"""Reads that more than one page or API view needs: slots to choose from, bookings as shown, an examiner's day."""

import datetime

from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from .models import Booking, ExamSlot


def local_day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))


def _slots() -> QuerySet[ExamSlot]:
    return ExamSlot.objects.select_related("centre").prefetch_related("categories")


def bookable_slots(*, kind: str | None = None, category: str | None = None, centre: str | None = None,
                   date_from: datetime.date | None = None, date_to: datetime.date | None = None,
                   categories: list[str] | None = None) -> QuerySet[ExamSlot]:
    """Future slots with a free seat, soonest first. `categories`: only slots serving every one of them."""
    queryset = _slots().filter(starts_at__gt=timezone.now(), booked__lt=F("capacity"), centre__is_active=True,
                               centre__offers_exams=True)
    if kind:
        queryset = queryset.filter(kind=kind)
    if centre:
        queryset = queryset.filter(centre__code=centre)
    for code in ([category] if category else []) + list(categories or []):
        queryset = queryset.filter(categories__code=code)
    if date_from:
        queryset = queryset.filter(starts_at__gte=local_day_bounds(date_from)[0])
    if date_to:
        queryset = queryset.filter(starts_at__lt=local_day_bounds(date_to)[1])
    return queryset.order_by("starts_at", "id")


def slot(slot_id) -> ExamSlot | None:
    return _slots().filter(pk=slot_id).first()


def bookings() -> QuerySet[Booking]:
    return Booking.objects.select_related("slot__centre").prefetch_related(
        Prefetch("slot__categories"))


def booking(booking_id, *, application=None) -> Booking | None:
    queryset = bookings().filter(pk=booking_id)
    if application is not None:
        queryset = queryset.filter(application=application)
    return queryset.first()


def bookings_of_day(*, centre, day: datetime.date, kind: str | None = None) -> QuerySet[Booking]:
    """A centre's bookings of one local day (not cancelled), by start, with the application's number and language."""
    start, end = local_day_bounds(day)
    queryset = (bookings().select_related("application", "theory_session")
                .filter(slot__centre=centre, slot__starts_at__gte=start, slot__starts_at__lt=end)
                .exclude(status=Booking.State.CANCELLED).order_by("slot__starts_at", "slot_id", "id"))
    return queryset.filter(kind=kind) if kind else queryset
