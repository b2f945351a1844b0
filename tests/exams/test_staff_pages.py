"""The examiner's pages: the centre's day, a new slot, the practical exam sheet."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from applications.models import Application, PersonalDataAccess, Status
from exams import services
from exams.models import Booking, ExamSlot
from tests.factories import CentreFactory, ExamSlotFactory, StaffFactory, UserFactory, application_at_exams

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")


@pytest.fixture(autouse=True)
def morning():
    """A working morning, so that the slots starting soon fall on the same local day."""
    with time_machine.travel(datetime.datetime(2026, 12, 4, 9, 0, tzinfo=ALMATY), tick=True):
        yield


@pytest.fixture
def examiner(client):
    user = StaffFactory(username="e.aigerim", role=Role.EXAMINER)
    client.force_login(user)
    return user


def booked(kind="theory", *, starts_in=datetime.timedelta(minutes=30), categories=("B",), centre=None):
    """A booking of an application waiting for this exam, in a slot starting soon."""
    application = application_at_exams(status="practical_exam" if kind == "practical" else "theory_exam",
                                       categories=categories)
    slot = ExamSlotFactory(kind=kind, starts_at=timezone.now() + starts_in, categories=list(categories),
                           **({"centre": centre} if centre else {}))
    return services.book_exam_slot(application=application, slot_id=slot.pk)


def day_url(booking) -> str:
    day = timezone.localdate(booking.slot.starts_at)
    return f"/staff/exams/?centre={booking.slot.centre.code}&day={day.isoformat()}"


@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.POLICE_OFFICER, Role.ADMIN, Role.CITIZEN])
def test_the_examiner_pages_do_not_exist_for_other_roles(client, role):
    booking = booked("practical")
    client.force_login(UserFactory(role=role, username=f"someone-{role}"))
    for url in ("/staff/exams/", "/staff/exams/slots/new/", f"/staff/exams/bookings/{booking.pk}/sheet/",
                f"/staff/exams/bookings/{booking.pk}/sheet/result/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/staff/exams/bookings/{booking.pk}/open/", {"identity_checked": "yes"}).status_code == 404


def test_someone_not_signed_in_is_asked_to_sign_in(client):
    response = client.get("/staff/exams/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/signin/?next=")


def test_the_examiner_home_links_to_the_day(client, examiner):
    page = client.get("/staff/", **EN).content.decode()
    assert 'href="/staff/exams/"' in page and 'href="/staff/exams/slots/new/"' in page


def test_the_day_page_lists_the_bookings_with_their_iin_and_logs_each_read(client, examiner):
    theory = booked("theory")
    practical = booked("practical", centre=theory.slot.centre, starts_in=datetime.timedelta(minutes=40))
    elsewhere = booked("theory", centre=CentreFactory(code="other-centre"))
    response = client.get(day_url(theory), **EN)
    page = response.content.decode()
    assert response.status_code == 200
    for booking in (theory, practical):
        assert booking.application.number in page and booking.application.iin in page
    assert elsewhere.application.iin not in page
    rows = re.findall(r'data-booking="(\d+)"', page)
    assert rows == [str(theory.pk), str(practical.pk)]  # by start time
    assert "Open the exam on this terminal" in page and f"/staff/exams/bookings/{practical.pk}/sheet/" in page
    assert 'name="identity_checked"' in page and "required" in page
    logged = PersonalDataAccess.objects.filter(actor_user=examiner, purpose="case_handling", what="application",
                                               role=Role.EXAMINER)
    assert sorted(logged.values_list("application_id", flat=True)) == sorted(
        [theory.application_id, practical.application_id])
    assert not PersonalDataAccess.objects.filter(application_id=elsewhere.application_id,
                                                 actor_user=examiner).exists()


def test_the_centre_chosen_is_remembered_and_an_empty_day_logs_nothing(client, examiner):
    booking = booked("theory")
    CentreFactory(code="second-centre")
    page = client.get("/staff/exams/", **EN).content.decode()
    assert 'data-testid="choose-centre"' in page  # two centres: the examiner chooses
    client.get(day_url(booking), **EN)
    later = timezone.localdate(booking.slot.starts_at) + datetime.timedelta(days=3)
    page = client.get(f"/staff/exams/?day={later.isoformat()}", **EN).content.decode()
    assert 'data-testid="no-bookings"' in page and booking.slot.centre.name in page
    assert PersonalDataAccess.objects.filter(actor_user=examiner).count() == 1


def test_a_wrong_date_is_an_error_on_the_field(client, examiner):
    booking = booked("theory")
    page = client.get(f"/staff/exams/?centre={booking.slot.centre.code}&day=2026-02-31", **EN).content.decode()
    assert "Enter a real date." in page and booking.application.iin not in page


def test_the_day_page_makes_the_same_queries_for_one_booking_or_many(client, examiner):
    first = booked("theory")
    client.get(day_url(first))
    with CaptureQueriesContext(connection) as one:
        assert client.get(day_url(first)).status_code == 200
    for _ in range(4):
        booked("theory", centre=first.slot.centre)
        booked("practical", centre=first.slot.centre)
    with CaptureQueriesContext(connection) as many:
        page = client.get(day_url(first)).content.decode()
    assert page.count('data-testid="booking-row"') == 9
    assert len(many) == len(one), [query["sql"] for query in many]
    assert len(many) <= 12


def test_opening_a_theory_exam_needs_the_identity_checkbox(client, examiner):
    booking = booked("theory")
    response = client.post(f"/staff/exams/bookings/{booking.pk}/open/", **EN)
    page = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in page and f'href="#identity-{booking.pk}"' in page
    assert "identity document" in page and booking.application.iin in page


def test_creating_a_slot_shows_each_error_beside_its_field(client, examiner):
    CentreFactory(code="exam-centre")
    response = client.post("/staff/exams/slots/new/", {}, **EN)
    page = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in page
    for anchor in ("#id_centre", "#id_kind_0", "#id_date", "#id_time", "#id_capacity", "#id_categories_0"):
        assert f'href="{anchor}"' in page, anchor
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = client.post("/staff/exams/slots/new/", {
        "centre": "exam-centre", "kind": "theory", "date": yesterday.isoformat(), "time": "10:00", "capacity": "12",
        "categories": ["B"]}, **EN)
    page = response.content.decode()
    assert response.status_code == 400 and "A slot must start in the future." in page and 'href="#id_date"' in page
    assert not ExamSlot.objects.exists()


def test_an_examiner_creates_a_slot_and_sees_it_on_its_day(client, examiner):
    CentreFactory(code="exam-centre")
    day = timezone.localdate() + datetime.timedelta(days=2)
    response = client.post("/staff/exams/slots/new/", {
        "centre": "exam-centre", "kind": "practical", "date": day.isoformat(), "time": "09:30", "capacity": "6",
        "categories": ["B", "C"]}, **EN)
    assert response.status_code == 302
    assert response["Location"] == f"/staff/exams/?centre=exam-centre&day={day.isoformat()}"
    slot = ExamSlot.objects.get()
    assert slot.kind == "practical" and slot.capacity == 6 and slot.created_by == examiner
    assert timezone.localtime(slot.starts_at).replace(tzinfo=None) == datetime.datetime.combine(
        day, datetime.time(9, 30))
    assert sorted(slot.category_codes()) == ["B", "C"]
    page = client.get(response["Location"], **EN).content.decode()
    assert "Slot created" in page and "0 / 6" in page


def test_the_practical_sheet_records_a_pass_and_moves_the_application_to_formalization(client, examiner):
    booking = booked("practical")
    url = f"/staff/exams/bookings/{booking.pk}/sheet/"
    page = client.get(url, **EN).content.decode()
    assert "Stalled the engine" in page and "City route" in page and 'name="fault-city-signal"' in page
    assert 'data-points="10"' in page
    response = client.post(url, {"fault-autodrome-stall": "2", "fault-city-signal": "1"}, **EN)
    assert response.status_code == 302 and response["Location"] == f"{url}result/"
    booking.refresh_from_db()
    assert booking.status == Booking.State.PASSED and booking.score == 30 and booking.recorded_by == examiner
    assert booking.sheet["faults"] == {"autodrome-stall": {"times": 2, "points": 10},
                                       "city-signal": {"times": 1, "points": 10}}
    assert Application.objects.get(pk=booking.application_id).status == Status.FORMALIZATION
    page = client.get(response["Location"], **EN).content.decode()
    assert "Practical exam passed" in page and "Penalty points: 30" in page and "Stalled the engine" in page
    assert client.get(url).status_code == 302  # recorded once: the sheet now shows the result


def test_the_practical_sheet_records_a_fail_over_the_limit(client, examiner):
    booking = booked("practical")
    url = f"/staff/exams/bookings/{booking.pk}/sheet/"
    client.post(url, {"fault-city-red-light": "1"})
    booking.refresh_from_db()
    assert booking.status == Booking.State.FAILED and booking.score == 101
    assert Application.objects.get(pk=booking.application_id).status == Status.PRACTICAL_EXAM
    page = client.get(f"{url}result/", **EN).content.decode()
    assert "Practical exam not passed" in page and 'data-passed="false"' in page


def test_the_practical_sheet_refuses_wrong_numbers_and_an_early_result(client, examiner):
    booking = booked("practical")
    url = f"/staff/exams/bookings/{booking.pk}/sheet/"
    page = client.post(url, {"fault-autodrome-stall": "-1", "fault-city-signal": "x"}, **EN).content.decode()
    assert 'href="#id_fault-autodrome-stall"' in page and 'href="#id_fault-city-signal"' in page
    early = booked("practical", starts_in=datetime.timedelta(hours=3))
    response = client.post(f"/staff/exams/bookings/{early.pk}/sheet/", {}, **EN)
    assert response.status_code == 400 and "one hour before" in response.content.decode()
    assert Booking.objects.filter(status=Booking.State.BOOKED).count() == 2


def test_a_theory_booking_has_no_practical_sheet(client, examiner):
    booking = booked("theory")
    assert client.get(f"/staff/exams/bookings/{booking.pk}/sheet/").status_code == 404
    assert client.get("/staff/exams/bookings/999999/sheet/").status_code == 404
