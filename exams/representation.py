"""What the contract's Application shows of the exams (`exams.theory` and `exams.practical`), and the Slot and Booking
shapes the API answers with. Registered with `applications.sections` at start-up; reads prefetched rows only."""

from django.db.models import Prefetch

from config.api import MillisecondDateTimeField

from .models import Booking, ExamKind

_time = MillisecondDateTimeField().to_representation


def slot_json(slot) -> dict:
    return {"id": slot.pk, "centre": slot.centre.code, "kind": slot.kind, "starts_at": _time(slot.starts_at),
            "categories": slot.category_codes(), "capacity": slot.capacity, "free": slot.free}


def booking_json(booking: Booking) -> dict:
    return {"id": booking.pk, "slot": slot_json(booking.slot), "status": booking.status}


def examiner_booking_json(booking: Booking) -> dict:
    application = booking.application
    return {**booking_json(booking), "score": booking.score, "application": {
        "number": application.number, "iin": application.iin, "categories": application.categories,
        "language": application.language}}


def attempt_json(booking: Booking) -> dict:
    return {"at": _time(booking.result_at), "passed": booking.status == Booking.State.PASSED, "score": booking.score}


def exams_member(application) -> dict:
    bookings = sorted(application.exam_bookings.all(), key=lambda booking: (booking.booked_at, booking.pk))
    member = {}
    for kind in ExamKind.values:
        mine = [booking for booking in bookings if booking.kind == kind]
        attempts = sorted((booking for booking in mine if booking.is_attempt), key=lambda booking: booking.result_at)
        member[kind] = {"booking": booking_json(mine[-1]) if mine else None,
                        "attempts": [attempt_json(booking) for booking in attempts]}
    return member


def bookings_prefetch() -> Prefetch:
    return Prefetch("exam_bookings", queryset=Booking.objects.select_related("slot__centre")
                    .prefetch_related("slot__categories"))
