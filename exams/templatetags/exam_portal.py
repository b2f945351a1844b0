"""The exams' part of the citizen's application page: the booking held, what to book, the results so far.

The applications app does not know the exams; its status template loads this tag for the two exam statuses."""

from django import template

from exams import services
from exams.models import Booking, ExamKind
from exams.views import retake_wait

register = template.Library()


@register.inclusion_tag("portal/exams/_summary.html")
def exam_summary(application, may_act=False) -> dict:
    """Reads the bookings prefetched with the application (`applications.sections`), and the attempt rules."""
    kind = services.stage_kind(application)
    bookings = sorted(application.exam_bookings.all(), key=lambda booking: (booking.booked_at, booking.pk))
    current = next((booking for booking in bookings
                    if booking.kind == kind and booking.status == Booking.State.BOOKED), None)
    attempts = sorted((booking for booking in bookings if booking.is_attempt), key=lambda booking: booking.result_at)
    last = next((attempt for attempt in reversed(attempts) if attempt.kind == kind), None)
    theory_passed = next((attempt for attempt in attempts
                          if attempt.kind == ExamKind.THEORY and attempt.status == Booking.State.PASSED), None)
    return {
        "application": application, "may_act": may_act, "kind": kind, "current": current,
        "changeable": current is not None and not current.slot.has_started(),
        "retake": retake_wait(application, kind) if kind and current is None else None,
        "last_failed": last if last is not None and last.status == Booking.State.FAILED else None,
        "theory_passed": theory_passed if kind == ExamKind.PRACTICAL else None,
        "attempts": attempts,
    }
