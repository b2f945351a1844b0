"""The attempt rules, with the clock moved: the retake wait, the long wait, what counts, and no-shows."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from applications.models import Check, Registry, Status
from exams import services
from exams.errors import ExamError
from exams.models import Booking, ExamRules, ExamSlot
from tests.factories import ExamSlotFactory, application_at_exams

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ALMATY)


def set_rules(**values) -> ExamRules:
    rules = ExamRules.current()
    for field, value in values.items():
        setattr(rules, field, value)
    rules.save()
    return rules


def exam_system_reported(application, *, theory=0, practical=0, last_failed_on=None) -> None:
    """The `exam_attempts` check as the pipeline leaves it: the exam system's earlier attempts."""
    Check.objects.update_or_create(
        application=application, registry=Registry.EXAM_ATTEMPTS,
        defaults={"position": 8, "outcome": Check.Outcome.PASSED, "checked_at": START,
                  "facts": {"theory": theory, "practical": practical, "last_failed_on": last_failed_on}})


def book_tomorrow(application, kind="theory") -> Booking:
    """At the traveller's present: a slot starting a day later, booked."""
    slot = ExamSlotFactory(kind=kind, starts_at=timezone.now() + datetime.timedelta(days=1))
    return services.book_exam_slot(application=application, slot_id=slot.pk)


def refused_booking(application, kind="theory") -> ExamError:
    with pytest.raises(ExamError) as error:
        book_tomorrow(application, kind)
    return error.value


def fail_exam(booking: Booking) -> datetime.datetime:
    """Travel to half an hour into the exam and record a fail there; the moment of the failure."""
    failed_at = booking.slot.starts_at + datetime.timedelta(minutes=30)
    with time_machine.travel(failed_at, tick=False):
        services.record_exam_result(booking_id=booking.pk, passed=False, score=20)
    return failed_at


def booked_and_failed(application, at: datetime.datetime, kind="theory") -> datetime.datetime:
    with time_machine.travel(at, tick=False):
        booking = book_tomorrow(application, kind)
    return fail_exam(booking)


def test_booking_before_the_retake_wait_is_retake_too_early_with_retake_from_the_failure_plus_the_wait():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
    failed_at = booked_and_failed(application, START)

    with time_machine.travel(failed_at + datetime.timedelta(days=1), tick=False):
        error = refused_booking(application)

    wait = datetime.timedelta(days=ExamRules.current().retake_wait_days)
    assert error.code == "retake_too_early"
    assert error.http_status == 422
    assert datetime.datetime.fromisoformat(error.extra["retake_from"]) == failed_at + wait
    assert services.retake_from(application, "theory") == failed_at + wait
    assert not Booking.objects.filter(application=application, status=Booking.State.BOOKED).exists()


def test_a_retake_is_refused_a_second_before_the_wait_ends_and_booked_when_it_ends():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
    failed_at = booked_and_failed(application, START)
    allowed_from = failed_at + datetime.timedelta(days=ExamRules.current().retake_wait_days)

    with time_machine.travel(allowed_from - datetime.timedelta(seconds=1), tick=False):
        assert refused_booking(application).code == "retake_too_early"
    with time_machine.travel(allowed_from, tick=False):
        booking = book_tomorrow(application)

    assert booking.status == Booking.State.BOOKED
    assert ExamSlot.objects.get(pk=booking.slot_id).booked == 1


def test_the_third_failure_counting_the_exam_systems_two_brings_the_long_wait_of_six_months_after_the_last_exam():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
    exam_system_reported(application, theory=2, last_failed_on="2026-01-15")
    # Two earlier failures (the last in January) hold nothing back in March.
    assert services.retake_from(application, "theory") < START

    failed_at = booked_and_failed(application, START)

    rules = ExamRules.current()
    long_wait_ends = failed_at + relativedelta(months=rules.long_wait_months)
    assert (rules.attempts_before_long_wait, rules.long_wait_months) == (3, 6)
    assert services.failed_attempts(application, "theory").failed == 3
    with time_machine.travel(failed_at + datetime.timedelta(days=rules.retake_wait_days), tick=False):
        error = refused_booking(application)
    assert error.code == "retake_too_early"
    assert datetime.datetime.fromisoformat(error.extra["retake_from"]) == long_wait_ends
    assert long_wait_ends == datetime.datetime(2026, 9, 3, 9, 30, tzinfo=ALMATY)
    with time_machine.travel(long_wait_ends, tick=False):
        assert book_tomorrow(application).status == Booking.State.BOOKED


def test_three_failures_here_alone_bring_the_long_wait():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
    failed_at = booked_and_failed(application, START)
    for _ in range(2):
        failed_at = booked_and_failed(application, failed_at + datetime.timedelta(days=7))

    assert services.failed_attempts(application, "theory").failed == 3
    assert services.retake_from(application, "theory") == failed_at + relativedelta(months=6)


def test_earlier_failures_the_exam_system_reported_hold_back_a_booking_from_the_end_of_that_day():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
        exam_system_reported(application, theory=1, last_failed_on="2026-02-27")
        error = refused_booking(application)

    end_of_that_day = datetime.datetime(2026, 2, 27, 23, 59, 59, 999999, tzinfo=ALMATY)
    assert error.code == "retake_too_early"
    assert services.retake_from(application, "theory") == end_of_that_day + datetime.timedelta(days=7)


