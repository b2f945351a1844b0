"""The citizen's exam pages: the slot picker, booking, rescheduling, cancelling, and the results on the application
page. Django's test client on SQLite; the services are the real ones."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts.models import Role
from applications.models import Channel, Status
from exams import services
from exams.models import Booking, ExamSlot
from tests.factories import (
    CentreFactory,
    ExamSlotFactory,
    UserFactory,
    application_at_exams,
    make_iin,
)

pytestmark = pytest.mark.django_db


def local(days: int, hour: int, minute: int = 0) -> datetime.datetime:
    """A local time `days` from today (Asia/Almaty), the way centres publish their times."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def monday(weeks_ahead: int) -> datetime.date:
    today = timezone.localdate()
    return today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(weeks=weeks_ahead)


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def citizen():
    return UserFactory(role=Role.CITIZEN, iin=make_iin())


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen)
    return client


def citizens_application(citizen, **fields):
    return application_at_exams(citizen=citizen, iin=citizen.iin, channel=Channel.PORTAL, organisation=None,
                                **fields)


@pytest.fixture
def application(citizen):
    return citizens_application(citizen)


@pytest.fixture
def astana():
    return CentreFactory(code="ast-exam", name="Астана емтихан орталығы", name_ru="Экзаменационный центр Астаны",
                         name_en="Astana exam centre", city="Астана", city_ru="Астана", city_en="Astana",
                         address="Бөгенбай батыр даңғылы, 2", address_ru="проспект Богенбай батыра, 2",
                         address_en="2 Bogenbay Batyr Avenue", offers_exams=True)


@pytest.fixture
def almaty():
    return CentreFactory(code="alm-exam", name="Алматы емтихан орталығы", name_ru="Экзаменационный центр Алматы",
                         name_en="Almaty exam centre", city="Алматы", city_ru="Алматы", city_en="Almaty",
                         address="Райымбек даңғылы, 515", address_ru="проспект Райымбека, 515",
                         address_en="515 Raiymbek Avenue", offers_exams=True)


def picker(application, kind="theory") -> str:
    return f"/my/applications/{application.pk}/exams/{kind}/"


