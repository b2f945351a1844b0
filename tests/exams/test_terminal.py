"""The theory exam terminal's service: the draw, opening and reopening, answers, the server's clock, the score."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Role
from applications.models import Status
from exams import services
from exams.errors import ExamError
from exams.models import AnswerOption, Booking, ExamRules, Question, TheorySession
from tests.exams.conftest import make_question_bank
from tests.factories import ExamSlotFactory, UserFactory, application_at_exams

pytestmark = pytest.mark.django_db


@pytest.fixture
def examiner(db):
    return UserFactory(role=Role.EXAMINER)


def set_rules(**values) -> ExamRules:
    rules = ExamRules.current()
    for field, value in values.items():
        setattr(rules, field, value)
    rules.save()
    return rules


def booked_theory(*, starts_in=datetime.timedelta(minutes=30), categories=("B",), kind="theory"):
    application = application_at_exams(categories=categories,
                                       status="theory_exam" if kind == "theory" else "practical_exam")
    slot = ExamSlotFactory(kind=kind, starts_at=timezone.now() + starts_in, categories=list(categories))
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    return application, booking


def open_session(booking, examiner):
    return services.open_theory_session(booking_id=booking.pk, actor=examiner, identity_checked=True)


def option(question_id, *, correct: bool) -> AnswerOption:
    return AnswerOption.objects.filter(question_id=question_id, is_correct=correct).order_by("position").first()


def answer_correctly(session, count: int) -> None:
    """The first `count` questions right, every other one wrong."""
    for index, question_id in enumerate(session.question_ids):
        services.answer_question(session_id=session.pk, index=index,
                                 option_id=option(question_id, correct=index < count).pk)


def expect_error(code, call, **kwargs) -> ExamError:
    with pytest.raises(ExamError) as error:
        call(**kwargs)
    assert error.value.code == code, error.value.message
    return error.value


# ---------------------------------------------------------------------------------------------------------------
# Opening


def test_opening_draws_the_rules_number_of_distinct_questions(question_bank, examiner):
    _application, booking = booked_theory()

    session = open_session(booking, examiner).session

    assert len(session.question_ids) == ExamRules.current().theory_questions == 40
    assert len(set(session.question_ids)) == 40
    assert set(session.question_ids) <= {question.pk for question in question_bank}


def test_the_number_of_questions_drawn_comes_from_the_rules(question_bank, examiner):
    set_rules(theory_questions=12, theory_pass_mark=10)
    _application, booking = booked_theory()

    session = open_session(booking, examiner).session

    assert len(set(session.question_ids)) == len(session.question_ids) == 12


def test_only_questions_for_the_applicants_categories_or_for_every_category_are_drawn(examiner):
    for_everyone = make_question_bank(25)
    for_b = make_question_bank(15, categories=("B",))
    for_c = make_question_bank(30, categories=("C", "CE"))
    retired = make_question_bank(5, categories=("B", "BE", "C"))
    Question.objects.filter(pk__in=[question.pk for question in retired]).update(is_active=False)
    _application, booking = booked_theory(categories=("B",))

    drawn = set(open_session(booking, examiner).session.question_ids)

    # Exactly 40 questions apply to category B: every one of them is drawn, and none of another category.
    assert drawn == {question.pk for question in for_everyone + for_b}
    assert not drawn & {question.pk for question in for_c + retired}


def test_a_bank_too_small_for_the_categories_refuses_to_open(examiner):
    make_question_bank(39)
    make_question_bank(30, categories=("C",))
    _application, booking = booked_theory()

    expect_error("validation_error", open_session, booking=booking, examiner=examiner)
    assert not TheorySession.objects.exists()


def test_opening_needs_the_examiner_to_confirm_the_identity_check(question_bank, examiner):
    _application, booking = booked_theory()

    error = expect_error("validation_error", services.open_theory_session, booking_id=booking.pk, actor=examiner,
                         identity_checked=False)

    assert error.field == "identity_checked"
    assert not TheorySession.objects.filter(booking=booking).exists()


def test_opening_is_refused_for_a_slot_starting_more_than_an_hour_ahead(question_bank, examiner):
    _application, booking = booked_theory(starts_in=datetime.timedelta(hours=1, minutes=1))

    expect_error("wrong_status", open_session, booking=booking, examiner=examiner)

    assert not TheorySession.objects.filter(booking=booking).exists()


def test_opening_is_allowed_from_one_hour_before_the_slot(question_bank, examiner):
    _application, booking = booked_theory(starts_in=datetime.timedelta(hours=2))

    with time_machine.travel(booking.slot.starts_at - datetime.timedelta(hours=1), tick=False):
        session = open_session(booking, examiner).session

    assert session.finished_at is None


def test_opening_is_refused_for_a_practical_booking(question_bank, examiner):
    _application, booking = booked_theory(kind="practical")

    expect_error("not_found", open_session, booking=booking, examiner=examiner)

    assert not TheorySession.objects.exists()


def test_opening_is_refused_for_a_cancelled_booking(question_bank, examiner):
    application, booking = booked_theory()
    services.cancel_booking(application=application, booking_id=booking.pk)

    expect_error("wrong_status", open_session, booking=booking, examiner=examiner)


def test_the_session_is_in_the_applications_exam_language(question_bank, examiner):
    application, booking = booked_theory()
    type(application).objects.filter(pk=application.pk).update(language="ru")

    assert open_session(booking, examiner).session.language == "ru"


def test_opening_again_keeps_the_questions_and_deadline_and_gives_a_new_token_that_alone_opens_it(
        question_bank, examiner):
    _application, booking = booked_theory()
    first = open_session(booking, examiner)

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        second = open_session(booking, examiner)

    assert second.session.pk == first.session.pk
    assert second.session.question_ids == first.session.question_ids
    assert second.session.deadline == first.session.deadline
    assert second.token != first.token
    assert TheorySession.objects.filter(booking=booking).count() == 1
    assert services.session_for_terminal(first.session.pk, first.token) is None
    assert services.session_for_terminal(first.session.pk, second.token).pk == first.session.pk


def test_a_second_open_keeps_the_answers_given(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session
    chosen = option(session.question_ids[0], correct=True)
    services.answer_question(session_id=session.pk, index=0, option_id=chosen.pk)

    reopened = open_session(booking, examiner).session

    assert reopened.answers == {str(session.question_ids[0]): chosen.pk}


def test_a_finished_session_cannot_be_opened_again(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session
    services.finish_theory_session(session_id=session.pk)

    expect_error("wrong_status", open_session, booking=booking, examiner=examiner)


def test_the_time_limit_comes_from_the_rules(question_bank, examiner):
    _application, booking = booked_theory()
    opened_at = timezone.now().replace(microsecond=0)
    with time_machine.travel(opened_at, tick=False):
        forty = open_session(booking, examiner).session
    assert forty.deadline - forty.started_at == datetime.timedelta(minutes=40)

    set_rules(theory_minutes=25)
    _other, other_booking = booked_theory()
    with time_machine.travel(opened_at, tick=False):
        twenty_five = open_session(other_booking, examiner).session

    assert twenty_five.deadline == opened_at + datetime.timedelta(minutes=25)


# ---------------------------------------------------------------------------------------------------------------
# Answers


def test_an_answer_is_kept(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session
    chosen = option(session.question_ids[3], correct=False)

    services.answer_question(session_id=session.pk, index=3, option_id=chosen.pk)

    session.refresh_from_db()
    assert session.answers == {str(session.question_ids[3]): chosen.pk}
    assert services.question_at(session, 3).chosen == chosen.pk


def test_an_answer_can_be_changed(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session
    question_id = session.question_ids[0]
    services.answer_question(session_id=session.pk, index=0, option_id=option(question_id, correct=False).pk)

    services.answer_question(session_id=session.pk, index=0, option_id=option(question_id, correct=True).pk)

    session.refresh_from_db()
    assert session.answers == {str(question_id): option(question_id, correct=True).pk}


def test_an_answer_with_an_option_of_another_question_is_refused(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session
    foreign = option(session.question_ids[1], correct=True)

    error = expect_error("validation_error", services.answer_question, session_id=session.pk, index=0,
                         option_id=foreign.pk)

    assert error.field == "option"
    session.refresh_from_db()
    assert session.answers == {}


def test_an_answer_after_the_deadline_is_refused_not_counted_and_the_session_ends_with_its_result(
        question_bank, examiner):
    application, booking = booked_theory()
    session = open_session(booking, examiner).session
    pass_mark = ExamRules.current().theory_pass_mark
    # One correct answer short of the pass mark in time; the one that would pass comes too late.
    for index, question_id in enumerate(session.question_ids[:pass_mark - 1]):
        services.answer_question(session_id=session.pk, index=index,
                                 option_id=option(question_id, correct=True).pk)
    late = session.question_ids[pass_mark - 1]

    with time_machine.travel(session.deadline + datetime.timedelta(seconds=1), tick=False):
        expect_error("wrong_status", services.answer_question, session_id=session.pk, index=pass_mark - 1,
                     option_id=option(late, correct=True).pk)

    session.refresh_from_db()
    booking.refresh_from_db()
    assert str(late) not in session.answers
    assert (session.correct, session.finished_at) == (pass_mark - 1, session.deadline)
    assert (booking.status, booking.score) == (Booking.State.FAILED, pass_mark - 1)
    assert booking.result_at is not None
    assert type(application).objects.get(pk=application.pk).status == Status.THEORY_EXAM


def test_an_answer_at_the_deadline_itself_is_refused(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session

    with time_machine.travel(session.deadline, tick=False):
        expect_error("wrong_status", services.answer_question, session_id=session.pk, index=0,
                     option_id=option(session.question_ids[0], correct=True).pk)

    session.refresh_from_db()
    assert session.answers == {}
    assert session.finished_at is not None


def test_an_answer_to_a_finished_session_is_refused(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session
    services.finish_theory_session(session_id=session.pk)

    expect_error("wrong_status", services.answer_question, session_id=session.pk, index=0,
                 option_id=option(session.question_ids[0], correct=True).pk)


# ---------------------------------------------------------------------------------------------------------------
# Scoring and finishing


def test_thirty_two_correct_answers_pass_and_the_application_moves_to_the_practical_exam(question_bank, examiner):
    application, booking = booked_theory()
    session = open_session(booking, examiner).session
    answer_correctly(session, 32)

    session = services.finish_theory_session(session_id=session.pk)

    booking.refresh_from_db()
    assert session.correct == 32
    assert (booking.status, booking.score, booking.recorded_by) == (Booking.State.PASSED, 32, examiner)
    assert type(application).objects.get(pk=application.pk).status == Status.PRACTICAL_EXAM


def test_thirty_one_correct_answers_fail_and_the_attempt_is_recorded(question_bank, examiner):
    application, booking = booked_theory()
    session = open_session(booking, examiner).session
    answer_correctly(session, 31)

    session = services.finish_theory_session(session_id=session.pk)

    booking.refresh_from_db()
    assert session.correct == 31
    assert (booking.status, booking.score) == (Booking.State.FAILED, 31)
    assert services.failed_attempts(application, "theory").failed == 1
    assert services.retake_from(application, "theory") == booking.result_at + datetime.timedelta(days=7)
    assert type(application).objects.get(pk=application.pk).status == Status.THEORY_EXAM


def test_the_pass_mark_comes_from_the_rules(question_bank, examiner):
    set_rules(theory_pass_mark=30)
    application, booking = booked_theory()
    session = open_session(booking, examiner).session
    answer_correctly(session, 30)

    services.finish_theory_session(session_id=session.pk)

    assert Booking.objects.get(pk=booking.pk).status == Booking.State.PASSED
    assert type(application).objects.get(pk=application.pk).status == Status.PRACTICAL_EXAM


def test_unanswered_questions_count_as_wrong(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session
    for index, question_id in enumerate(session.question_ids[:20]):
        services.answer_question(session_id=session.pk, index=index, option_id=option(question_id, correct=True).pk)

    assert services.finish_theory_session(session_id=session.pk).correct == 20


def test_finishing_twice_records_the_result_once(question_bank, examiner):
    application, booking = booked_theory()
    session = open_session(booking, examiner).session
    answer_correctly(session, 35)
    first = services.finish_theory_session(session_id=session.pk)
    result_at = Booking.objects.get(pk=booking.pk).result_at

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        second = services.finish_theory_session(session_id=session.pk)

    assert (second.correct, second.finished_at) == (first.correct, first.finished_at)
    assert Booking.objects.get(pk=booking.pk).result_at == result_at
    assert application.history.filter(to_status=Status.PRACTICAL_EXAM).count() == 1


def test_finish_expired_sessions_ends_the_sessions_whose_time_ran_out(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session
    answer_correctly(session, 33)
    _other_application, other_booking = booked_theory()
    with time_machine.travel(session.started_at + datetime.timedelta(minutes=20), tick=False):
        later = open_session(other_booking, examiner).session

    with time_machine.travel(session.deadline + datetime.timedelta(seconds=1), tick=False):
        assert services.finish_expired_sessions() == 1

    session.refresh_from_db()
    later.refresh_from_db()
    assert (session.correct, session.finished_at) == (33, session.deadline)
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.PASSED
    assert later.finished_at is None
    assert Booking.objects.get(pk=other_booking.pk).status == Booking.State.BOOKED


def test_finish_expired_sessions_leaves_sessions_with_time_left(question_bank, examiner):
    _application, booking = booked_theory()
    session = open_session(booking, examiner).session

    with time_machine.travel(session.deadline - datetime.timedelta(seconds=1), tick=False):
        assert services.finish_expired_sessions() == 0

    session.refresh_from_db()
    assert session.finished_at is None


# ---------------------------------------------------------------------------------------------------------------
# The exam in progress and the booking under it


def test_a_booking_cannot_be_cancelled_while_its_theory_session_is_open(question_bank, examiner):
    application, booking = booked_theory(starts_in=datetime.timedelta(minutes=30))
    session = open_session(booking, examiner).session
    answer_correctly(session, 5)

    expect_error("wrong_status", services.cancel_booking, application=application, booking_id=booking.pk)

    assert services.finish_theory_session(session_id=session.pk).correct == 5
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.FAILED


def test_a_booking_being_examined_on_the_terminal_is_not_marked_a_no_show(question_bank, examiner):
    _application, booking = booked_theory()
    hours = ExamRules.current().no_show_after_hours
    with time_machine.travel(booking.slot.starts_at + datetime.timedelta(hours=hours, minutes=-10), tick=False):
        session = open_session(booking, examiner).session
        answer_correctly(session, 35)

    with time_machine.travel(booking.slot.starts_at + datetime.timedelta(hours=hours, minutes=1), tick=False):
        services.mark_no_shows()
        services.finish_theory_session(session_id=session.pk)

    booking.refresh_from_db()
    assert (booking.status, booking.no_show, booking.score) == (Booking.State.PASSED, False, 35)
