"""Seats under races, with real threads against PostgreSQL: the database decides, not Python.

Every race ends with the seat count checked against the bookings themselves: `booked` is what the conditional
UPDATEs made of it, the count of active bookings is what actually holds a seat, and the two must agree.
"""

from functools import partial

import pytest
from django.db import IntegrityError, connection
from django.db.models import F
from rest_framework.test import APIClient

from applications.errors import WrongStatus
from applications.models import Application
from applications.workflow import move_application
from exams import services
from exams.errors import ExamError
from exams.models import Booking, ExamSlot
from tests.factories import ExamSlotFactory, OrganisationFactory, api_key_for, application_at_exams
from tests.helpers import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    """The SMS notices queued after each commit are not part of these races."""
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: None)



def error_codes(outcomes) -> list[str]:
    return sorted(outcome.code for outcome in outcomes if isinstance(outcome, ExamError))


def bookings(outcomes) -> list[Booking]:
    return [outcome for outcome in outcomes if isinstance(outcome, Booking)]


def unexpected(outcomes, *expected_types) -> list:
    return [outcome for outcome in outcomes if not isinstance(outcome, (Booking, ExamError, *expected_types))]


def assert_seats_match_bookings(*slots) -> None:
    for slot in slots:
        slot.refresh_from_db()
        active = Booking.objects.filter(slot=slot, status=Booking.State.BOOKED).count()
        assert slot.booked == active, f"slot {slot.pk}: booked={slot.booked}, active bookings={active}"
        assert slot.booked <= slot.capacity


def book(application, slot):
    return partial(services.book_exam_slot, application=application, slot_id=slot.pk)


# --- booking --------------------------------------------------------------------------------------------------