def page_of(client, url, language="en", **query) -> str:
    response = client.get(url, query, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def post(client, url, data, language="en"):
    return client.post(url, data, HTTP_ACCEPT_LANGUAGE=language)


def book(client, application, slot, *, booking=""):
    return post(client, picker(application), {"slot": slot.pk, "booking": booking})


def centres_shown(page: str) -> list[str]:
    return re.findall(r'<section class="exam-centre" data-testid="centre">\s*<h3>([^<]+)</h3>', page)


def error_summary(page: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    return match.group(0) if match else ""


# --- the picker ----------------------------------------------------------------------------------------------


def test_the_picker_groups_free_times_by_centre_then_day_with_their_free_seats(signed_in, application, astana,
                                                                               almaty):
    week = monday(1)
    ExamSlotFactory(centre=astana, starts_at=at(week + datetime.timedelta(days=1), 14), capacity=5)
    ExamSlotFactory(centre=astana, starts_at=at(week, 9), capacity=3)
    ExamSlotFactory(centre=almaty, starts_at=at(week, 11), capacity=1)
    full = ExamSlotFactory(centre=almaty, starts_at=at(week, 16), capacity=1)
    ExamSlot.objects.filter(pk=full.pk).update(booked=1)
    ExamSlotFactory(centre=almaty, starts_at=at(week, 12), categories=["A"])  # does not serve B
    ExamSlotFactory(centre=almaty, starts_at=at(week, 13), kind="practical")
    page = page_of(signed_in, picker(application), week=week.isoformat())

    assert centres_shown(page) == ["Almaty exam centre", "Astana exam centre"]  # by city, in the reader's language
    almaty_part, astana_part = page.split('data-testid="centre"')[1:]
    assert re.findall(r"<legend>([^<]+)<", astana_part) == [
        f"Monday, {week:%d.%m.%Y}", f"Tuesday, {week + datetime.timedelta(days=1):%d.%m.%Y}"]
    assert re.findall(r'class="slot-time">([^<]+)<', astana_part) == ["09:00", "14:00"]
    assert "3 seats free" in astana_part and "5 seats free" in astana_part
    assert re.findall(r'class="slot-time">([^<]+)<', almaty_part) == ["11:00"]  # not full, A-only or practical
    assert "1 seat free" in almaty_part and "515 Raiymbek Avenue, Almaty" in almaty_part
    assert page.count('type="radio" name="slot"') == 3 and 'id="id_slot"' in page
    assert "Book this exam" in page


def test_the_picker_opens_on_the_week_of_the_soonest_free_time_and_filters_by_week_and_centre(
        signed_in, application, astana, almaty):
    ExamSlotFactory(centre=astana, starts_at=at(monday(2), 10))
    ExamSlotFactory(centre=almaty, starts_at=at(monday(3), 10))
    page = page_of(signed_in, picker(application))
    assert centres_shown(page) == ["Astana exam centre"]
    assert f'<option value="{monday(2).isoformat()}" selected>' in page
    assert f"?week={monday(3).isoformat()}" in page  # the next week's link

    page = page_of(signed_in, picker(application), week=monday(3).isoformat())
    assert centres_shown(page) == ["Almaty exam centre"]

    page = page_of(signed_in, picker(application), week=monday(3).isoformat(), centre="ast-exam")
    assert 'data-testid="no-times"' in page and "This centre has no free times in this week" in page
    assert '<option value="ast-exam" selected>' in page


def test_a_week_or_centre_not_offered_is_left_out_not_an_error(signed_in, application, astana):
    ExamSlotFactory(centre=astana, starts_at=local(2, 10))
    page = page_of(signed_in, picker(application), week="1999-01-04", centre="nowhere")
    assert centres_shown(page) == ["Astana exam centre"] and "There is a problem" not in page


def test_the_picker_asks_a_fixed_number_of_queries_however_many_times_it_shows(
        signed_in, application, astana, almaty, django_assert_max_num_queries):
    week = monday(1)
    ExamSlotFactory(centre=astana, starts_at=at(week, 9))
    with django_assert_max_num_queries(20) as few:
        page_of(signed_in, picker(application), week=week.isoformat())
    for day in range(6):
        for hour in (9, 11, 14, 16):
            for centre in (astana, almaty):
                ExamSlotFactory(centre=centre, starts_at=at(week + datetime.timedelta(days=day), hour),
                                categories=["A", "B", "C"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = page_of(signed_in, picker(application), week=week.isoformat())
    assert page.count('type="radio" name="slot"') == 49


def test_the_picker_shows_at_most_a_page_of_times_and_says_so(signed_in, application, astana, monkeypatch):
    from exams import views

    monkeypatch.setattr(views, "MOST_SLOTS_SHOWN", 2)
    for hour in (9, 10, 11):
        ExamSlotFactory(centre=astana, starts_at=at(monday(1), hour))
    page = page_of(signed_in, picker(application), week=monday(1).isoformat())
    assert page.count('type="radio" name="slot"') == 2 and "Not every time of this week is shown" in page


# --- booking ---------------------------------------------------------------------------------------------------


def test_booking_a_time_leads_to_the_booking_made_which_says_an_sms_was_sent(signed_in, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9), capacity=4)
    response = book(signed_in, application, slot)
    booking = Booking.objects.get(application=application)
    assert response.status_code == 302
    assert response["Location"] == f"/my/applications/{application.pk}/exams/bookings/{booking.pk}/"
    assert booking.slot_id == slot.pk and booking.status == Booking.State.BOOKED
    page = page_of(signed_in, response["Location"])
    assert "Your theory exam is booked" in page and "We sent you an SMS" in page
    assert f"{local(3, 9):%d.%m.%Y}" in page and "09:00" in page and "2 Bogenbay Batyr Avenue" in page
    assert "3 of 4 still free" in page


def test_the_application_page_shows_the_booking_with_reschedule_and_cancel(signed_in, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 14))
    page = page_of(signed_in, f"/my/applications/{application.pk}/")
    assert f'href="{picker(application)}">Book the theory exam</a>' in page
    book(signed_in, application, slot)
    page = page_of(signed_in, f"/my/applications/{application.pk}/")
    exams = page.split('data-testid="exams"')[1]
    assert "Astana exam centre" in exams and "14:00" in exams and f"{local(3, 14):%d.%m.%Y}" in exams
    booking = Booking.objects.get(application=application)
    assert f'href="{picker(application)}">Reschedule</a>' in exams
    assert f'href="/my/applications/{application.pk}/exams/bookings/{booking.pk}/cancel/">Cancel booking</a>' in exams
    assert "Book the theory exam" not in exams


def test_a_second_click_on_the_same_time_books_one_seat(signed_in, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9))
    first = book(signed_in, application, slot)
    second = book(signed_in, application, slot)  # the same form, sent again
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert Booking.objects.filter(application=application).count() == 1
    assert ExamSlot.objects.get(pk=slot.pk).booked == 1


def test_rescheduling_moves_the_booking_and_gives_the_old_seat_back(signed_in, application, astana):
    old = ExamSlotFactory(centre=astana, starts_at=at(monday(1), 9))
    new = ExamSlotFactory(centre=astana, starts_at=at(monday(1) + datetime.timedelta(days=1), 11))
    book(signed_in, application, old)
    booking = Booking.objects.get(application=application)
    page = page_of(signed_in, picker(application), week=monday(1).isoformat())
    assert "Choose a new date and time for the theory exam" in page and "Move my booking to this time" in page
    assert f'name="booking" value="{booking.pk}"' in page

    response = book(signed_in, application, new, booking=booking.pk)
    moved = Booking.objects.get(application=application, status=Booking.State.BOOKED)
    assert response["Location"].endswith(f"/exams/bookings/{moved.pk}/")
    assert moved.slot_id == new.pk
    assert ExamSlot.objects.get(pk=old.pk).booked == 0 and ExamSlot.objects.get(pk=new.pk).booked == 1
    again = book(signed_in, application, new, booking=booking.pk)  # the reschedule sent twice
    assert again["Location"] == response["Location"]
    assert Booking.objects.filter(application=application, status=Booking.State.BOOKED).count() == 1


def test_a_page_made_stale_by_a_booking_in_another_tab_books_nothing_and_keeps_the_choice(
        signed_in, application, astana):
    held = ExamSlotFactory(centre=astana, starts_at=local(3, 9))
    other = ExamSlotFactory(centre=astana, starts_at=local(3, 11))
    services.book_exam_slot(application=application, slot_id=held.pk)
    response = book(signed_in, application, other)  # the page showed no booking
    page = response.content.decode()
    assert response.status_code == 200
    assert "Your booking changed in another window" in error_summary(page)
    assert re.search(rf'value="{other.pk}" id="[^"]+" checked', page)
    assert Booking.objects.get(application=application, status=Booking.State.BOOKED).slot_id == held.pk


def test_no_choice_is_an_error_linked_to_the_first_time(signed_in, application, astana):
    ExamSlotFactory(centre=astana, starts_at=local(3, 9))
    page = post(signed_in, picker(application), {"booking": ""}).content.decode()
    summary = error_summary(page)
    assert 'href="#id_slot">Choose a date and time.</a>' in summary
    assert "<title>Error:" in page and 'id="id_slot_error"' in page


def test_a_time_taken_meanwhile_says_so_in_plain_words(signed_in, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9), capacity=1)
    services.book_exam_slot(application=application_at_exams(), slot_id=slot.pk)
    page = book(signed_in, application, slot).content.decode()
    assert "Every seat at that time has just been taken. Choose another time." in error_summary(page)
    assert not Booking.objects.filter(application=application).exists()


