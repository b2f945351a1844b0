"""Exam results: recorded once per booking (by the API, the terminal and the practical sheet alike), reported to the
exam system, told to the citizen; and the beat's two chores, the reminder the day before and the no-shows after.
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Application, PersonalDataAccess, Status
from applications.workflow import lock, move_application, notify_on_commit
from config.jobs import enqueue_on_commit
from registries.clients import exam_results_client
from registries.results import Outcome

from ..errors import ExamError, ExamErrorCode
from ..models import Booking, ExamKind, ExamRules, PracticalFault

# A result may be recorded from this long before the slot starts (the contract: one hour).
RESULT_OPENS_BEFORE = datetime.timedelta(hours=1)
PASS_TRANSITION = {ExamKind.THEORY: "pass_theory_exam", ExamKind.PRACTICAL: "pass_practical_exam"}
STAGE_STATUS = {ExamKind.THEORY: Status.THEORY_EXAM, ExamKind.PRACTICAL: Status.PRACTICAL_EXAM}


def _locked_booking(booking_id) -> tuple[Application, Booking]:
    """The booking's application locked first, then the booking (the kernel's order)."""
    application_id = Booking.objects.filter(pk=booking_id).values_list("application_id", flat=True).first()
    if application_id is None:
        raise ExamError(ExamErrorCode.NOT_FOUND, _("Not found."))
    application = lock(application_id).application
    booking = Booking.objects.select_for_update(of=("self",)).select_related("slot", "slot__centre").get(pk=booking_id)
    return application, booking


def _validate_score(booking: Booking, score: int | None, rules: ExamRules) -> None:
    if score is None:
        return
    if booking.kind == ExamKind.THEORY and not 0 <= score <= rules.theory_questions:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR,
                        _("A theory score is the number of correct answers, from 0 to %(questions)d.")
                        % {"questions": rules.theory_questions}, field="score")
    if score < 0:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("A score cannot be negative."), field="score")


def result_details(booking: Booking) -> dict:
    return {"booking_id": booking.pk, "kind": booking.kind, "passed": booking.status == Booking.State.PASSED,
            "score": booking.score}


def record_exam_result(*, booking_id, passed: bool, score: int | None = None, actor=None,
                       sheet: dict | None = None, now: datetime.datetime | None = None) -> Booking:
    """The one way a result lands: a booked booking, from one hour before its slot; a pass moves the application on."""
    with transaction.atomic():
        application, booking = _locked_booking(booking_id)
        now = now or timezone.now()
        rules = ExamRules.current()
        if booking.status != Booking.State.BOOKED:
            raise ExamError(ExamErrorCode.WRONG_STATUS, _("This booking is %(status)s: its result cannot be "
                                                          "recorded.") % {"status": Booking.State(booking.status)
                                                                          .label.lower()},
                            current_status=application.status)
        if now < booking.slot.starts_at - RESULT_OPENS_BEFORE:
            raise ExamError(ExamErrorCode.WRONG_STATUS, _("A result can be recorded from one hour before the exam "
                                                          "starts."), current_status=application.status)
        if application.status != STAGE_STATUS[booking.kind]:
            raise ExamError(ExamErrorCode.WRONG_STATUS, _("The application does not wait for this exam."),
                            current_status=application.status)
        _validate_score(booking, score, rules)
        booking.status = Booking.State.PASSED if passed else Booking.State.FAILED
        booking.score, booking.sheet, booking.result_at = score, sheet, now
        booking.recorded_by = actor if getattr(actor, "pk", None) else None
        booking.save(update_fields=["status", "score", "sheet", "result_at", "recorded_by"])
        if passed:
            move_application(application=application, transition=PASS_TRANSITION[booking.kind], actor=actor)
        else:
            Application.objects.filter(pk=application.pk).update(updated_at=now)  # the Application shows it
        notify_on_commit(application.pk, "exam_result", result_details(booking))
        enqueue_on_commit("exams.tasks.report_exam_result", booking.pk)
    return booking


def practical_sheet(faults: dict[str, int]) -> dict:
    """The sheet as kept with the result: the faults marked, each with its points, and the total."""
    known = {fault.code: fault for fault in PracticalFault.objects.filter(is_active=True)}
    unknown = sorted(set(faults) - set(known))
    if unknown:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("Unknown fault: %(codes)s.") % {"codes": ", ".join(unknown)},
                        field="faults")
    marked = {code: times for code, times in faults.items() if times}
    if any(not isinstance(times, int) or times < 0 or times > 99 for times in marked.values()):
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("A fault is marked from 0 to 99 times."), field="faults")
    total = sum(known[code].points * times for code, times in marked.items())
    return {"faults": {code: {"times": times, "points": known[code].points} for code, times in marked.items()},
            "penalty_points": total}


def record_practical_sheet(*, booking_id, faults: dict[str, int], actor=None) -> Booking:
    """The examiner's sheet: the points decide (a pass while they stay within the policy's limit)."""
    sheet = practical_sheet(faults)
    if Booking.objects.filter(pk=booking_id).values_list("kind", flat=True).first() != ExamKind.PRACTICAL:
        raise ExamError(ExamErrorCode.NOT_FOUND, _("Not found."))
    passed = ExamRules.current().practical_passed(sheet["penalty_points"])
    return record_exam_result(booking_id=booking_id, passed=passed, score=sheet["penalty_points"], actor=actor,
                              sheet=sheet)


# ---------------------------------------------------------------------------------------------------------------
# Reporting to the exam system


def report_exam_result(*, booking_id) -> str:
    """Tell the exam system (its registry client) about one result; done once, retried until it answers."""
    booking = Booking.objects.select_related("application").filter(pk=booking_id).first()
    if booking is None or booking.reported_at is not None or not booking.is_attempt:
        return "done"
    answer = exam_results_client.report(
        iin=booking.application.iin, kind=booking.kind, passed=booking.status == Booking.State.PASSED,
        score=booking.score, at=timezone.localtime(booking.result_at).isoformat(timespec="milliseconds"),
        reference=f"kualik-booking-{booking.pk}")
    if answer.outcome != Outcome.PASSED:
        return "unavailable"
    with transaction.atomic():
        if Booking.objects.filter(pk=booking.pk, reported_at__isnull=True).update(reported_at=timezone.now()):
            PersonalDataAccess.objects.create(
                application=booking.application, actor_kind=PersonalDataAccess.ActorKind.REGISTRY,
                registry="exam_attempts", purpose=PersonalDataAccess.Purpose.EXAM_RESULT,
                what="registry:exam_results")
    return "reported"


def unreported_results(*, older_than: datetime.timedelta) -> list[int]:
    """Results the exam system has not acknowledged yet (its outage outlasted the task's retries)."""
    return list(Booking.objects.filter(status__in=[Booking.State.PASSED, Booking.State.FAILED],
                                       reported_at__isnull=True, result_at__lt=timezone.now() - older_than)
                .values_list("pk", flat=True)[:1000])


# ---------------------------------------------------------------------------------------------------------------
# The beat's chores


def send_exam_reminders(*, now: datetime.datetime | None = None) -> int:
    """The SMS the day before: once per booking (the conditional update claims it), for slots starting soon."""
    now = now or timezone.now()
    rules = ExamRules.current()
    due = (Booking.objects.filter(status=Booking.State.BOOKED, reminded_at__isnull=True,
                                  slot__starts_at__gt=now,
                                  slot__starts_at__lte=now + datetime.timedelta(hours=rules.reminder_hours_before))
           .select_related("slot", "slot__centre"))
    sent = 0
    for booking in due:
        with transaction.atomic():
            if Booking.objects.filter(pk=booking.pk, reminded_at__isnull=True).update(reminded_at=now):
                notify_on_commit(booking.application_id, "exam_reminder", {
                    "booking_id": booking.pk, "kind": booking.kind, "centre": booking.slot.centre.code,
                    "starts_at": booking.slot.starts_at.isoformat()})
                sent += 1
    return sent


def mark_no_shows(*, now: datetime.datetime | None = None) -> int:
    """Bookings still without a result well after their exam: a failed attempt or a cancellation, as policy says."""
    now = now or timezone.now()
    rules = ExamRules.current()
    cutoff = now - datetime.timedelta(hours=rules.no_show_after_hours)
    marked = 0
    # An applicant still at the terminal is no no-show: their session ends with a result.
    candidates = (Booking.objects.filter(status=Booking.State.BOOKED, slot__starts_at__lt=cutoff)
                  .exclude(theory_session__isnull=False, theory_session__finished_at__isnull=True))
    for booking_id in candidates.values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            application, booking = _locked_booking(booking_id)
            if booking.status != Booking.State.BOOKED:
                continue
            booking.no_show = True
            if rules.no_show_counts_as_failure:
                booking.status, booking.result_at = Booking.State.FAILED, now
                enqueue_on_commit("exams.tasks.report_exam_result", booking.pk)
            else:
                booking.status, booking.cancelled_at = Booking.State.CANCELLED, now
            booking.save(update_fields=["status", "no_show", "result_at", "cancelled_at"])
            Application.objects.filter(pk=application.pk).update(updated_at=now)
            notify_on_commit(application.pk, "exam_no_show", {"booking_id": booking.pk, "kind": booking.kind,
                                                              "counted": rules.no_show_counts_as_failure})
            marked += 1
    return marked