def test_thirty_applicants_booking_a_slot_of_seven_through_the_api_get_exactly_seven_seats():
    slot = ExamSlotFactory(capacity=7)
    callers = []
    for _ in range(30):
        organisation = OrganisationFactory()
        callers.append((application_at_exams(organisation=organisation), api_key_for(organisation)))

    def post(application, key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        response = client.post(f"/api/v1/applications/{application.pk}/bookings", {"slot": slot.pk}, format="json")
        return response.status_code, response.json().get("code")

    outcomes = race([partial(post, application, key) for application, key in callers])
    assert outcomes.count((201, None)) == 7, outcomes
    assert outcomes.count((409, "slot_full")) == 23, outcomes
    assert Booking.objects.filter(slot=slot, status="booked").count() == 7
    assert_seats_match_bookings(slot)
    assert slot.booked == 7


def test_thirty_applicants_booking_a_slot_of_seven_at_once_leave_twenty_three_slot_full():
    slot = ExamSlotFactory(capacity=7)
    applications = [application_at_exams() for _ in range(30)]
    outcomes = race([book(application, slot) for application in applications])
    assert not unexpected(outcomes), outcomes
    assert len(bookings(outcomes)) == 7
    assert error_codes(outcomes) == ["slot_full"] * 23
    assert len({booking.application_id for booking in bookings(outcomes)}) == 7
    assert_seats_match_bookings(slot)
    assert slot.booked == 7


def test_one_applicant_booking_two_slots_of_the_same_kind_at_once_gets_one_booking():
    application = application_at_exams()
    first, second = ExamSlotFactory(capacity=5), ExamSlotFactory(capacity=5)
    outcomes = race([book(application, first), book(application, second)] * 2)
    assert not unexpected(outcomes), outcomes
    assert len(bookings(outcomes)) == 1
    assert error_codes(outcomes) == ["booking_exists"] * 3
    assert application.exam_bookings.filter(status="booked").count() == 1
    assert_seats_match_bookings(first, second)
    assert first.booked + second.booked == 1


# --- cancel and book ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("round_", range(3))
def test_a_holder_cancelling_while_others_book_a_full_slot_keeps_the_count_right(round_):
    slot = ExamSlotFactory(capacity=3)
    holders = [application_at_exams() for _ in range(3)]
    held = [services.book_exam_slot(application=holder, slot_id=slot.pk) for holder in holders]
    others = [application_at_exams() for _ in range(6)]
    cancel = partial(services.cancel_booking, application=holders[0], booking_id=held[0].pk)
    outcomes = race([cancel] + [book(application, slot) for application in others])
    assert not unexpected(outcomes), outcomes
    assert isinstance(outcomes[0], Booking) and outcomes[0].status == "cancelled"
    newcomers = bookings(outcomes[1:])
    assert len(newcomers) <= 1
    assert error_codes(outcomes) == ["slot_full"] * (6 - len(newcomers))
    assert_seats_match_bookings(slot)
    assert slot.booked == 2 + len(newcomers)


def test_holders_cancelling_while_others_book_never_go_past_the_capacity():
    slot = ExamSlotFactory(capacity=4)
    holders = [application_at_exams() for _ in range(4)]
    held = [services.book_exam_slot(application=holder, slot_id=slot.pk) for holder in holders]
    others = [application_at_exams() for _ in range(8)]
    cancels = [partial(services.cancel_booking, application=holder, booking_id=booking.pk)
               for holder, booking in zip(holders[:2], held[:2], strict=True)]
    outcomes = race(cancels + [book(application, slot) for application in others])
    assert not unexpected(outcomes), outcomes
    newcomers = bookings(outcomes[2:])
    assert len(newcomers) <= 2
    assert_seats_match_bookings(slot)
    assert slot.booked == 2 + len(newcomers)


def test_one_booking_cancelled_twice_at_once_frees_one_seat():
    slot = ExamSlotFactory(capacity=3)
    application, neighbour = application_at_exams(), application_at_exams()
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    services.book_exam_slot(application=neighbour, slot_id=slot.pk)
    cancel = partial(services.cancel_booking, application=application, booking_id=booking.pk)
    outcomes = race([cancel] * 4)
    assert all(isinstance(outcome, Booking) and outcome.status == "cancelled" for outcome in outcomes), outcomes
    assert_seats_match_bookings(slot)
    assert slot.booked == 1  # the neighbour's seat is still taken


def test_an_application_cancelled_while_it_books_keeps_no_seat():
    slot = ExamSlotFactory(capacity=2)
    application = application_at_exams()
    outcomes = race([book(application, slot),
                     partial(move_application, application_id=application.pk, transition="cancel")])
    assert isinstance(outcomes[1], Application), outcomes
    assert isinstance(outcomes[0], Booking | WrongStatus), outcomes
    assert not Booking.objects.filter(application=application, status="booked").exists()
    assert_seats_match_bookings(slot)
    assert slot.booked == 0


# --- reschedule -----------------------------------------------------------------------------------------------


def test_reschedules_crossing_between_two_slots_finish_without_deadlock_and_move_every_seat():
    first, second = ExamSlotFactory(capacity=8), ExamSlotFactory(capacity=8)
    in_first = [application_at_exams() for _ in range(4)]
    in_second = [application_at_exams() for _ in range(4)]
    moves = []
    for applications, source, target in ((in_first, first, second), (in_second, second, first)):
        for application in applications:
            booking = services.book_exam_slot(application=application, slot_id=source.pk)
            moves.append(partial(services.reschedule_booking, application=application, booking_id=booking.pk,
                                 slot_id=target.pk))
    outcomes = race(moves)
    assert len(bookings(outcomes)) == 8, outcomes  # a deadlock would show here as a database error
    assert_seats_match_bookings(first, second)
    assert (first.booked, second.booked) == (4, 4)
    assert set(Booking.objects.filter(slot=second, status="booked").values_list("application_id", flat=True)) \
        == {application.pk for application in in_first}


def test_reschedules_crossing_between_two_full_slots_finish_without_deadlock_and_keep_each_seat_held():
    first, second = ExamSlotFactory(capacity=3), ExamSlotFactory(capacity=3)
    applications, moves = [], []
    for source, target in ((first, second), (second, first)):
        for _ in range(3):
            application = application_at_exams()
            booking = services.book_exam_slot(application=application, slot_id=source.pk)
            applications.append(application)
            moves.append(partial(services.reschedule_booking, application=application, booking_id=booking.pk,
                                 slot_id=target.pk))
    outcomes = race(moves)
    assert not unexpected(outcomes), outcomes
    assert set(error_codes(outcomes)) <= {"slot_full"}
    for application in applications:  # a failed move leaves the old booking standing
        assert Booking.objects.filter(application=application, status="booked").count() == 1
    assert_seats_match_bookings(first, second)
    assert (first.booked, second.booked) == (3, 3)


# --- the constraints behind the conditional updates -----------------------------------------------------------


def test_an_orm_write_past_the_capacity_fails_on_the_check_constraint():
    slot = ExamSlotFactory(capacity=3)
    with pytest.raises(IntegrityError, match="exam_slot_booked_within_capacity"):
        ExamSlot.objects.filter(pk=slot.pk).update(booked=slot.capacity + 1)
    ExamSlot.objects.filter(pk=slot.pk).update(booked=3)
    with pytest.raises(IntegrityError, match="exam_slot_booked_within_capacity"):
        ExamSlot.objects.filter(pk=slot.pk).update(booked=F("booked") + 1)
    with pytest.raises(IntegrityError, match="exam_slot_booked_within_capacity"):
        ExamSlot.objects.filter(pk=slot.pk).update(capacity=2)
    slot.refresh_from_db()
    assert (slot.booked, slot.capacity) == (3, 3)


def test_a_raw_sql_write_past_the_capacity_fails_on_the_check_constraint():
    slot = ExamSlotFactory(capacity=3)
    with pytest.raises(IntegrityError, match="exam_slot_booked_within_capacity"), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {ExamSlot._meta.db_table} SET booked = capacity + 1 WHERE id = %s", [slot.pk])
    slot.refresh_from_db()
    assert slot.booked == 0


def test_a_second_active_booking_of_one_kind_written_directly_fails_on_the_partial_unique_constraint():
    application = application_at_exams()
    first, second = ExamSlotFactory(capacity=3), ExamSlotFactory(capacity=3)
    services.book_exam_slot(application=application, slot_id=first.pk)
    with pytest.raises(IntegrityError, match="one_active_booking_per_kind"):
        Booking.objects.create(application=application, slot=second, kind="theory")
    with pytest.raises(IntegrityError, match="one_active_booking_per_kind"), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {Booking._meta.db_table} (application_id, slot_id, kind, status, booked_at, "
                       "no_show) VALUES (%s, %s, 'theory', 'booked', now(), false)", [application.pk, second.pk])
    # The constraint is partial: a cancelled booking, or one of the other kind, is no second active one.
    Booking.objects.create(application=application, slot=second, kind="theory", status="cancelled")
    Booking.objects.create(application=application, slot=ExamSlotFactory(kind="practical"), kind="practical")
    assert Booking.objects.filter(application=application, status="booked").count() == 2