def test_a_time_that_does_not_serve_the_categories_is_refused(signed_in, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9), categories=["A"])
    page = book(signed_in, application, slot).content.decode()
    assert "This slot does not serve category B." in error_summary(page)
    assert not Booking.objects.filter(application=application).exists()


def test_a_time_that_does_not_exist_asks_to_choose_from_the_list(signed_in, application):
    page = post(signed_in, picker(application), {"slot": 999999, "booking": ""}).content.decode()
    assert "Choose a date and time from the list." in error_summary(page)


def test_an_application_that_left_the_exam_stage_says_why_it_cannot_book(signed_in, application, astana,
                                                                         monkeypatch):
    from applications.errors import WrongStatus

    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9))

    def moved_on(**kwargs):
        raise WrongStatus(application, "book", "This step cannot be taken while the application is Cancelled.")

    monkeypatch.setattr(services, "book_exam_slot", moved_on)  # moved on between the page and the click
    page = book(signed_in, application, slot).content.decode()
    assert "This step cannot be taken while the application is Cancelled." in error_summary(page)


# --- cancelling ------------------------------------------------------------------------------------------------


def test_cancelling_asks_first_then_gives_the_seat_back(signed_in, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9))
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    url = f"/my/applications/{application.pk}/exams/bookings/{booking.pk}/cancel/"
    page = page_of(signed_in, url)
    assert "Do you want to cancel your theory exam booking?" in page and "Yes, cancel the booking" in page
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.BOOKED

    response = post(signed_in, url, {})
    assert response.status_code == 302 and response["Location"] == f"/my/applications/{application.pk}/#exams"
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.CANCELLED
    assert ExamSlot.objects.get(pk=slot.pk).booked == 0
    assert "Book the theory exam" in page_of(signed_in, f"/my/applications/{application.pk}/")
    assert post(signed_in, url, {})["Location"] == f"/my/applications/{application.pk}/"  # sent twice: no harm


