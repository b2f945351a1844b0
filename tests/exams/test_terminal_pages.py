"""The theory exam terminal: opened by the examiner in the applicant's browser, then authorised by its cookie only."""

import datetime
import re
import zoneinfo
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from applications.models import Application, Status
from exams import services
from exams.models import AnswerOption, Booking, TheorySession
from tests.factories import ExamSlotFactory, StaffFactory, application_at_exams

pytestmark = pytest.mark.django_db

ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")
COOKIE = "exam_terminal"


@pytest.fixture(autouse=True)
def clock():
    """A working morning; tests move it on with `clock.shift(...)`."""
    with time_machine.travel(datetime.datetime(2026, 12, 4, 9, 0, tzinfo=ALMATY), tick=True) as traveller:
        yield traveller


@pytest.fixture
def examiner():
    return StaffFactory(username="e.aigerim", role=Role.EXAMINER)


@pytest.fixture
def booking(question_bank):
    application = application_at_exams()
    slot = ExamSlotFactory(starts_at=timezone.now() + datetime.timedelta(minutes=30))
    return services.book_exam_slot(application=application, slot_id=slot.pk)


def open_exam(client, examiner, booking, **extra):
    client.force_login(examiner)
    response = client.post(f"/staff/exams/bookings/{booking.pk}/open/", {"identity_checked": "yes"}, **extra)
    assert response.status_code == 302, response.content.decode()[:3000]
    return TheorySession.objects.get(booking=booking), response


@pytest.fixture
def terminal(client, examiner, booking):
    session, _response = open_exam(client, examiner, booking)
    return session


def url(session, suffix=""):
    return f"/staff/exams/terminal/{session.pk}/{suffix}"


def right_option(question_id) -> int:
    return AnswerOption.objects.get(question_id=question_id, is_correct=True).pk


def wrong_option(question_id) -> int:
    return AnswerOption.objects.filter(question_id=question_id, is_correct=False).first().pk


def answer(client, session, number, option_id, go="next"):
    return client.post(f"{url(session)}?q={number}", {"q": number, "option": option_id, "go": go})


class RadioAttributes(HTMLParser):
    """Every attribute name on the page's radio buttons, and every data-* attribute anywhere."""

    def __init__(self):
        super().__init__()
        self.radio_attributes, self.data_attributes = set(), set()

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        if tag == "input" and ("type", "radio") in attrs:
            self.radio_attributes |= names
        self.data_attributes |= {name for name in names if name.startswith("data-")}


