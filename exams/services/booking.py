"""Booking a seat, cancelling, rescheduling, and the attempt rules (steps 13 and 14).

Race-free by construction, with the database deciding:
- a seat is taken by one conditional UPDATE (`booked < capacity`, not started), backed by the CheckConstraint
  `exam_slot_booked_within_capacity`; freed by the mirror UPDATE;
- one active booking per kind per application: the partial unique constraint `one_active_booking_per_kind`;
- locks in one order: the application (the kernel's `lock`), then its bookings, then slots by ascending id, so a
  reschedule from A to B and another from B to A never wait on each other in a circle.
"""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.errors import WrongStatus
from applications.models import Application, Check, Registry, Status
from applications.workflow import lock, notify_on_commit

from ..errors import ExamError, ExamErrorCode
from ..models import Booking, ExamKind, ExamRules, ExamSlot, TheorySession

# Which exam an application books in each status.
STAGE_KIND = {Status.THEORY_EXAM: ExamKind.THEORY, Status.PRACTICAL_EXAM: ExamKind.PRACTICAL}


def stage_kind(application: Application) -> str | None:
    return STAGE_KIND.get(application.status)


# ---------------------------------------------------------------------------------------------------------------
# The attempt rules


@dataclass(frozen=True)
class AttemptRecord:
    """The failed attempts that count toward the rules for one kind: ours and those the exam system reported."""

    failed: int
    last_failed_at: datetime.datetime | None


def failed_attempts(application: Application, kind: str) -> AttemptRecord:
    ours = list(Booking.objects.filter(application=application, kind=kind, status=Booking.State.FAILED)
                .values_list("result_at", flat=True))
    facts = (Check.objects.filter(application=application, registry=Registry.EXAM_ATTEMPTS)
             .values_list("facts", flat=True).first()) or {}
    earlier = int(facts.get(kind) or 0)
    moments = [moment for moment in ours if moment is not None]
    if earlier and facts.get("last_failed_on"):
        # The exam system gives a day: the wait counts from the end of that day, never earlier than it could be.
        day = datetime.date.fromisoformat(facts["last_failed_on"])
        moments.append(timezone.make_aware(datetime.datetime.combine(day, datetime.time.max)))
    return AttemptRecord(failed=len(ours) + earlier, last_failed_at=max(moments) if moments else None)


def retake_from(application: Application, kind: str, rules: ExamRules | None = None) -> datetime.datetime | None:
    """From when a new booking of this kind may be made; None when nothing holds it back.

    After each failed attempt the retake wait applies; each time the failures reach a multiple of the set number
    (3 by policy), the long wait (6 months after the last exam) applies instead.
    """
    record = failed_attempts(application, kind)
    if not record.failed or record.last_failed_at is None:
        return None
    rules = rules or ExamRules.current()
    if record.failed % rules.attempts_before_long_wait == 0:
        return record.last_failed_at + rules.long_wait()
    return record.last_failed_at + datetime.timedelta(days=rules.retake_wait_days)


# ---------------------------------------------------------------------------------------------------------------
# Seats


def _take_seat(slot_id: int, now: datetime.datetime) -> int | None:
    """One conditional UPDATE: a seat while one is free and the slot has not started. Answers the seats now taken
    (RETURNING, which the ORM's update() cannot say), or None when no seat was had."""
    table = connection.ops.quote_name(ExamSlot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET booked = booked + 1 WHERE id = %s AND booked < capacity "  # noqa: S608
                       "AND starts_at > %s RETURNING booked", [slot_id, now])
        row = cursor.fetchone()
    return row[0] if row else None


def _free_seat(slot_id: int) -> None:
    ExamSlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _suitability_error(application: Application, slot: ExamSlot, kind: str, now) -> ExamError | None:
    if slot.kind != kind:
        return ExamError(ExamErrorCode.SLOT_NOT_SUITABLE,
                         _("This slot is for another exam: the application needs the %(kind)s.")
                         % {"kind": ExamKind(kind).label.lower()}, field="slot")
    if slot.has_started(now):
        return ExamError(ExamErrorCode.SLOT_NOT_SUITABLE, _("This exam has already started: choose a later one."),
                         field="slot")
    served = {category.code for category in slot.categories.all()}
    missing = [code for code in application.categories if code not in served]
    if missing:
        return ExamError(ExamErrorCode.SLOT_NOT_SUITABLE,
                         _("This slot does not serve category %(categories)s.") % {"categories": ", ".join(missing)},
                         field="slot")
    if not slot.centre.offers_exams or not slot.centre.is_active:
        return ExamError(ExamErrorCode.SLOT_NOT_SUITABLE, _("This centre takes no exams now."), field="slot")
    return None


def _slot(slot_id) -> ExamSlot:
    slot = ExamSlot.objects.select_related("centre").prefetch_related("categories").filter(pk=slot_id).first()
    if slot is None:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("There is no exam slot with this id."), field="slot")
    return slot


def _kind_for_booking(application: Application) -> str:
    kind = stage_kind(application)
    if kind is None:
        raise WrongStatus(application, "book", _("An exam can be booked only once the application waits for one "
                                                 "(it is %(status)s).") % {"status": Status(application.status).label})
    return kind


def _check_may_book(application: Application, slot: ExamSlot, kind: str, now) -> None:
    """Every rule of a new booking but the seat itself. One active booking per kind is the partial unique
    constraint's to say, when the booking is inserted (`_new_booking`)."""
    if error := _suitability_error(application, slot, kind, now):
        raise error
    if (allowed_from := retake_from(application, kind)) is not None and now < allowed_from:
        raise ExamError(ExamErrorCode.RETAKE_TOO_EARLY,
                        _("A retake can be booked from %(moment)s.")
                        % {"moment": timezone.localtime(allowed_from).strftime("%Y-%m-%d %H:%M")},
                        retake_from=timezone.localtime(allowed_from).isoformat(timespec="milliseconds"))