def test_a_booking_whose_exam_has_started_cannot_be_cancelled(signed_in, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9))
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    ExamSlot.objects.filter(pk=slot.pk).update(starts_at=timezone.now() - datetime.timedelta(minutes=5))
    page = post(signed_in, f"/my/applications/{application.pk}/exams/bookings/{booking.pk}/cancel/", {}) \
        .content.decode()
    assert "The exam has started: the booking can no longer be changed." in error_summary(page)
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.BOOKED
    exams = page_of(signed_in, f"/my/applications/{application.pk}/").split('data-testid="exams"')[1]
    assert "Cancel booking" not in exams and "Reschedule" not in exams
    assert signed_in.get(picker(application))["Location"] == f"/my/applications/{application.pk}/"


# --- results and the attempt rules -----------------------------------------------------------------------------


def fail(application, slot, score=25):
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    return services.record_exam_result(booking_id=booking.pk, passed=False, score=score, now=slot.starts_at)


def test_after_a_fail_the_retake_date_is_shown_and_nothing_can_be_booked_before_it(signed_in, application, astana):
    taken = ExamSlotFactory(centre=astana, starts_at=local(1, 9))
    fail(application, taken)
    later = ExamSlotFactory(centre=astana, starts_at=local(20, 9))
    retake = timezone.localtime(services.retake_from(application, "theory"))
    shown = f"{retake:%d.%m.%Y %H:%M}"

    page = page_of(signed_in, f"/my/applications/{application.pk}/")
    exams = page.split('data-testid="exams"')[1]
    assert f"You can book a retake from {shown}." in exams and "Book the theory exam" not in exams
    results = exams.split('data-testid="results"')[1]
    assert "Not passed" in results and "25 correct answers" in results and f"{taken.starts_at:%d.%m.%Y}" in results

    page = page_of(signed_in, picker(application))
    assert f"You can book a retake from {shown}." in page and 'name="slot"' not in page
    page = book(signed_in, application, later).content.decode()  # a page kept open from before the fail
    assert f"You can book a retake from {shown}." in error_summary(page)
    assert not Booking.objects.filter(application=application, status=Booking.State.BOOKED).exists()


def test_once_the_wait_is_over_the_retake_can_be_booked(signed_in, citizen, application, astana):
    import time_machine

    fail(application, ExamSlotFactory(centre=astana, starts_at=local(1, 9)))
    later = ExamSlotFactory(centre=astana, starts_at=local(20, 9))
    with time_machine.travel(local(10, 9), tick=False):
        signed_in.force_login(citizen)  # a session left idle for days has ended
        exams = page_of(signed_in, f"/my/applications/{application.pk}/").split('data-testid="exams"')[1]
        assert "You can book a retake now." in exams and "Book the theory exam" in exams
        assert book(signed_in, application, later).status_code == 302