def test_practical_failures_count_apart_from_theory_ones():
    with time_machine.travel(START, tick=False):
        application = application_at_exams(status=Status.PRACTICAL_EXAM)
    # Two theory failures reported, the last one yesterday: they hold back no practical exam.
    exam_system_reported(application, theory=2, practical=0, last_failed_on="2026-03-01")
    assert services.retake_from(application, "practical") is None

    failed_at = booked_and_failed(application, START, kind="practical")

    # 2 theory + 1 practical would be 3 together; apart, one practical failure is the ordinary wait.
    assert services.failed_attempts(application, "practical").failed == 1
    assert services.failed_attempts(application, "theory").failed == 2
    assert services.retake_from(application, "practical") == failed_at + datetime.timedelta(days=7)
    with time_machine.travel(failed_at + datetime.timedelta(days=7), tick=False):
        assert book_tomorrow(application, "practical").status == Booking.State.BOOKED


def test_a_theory_failure_holds_back_no_practical_exam():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
    booked_and_failed(application, START)

    assert services.retake_from(application, "theory") is not None
    assert services.retake_from(application, "practical") is None


def test_a_shorter_retake_wait_in_the_rules_lets_a_retake_be_booked_sooner():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
    failed_at = booked_and_failed(application, START)
    three_days_later = failed_at + datetime.timedelta(days=3)
    with time_machine.travel(three_days_later, tick=False):
        assert refused_booking(application).code == "retake_too_early"

    set_rules(retake_wait_days=3)

    assert services.retake_from(application, "theory") == three_days_later
    with time_machine.travel(three_days_later, tick=False):
        assert book_tomorrow(application).status == Booking.State.BOOKED


def test_a_longer_retake_wait_in_the_rules_moves_retake_from_later():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
    failed_at = booked_and_failed(application, START)
    set_rules(retake_wait_days=14)

    with time_machine.travel(failed_at + datetime.timedelta(days=10), tick=False):
        error = refused_booking(application)
    assert datetime.datetime.fromisoformat(error.extra["retake_from"]) == failed_at + datetime.timedelta(days=14)


def test_the_number_of_failures_before_the_long_wait_and_its_length_come_from_the_rules():
    set_rules(attempts_before_long_wait=2, long_wait_months=12)
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
    first = booked_and_failed(application, START)
    assert services.retake_from(application, "theory") == first + datetime.timedelta(days=7)

    second = booked_and_failed(application, first + datetime.timedelta(days=7))

    assert services.retake_from(application, "theory") == second + relativedelta(months=12)


def test_a_no_show_counted_as_a_failure_is_a_failed_attempt_and_the_retake_wait_applies():
    set_rules(no_show_counts_as_failure=True)
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
        booking = book_tomorrow(application)
    hours = ExamRules.current().no_show_after_hours
    marked_at = booking.slot.starts_at + datetime.timedelta(hours=hours, minutes=1)

    with time_machine.travel(marked_at, tick=False):
        assert services.mark_no_shows() == 1
        error = refused_booking(application)

    booking.refresh_from_db()
    assert (booking.status, booking.no_show, booking.result_at) == (Booking.State.FAILED, True, marked_at)
    assert services.failed_attempts(application, "theory").failed == 1
    assert error.code == "retake_too_early"
    assert datetime.datetime.fromisoformat(error.extra["retake_from"]) == marked_at + datetime.timedelta(days=7)
    # The seat was held through the exam: a failed attempt keeps it, as any result does.
    assert ExamSlot.objects.get(pk=booking.slot_id).booked == 1


def test_a_booking_is_no_no_show_until_the_rules_hours_after_its_start_have_passed():
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
        booking = book_tomorrow(application)
    hours = ExamRules.current().no_show_after_hours

    with time_machine.travel(booking.slot.starts_at + datetime.timedelta(hours=hours, minutes=-1), tick=False):
        assert services.mark_no_shows() == 0

    booking.refresh_from_db()
    assert (booking.status, booking.no_show) == (Booking.State.BOOKED, False)


def test_a_no_show_not_counted_only_cancels_with_no_wait_and_no_seat_freed_twice():
    set_rules(no_show_counts_as_failure=False)
    with time_machine.travel(START, tick=False):
        application = application_at_exams()
        booking = book_tomorrow(application)
    seats_before = ExamSlot.objects.get(pk=booking.slot_id).booked
    marked_at = booking.slot.starts_at + datetime.timedelta(hours=ExamRules.current().no_show_after_hours + 1)

    with time_machine.travel(marked_at, tick=False):
        assert services.mark_no_shows() == 1
        seats_after_mark = ExamSlot.objects.get(pk=booking.slot_id).booked
        assert services.mark_no_shows() == 0  # already handled: nothing happens twice
        assert services.free_bookings_of(application.pk) == 0  # what a later cancellation of the application does
        assert services.retake_from(application, "theory") is None
        rebooked = book_tomorrow(application)

    booking.refresh_from_db()
    assert (booking.status, booking.no_show, booking.cancelled_at) == (Booking.State.CANCELLED, True, marked_at)
    assert booking.result_at is None
    assert services.failed_attempts(application, "theory").failed == 0
    assert rebooked.status == Booking.State.BOOKED
    # The exam has taken place: its seat count stays as it was, and nothing later frees that seat again.
    assert seats_after_mark == seats_before == 1
    assert ExamSlot.objects.get(pk=booking.slot_id).booked == seats_before