def _new_booking(application: Application, slot: ExamSlot, kind: str, now) -> Booking:
    """The booking row first, the seat last: the slot's row, which every booker of that slot waits for, stays
    locked only from the seat's UPDATE to the commit."""
    try:
        with transaction.atomic():
            booking = Booking.objects.create(application=application, slot=slot, kind=kind, booked_at=now)
    except IntegrityError as error:
        # The partial unique index: a booking of this kind was made meanwhile (the lock makes this a backstop).
        raise ExamError(ExamErrorCode.BOOKING_EXISTS,
                        _("This application already has a %(kind)s booked: cancel or reschedule it.")
                        % {"kind": ExamKind(kind).label.lower()}) from error
    taken = _take_seat(slot.pk, now)
    if taken is None:
        # Raised inside the use case's transaction: the booking row above is rolled back with it.
        if slot.has_started(timezone.now()):
            raise ExamError(ExamErrorCode.SLOT_NOT_SUITABLE, _("This exam has already started: choose a later one."),
                            field="slot")
        raise ExamError(ExamErrorCode.SLOT_FULL, _("Every seat of this slot is taken: choose another."))
    slot.booked = taken  # as the UPDATE left it, for the answer
    return booking


def _booking_details(booking: Booking) -> dict:
    return {"booking_id": booking.pk, "kind": booking.kind, "centre": booking.slot.centre.code,
            "starts_at": booking.slot.starts_at.isoformat()}


@transaction.atomic
def book_exam_slot(*, application: Application, slot_id, actor=None) -> Booking:
    """Take a seat in the slot for the exam the application waits for."""
    application = lock(application.pk).application
    kind = _kind_for_booking(application)
    slot = _slot(slot_id)
    now = timezone.now()
    _check_may_book(application, slot, kind, now)
    booking = _new_booking(application, slot, kind, now)
    notify_on_commit(application.pk, "exam_booked", _booking_details(booking))
    return booking


def _own_booking(application: Application, booking_id, *, for_update: bool = True) -> Booking:
    queryset = Booking.objects.select_related("slot", "slot__centre").filter(pk=booking_id, application=application)
    booking = (queryset.select_for_update(of=("self",)) if for_update else queryset).first()
    if booking is None:
        raise ExamError(ExamErrorCode.NOT_FOUND, _("Not found."))
    return booking


def _cancel(booking: Booking, now) -> None:
    booking.status = Booking.State.CANCELLED
    booking.cancelled_at = now
    booking.save(update_fields=["status", "cancelled_at"])
    _free_seat(booking.slot_id)


def _check_cancellable(booking: Booking, now) -> None:
    if booking.status != Booking.State.BOOKED:
        raise ExamError(ExamErrorCode.WRONG_STATUS, _("This booking is %(status)s: it cannot be changed.")
                        % {"status": Booking.State(booking.status).label.lower()})
    if booking.slot.has_started(now) or TheorySession.objects.filter(booking=booking).exists():
        # An exam opened on the terminal (up to an hour early) is under way: it ends with a result, not a cancel.
        raise ExamError(ExamErrorCode.WRONG_STATUS, _("The exam has started: the booking can no longer be changed."))


@transaction.atomic
def cancel_booking(*, application: Application, booking_id, actor=None) -> Booking:
    """Give the seat back at once. Cancelling a cancelled booking again changes nothing."""
    application = lock(application.pk).application
    booking = _own_booking(application, booking_id)
    if booking.status == Booking.State.CANCELLED:
        return booking
    now = timezone.now()
    _check_cancellable(booking, now)
    _cancel(booking, now)
    notify_on_commit(application.pk, "exam_cancelled", _booking_details(booking))
    return booking


@transaction.atomic
def reschedule_booking(*, application: Application, booking_id, slot_id, actor=None) -> Booking:
    """A cancel and a new booking in one transaction: either both happen or neither."""
    application = lock(application.pk).application
    booking = _own_booking(application, booking_id)
    now = timezone.now()
    _check_cancellable(booking, now)
    slot = _slot(slot_id)
    if slot.pk == booking.slot_id:
        return booking
    if error := _suitability_error(application, slot, booking.kind, now):
        raise error
    # Slots in ascending id order: the old seat freed and the new one taken in the same order everywhere.
    if booking.slot_id < slot.pk:
        _cancel(booking, now)
        new_booking = _new_booking(application, slot, booking.kind, now)
    else:
        if _take_seat(slot.pk, now) is None:
            raise ExamError(ExamErrorCode.SLOT_FULL, _("Every seat of this slot is taken: choose another."))
        _cancel(booking, now)
        new_booking = Booking.objects.create(application=application, slot=slot, kind=booking.kind, booked_at=now)
        new_booking.slot = slot
    notify_on_commit(application.pk, "exam_booked", _booking_details(new_booking))
    return new_booking


def free_bookings_of(application_id) -> int:
    """The application was cancelled (or left its exam stage): every seat it held is given back."""
    freed = 0
    with transaction.atomic():
        application = lock(application_id).application
        now = timezone.now()
        for booking in (Booking.objects.select_for_update().filter(application=application,
                                                                   status=Booking.State.BOOKED).order_by("slot_id")):
            _cancel(booking, now)
            freed += 1
    return freed