def test_a_pass_shows_the_score_and_the_next_step(signed_in, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(1, 9))
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    services.record_exam_result(booking_id=booking.pk, passed=True, score=35, now=slot.starts_at)
    application.refresh_from_db()
    assert application.status == Status.PRACTICAL_EXAM
    exams = page_of(signed_in, f"/my/applications/{application.pk}/").split('data-testid="exams"')[1]
    assert "Your practical exam" in exams
    assert f"You passed the theory exam on {slot.starts_at:%d.%m.%Y}. Next, book the practical exam." in exams
    assert "35 correct answers" in exams and "Passed" in exams
    assert f'href="{picker(application, "practical")}">Book the practical exam</a>' in exams


def test_a_practical_result_shows_its_penalty_points(signed_in, citizen, astana):
    application = citizens_application(citizen, status="practical_exam")
    slot = ExamSlotFactory(centre=astana, kind="practical", starts_at=local(1, 10))
    fail(application, slot, score=120)
    exams = page_of(signed_in, f"/my/applications/{application.pk}/").split('data-testid="exams"')[1]
    assert "120 penalty points" in exams and "Practical exam" in exams


def test_the_picker_for_an_exam_the_application_does_not_wait_for_leads_back(signed_in, application):
    response = signed_in.get(picker(application, "practical"))
    assert response.status_code == 302 and response["Location"] == f"/my/applications/{application.pk}/"
    assert signed_in.get(picker(application, "driving")).status_code == 404


# --- who may use the pages -------------------------------------------------------------------------------------


def test_another_citizens_application_is_404_on_every_exam_page(client, application, astana):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9))
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    client.force_login(UserFactory(role=Role.CITIZEN, iin=make_iin()))
    base = f"/my/applications/{application.pk}/exams"
    for url in (f"{base}/theory/", f"{base}/bookings/{booking.pk}/", f"{base}/bookings/{booking.pk}/cancel/"):
        assert client.get(url).status_code == 404
        assert client.post(url, {"slot": slot.pk}).status_code == 404
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.BOOKED


def test_an_application_a_channel_opened_is_followed_but_not_booked_here(client, citizen, astana):
    application = application_at_exams(iin=citizen.iin)  # opened by a bank for this citizen
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9))
    client.force_login(citizen)
    exams = page_of(client, f"/my/applications/{application.pk}/").split('data-testid="exams"')[1]
    assert "No exam is booked yet." in exams and "Book the theory exam" not in exams
    assert client.post(picker(application), {"slot": slot.pk, "booking": ""}).status_code == 404
    assert not Booking.objects.filter(application=application).exists()


def test_staff_and_visitors_do_not_reach_the_pages(client, application):
    assert client.get(picker(application)).status_code == 302  # to sign in
    client.force_login(UserFactory(role=Role.TSON_OPERATOR))
    assert client.get(picker(application)).status_code == 404


# --- languages -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "kind_label", "centre_name", "back"), [
    ("kk", "Теориялық емтихан", "Астана емтихан орталығы", "Артқа"),
    ("ru", "Теоретический экзамен", "Экзаменационный центр Астаны", "Назад"),
    ("en", "Theory exam", "Astana exam centre", "Back"),
])
def test_the_exam_pages_render_in_each_language(signed_in, application, astana, language, kind_label, centre_name,
                                               back):
    slot = ExamSlotFactory(centre=astana, starts_at=local(3, 9))
    chooser = page_of(signed_in, picker(application), language=language)
    assert f'<html lang="{language}">' in chooser and centre_name in chooser and back in chooser
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    base = f"/my/applications/{application.pk}"
    for url in (f"{base}/", f"{base}/exams/bookings/{booking.pk}/", f"{base}/exams/bookings/{booking.pk}/cancel/",
                picker(application)):
        page = page_of(signed_in, url, language=language)
        assert f'<html lang="{language}">' in page
        assert kind_label in page and centre_name in page
        assert page.count("<h1") == 1