def test_opening_needs_the_identity_checkbox(client, examiner, booking):
    client.force_login(examiner)
    response = client.post(f"/staff/exams/bookings/{booking.pk}/open/", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "identity document" in response.content.decode()
    assert not TheorySession.objects.exists() and COOKIE not in response.cookies


def test_opening_sets_a_strict_http_only_cookie_for_the_terminal_path_and_signs_the_examiner_out(
        client, examiner, booking):
    session, response = open_exam(client, examiner, booking)
    assert response["Location"] == url(session)
    cookie = response.cookies[COOKIE]
    assert cookie["path"] == url(session) and cookie["httponly"] and cookie["samesite"] == "Strict"
    assert not cookie["secure"] and int(cookie["max-age"]) > settings.SESSION_COOKIE_AGE
    assert session.booking_id == booking.pk and len(session.question_ids) == 40
    # The browser is the applicant's now: the staff pages ask for a sign-in again.
    assert client.get("/staff/exams/")["Location"].startswith("/staff/signin/")
    assert client.get(url(session)).status_code == 200


def test_over_https_the_cookie_is_secure(client, examiner, booking):
    _session, response = open_exam(client, examiner, booking, secure=True)
    assert response.cookies[COOKIE]["secure"]


def test_without_the_terminal_cookie_every_terminal_page_is_404(client, examiner, terminal):
    others = [Client(), Client()]
    others[1].force_login(examiner)  # the examiner's own sign-in does not open it either
    others[0].cookies[COOKIE] = "not-the-token"
    for other in others:
        for suffix in ("", "finish/", "result/"):
            assert other.get(url(terminal, suffix)).status_code == 404
        assert other.post(url(terminal), {"q": 1, "option": 1}).status_code == 404
        assert other.post(url(terminal, "finish/")).status_code == 404
    assert client.get(url(terminal)).status_code == 200


def test_no_terminal_page_gives_the_right_answers_away(client, terminal):
    explanations = {"Себебі", "Потому что", "Because"}
    pages = [client.get(f"{url(terminal)}?q={number}").content.decode() for number in range(1, 41)]
    pages.append(client.get(url(terminal, "finish/")).content.decode())
    pages.append(answer(client, terminal, 1, 999999).content.decode())  # an error page too
    for page in pages:
        assert "correct" not in page.lower() and not any(text in page for text in explanations)
        parser = RadioAttributes()
        parser.feed(page)
        assert parser.radio_attributes <= {"type", "name", "id", "value", "checked"}
        assert parser.data_attributes <= {"data-seconds-left", "data-result-url", "data-testid", "data-number",
                                          "data-answered", "data-autofocus"}
    script = (Path(settings.BASE_DIR) / "exams/static/exams/terminal.js").read_text()
    assert "correct" not in script.lower()


def test_the_terminal_speaks_the_exam_language_and_shows_the_time_left(client, terminal):
    page = client.get(url(terminal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="kk">' in page
    question = TheorySession.objects.get(pk=terminal.pk).question_ids[0]
    assert re.search(r'data-testid="question-text">Сұрақ \d+<', page)
    assert f'value="{right_option(question)}"' in page
    assert 'data-seconds-left="2400"' in page or 'data-seconds-left="2399"' in page
    assert ">40:00<" in page or ">39:59<" in page


def test_answers_are_kept_a_reload_resumes_and_the_finish_scores_them(client, terminal):
    ids = terminal.question_ids
    for number in range(1, 34):
        response = answer(client, terminal, number, right_option(ids[number - 1]))
        assert response.status_code == 302 and response["Location"] == f"{url(terminal)}?q={number + 1}"
    response = answer(client, terminal, 34, wrong_option(ids[33]), go="previous")
    assert response["Location"] == f"{url(terminal)}?q=33"
    # A reload (or a second tab) resumes at the first question without an answer, the choices kept.
    page = client.get(url(terminal)).content.decode()
    assert 'data-number="35"' in page and page.count("data-answered") == 34
    page = client.get(f"{url(terminal)}?q=34").content.decode()
    assert f'value="{wrong_option(ids[33])}" checked' in page
    response = answer(client, terminal, 40, "", go="next")
    assert response["Location"] == url(terminal, "finish/")
    page = client.get(url(terminal, "finish/")).content.decode()
    assert 'data-testid="answered"' in page and "34" in page and f"{url(terminal)}?q=40" in page
    assert TheorySession.objects.get(pk=terminal.pk).finished_at is None  # the confirmation page changes nothing
    response = client.post(url(terminal, "finish/"))
    assert response["Location"] == url(terminal, "result/")
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="score">33 / 40<' in page and 'data-passed="true"' in page and "time-up" not in page
    booking = Booking.objects.get(pk=terminal.booking_id)
    assert booking.status == Booking.State.PASSED and booking.score == 33
    assert Application.objects.get(pk=booking.application_id).status == Status.PRACTICAL_EXAM
    # Over: the question pages lead to the result, and nothing more is kept.
    assert client.get(url(terminal))["Location"] == url(terminal, "result/")
    assert answer(client, terminal, 35, right_option(ids[34]))["Location"] == url(terminal, "result/")
    assert TheorySession.objects.get(pk=terminal.pk).correct == 33


def test_a_numbered_question_button_keeps_the_answer_and_goes_to_that_question(client, terminal):
    ids = terminal.question_ids
    response = answer(client, terminal, 3, right_option(ids[2]), go="17")
    assert response.status_code == 302 and response["Location"] == f"{url(terminal)}?q=17"
    assert TheorySession.objects.get(pk=terminal.pk).answers == {str(ids[2]): right_option(ids[2])}
    page = client.get(response["Location"]).content.decode()
    assert re.search(r'<button type="submit" form="question-form" name="go" value="3" class="answered"', page)


def test_too_few_right_answers_fail_and_the_retake_date_is_shown(client, terminal):
    for number, question in enumerate(terminal.question_ids[:31], start=1):
        answer(client, terminal, number, right_option(question))
    client.post(url(terminal, "finish/"))
    page = client.get(url(terminal, "result/")).content.decode()
    assert 'data-testid="score">31 / 40<' in page and 'data-passed="false"' in page
    assert 'data-testid="retake-from"' in page
    assert Booking.objects.get(pk=terminal.booking_id).status == Booking.State.FAILED


def test_an_answer_after_the_time_limit_is_refused_and_the_result_says_time_is_up(client, terminal, clock):
    ids = terminal.question_ids
    answer(client, terminal, 1, right_option(ids[0]))
    clock.shift(datetime.timedelta(minutes=39))
    assert answer(client, terminal, 2, right_option(ids[1])).status_code == 302
    clock.shift(datetime.timedelta(minutes=2))
    response = answer(client, terminal, 3, right_option(ids[2]))
    assert response.status_code == 302 and response["Location"] == url(terminal, "result/")
    session = TheorySession.objects.get(pk=terminal.pk)
    assert str(ids[2]) not in session.answers and session.correct == 2 and session.finished_at == session.deadline
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="time-up"' in page and 'data-testid="score">2 / 40<' in page
    assert Booking.objects.get(pk=terminal.booking_id).status == Booking.State.FAILED


def test_a_terminal_left_open_past_the_limit_shows_the_result(client, terminal, clock):
    answer(client, terminal, 1, right_option(terminal.question_ids[0]))
    clock.shift(datetime.timedelta(minutes=41))
    assert client.get(url(terminal))["Location"] == url(terminal, "result/")
    page = client.get(url(terminal, "result/")).content.decode()
    assert 'data-testid="time-up"' in page and 'data-testid="score">1 / 40<' in page


def test_opening_again_keeps_the_questions_and_the_deadline_and_moves_the_exam_to_the_new_terminal(
        client, examiner, booking, clock):
    first, _response = open_exam(client, examiner, booking)
    answer(client, first, 1, right_option(first.question_ids[0]))
    clock.shift(datetime.timedelta(minutes=5))
    second_terminal = Client()
    again, _response = open_exam(second_terminal, examiner, booking)
    assert again.pk == first.pk and again.question_ids == first.question_ids and again.deadline == first.deadline
    assert again.answers == {str(first.question_ids[0]): right_option(first.question_ids[0])}
    assert client.get(url(first)).status_code == 404  # the old terminal's token no longer opens it
    page = second_terminal.get(url(first)).content.decode()
    assert 'data-number="2"' in page
    assert TheorySession.objects.count() == 1


def test_a_second_tab_shows_the_same_session(client, terminal):
    answer(client, terminal, 1, right_option(terminal.question_ids[0]))
    second_tab = Client()
    second_tab.cookies[COOKIE] = client.cookies[COOKIE].value
    page = second_tab.get(url(terminal)).content.decode()
    assert 'data-number="2"' in page and page.count("data-answered") == 1


def test_a_finished_exam_cannot_be_opened_again(client, examiner, terminal):
    client.post(url(terminal, "finish/"))
    client.force_login(examiner)
    response = client.post(f"/staff/exams/bookings/{terminal.booking_id}/open/", {"identity_checked": "yes"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert TheorySession.objects.get(pk=terminal.pk).finished_at is not None
