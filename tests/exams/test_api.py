"""The exams' side of API v1 (shared/api-v1.md): slots, bookings, results. Shapes, error codes, who sees what."""

import datetime
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from applications.models import Application
from applications.workflow import move_application
from exams.models import Booking, ExamSlot
from tests.factories import (
    ApplicationFactory,
    CentreFactory,
    ExamSlotFactory,
    OrganisationFactory,
    StaffFactory,
    api_key_for,
    application_at_exams,
)
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

SLOT_KEYS = {"id", "centre", "kind", "starts_at", "categories", "capacity", "free"}
MILLISECONDS_IN_ALMATY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+05:00$")


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    """SMS notices and reports to the exam system are queued after commit; these tests are about the API's rules."""
    queued = []
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: queued.append((task_name, args)))
    return queued


# --- callers --------------------------------------------------------------------------------------------------


def client_for(organisation) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(organisation)}")
    return client


def staff_client(role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=StaffFactory(role=role)).key}")
    return client


def examiner() -> APIClient:
    return staff_client(Role.EXAMINER)


def outsider(caller: str, application) -> APIClient:
    """A caller without the right at stake: staff of other roles, a bank's key of another organisation."""
    if caller == "other_organisation":
        return client_for(OrganisationFactory())
    if caller == "owner":
        return client_for(application.organisation)
    return staff_client({"examiner": Role.EXAMINER, "police_officer": Role.POLICE_OFFICER,
                         "tson_operator": Role.TSON_OPERATOR}[caller])



# --- the world ------------------------------------------------------------------------------------------------


def in_(**delta) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(**delta)


def local(days: int, hour: int = 10) -> datetime.datetime:
    """`hour` o'clock in Almaty, `days` days from today."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def applicant(status="theory_exam", categories=("B",)):
    """An application waiting for its exam, and its channel's client."""
    organisation = OrganisationFactory()
    return application_at_exams(status=status, categories=categories, organisation=organisation), \
        client_for(organisation)


def bookings_url(application, booking_id=None, action=None) -> str:
    url = f"/api/v1/applications/{application.pk}/bookings"
    if booking_id is not None:
        url += f"/{booking_id}"
    return url + (f"/{action}" if action else "")


def book(client, application, slot, **headers):
    return client.post(bookings_url(application), {"slot": slot.pk}, format="json", **headers)


def booked(client, application, slot) -> dict:
    response = book(client, application, slot)
    assert response.status_code == 201, response.content
    return response.json()


def result(client, booking_id, body):
    return client.post(f"/api/v1/bookings/{booking_id}/result", body, format="json")


def slot_free(slot) -> int:
    return APIClient().get(f"/api/v1/exam-slots/{slot.pk}").json()["free"]


def seats_taken(slot) -> int:
    return ExamSlot.objects.get(pk=slot.pk).booked


def application_json(client, application) -> dict:
    response = client.get(f"/api/v1/applications/{application.pk}")
    assert response.status_code == 200, response.content
    return response.json()


def expected_slot(slot, *, free=None) -> dict:
    slot = ExamSlot.objects.select_related("centre").get(pk=slot.pk)
    return {"id": slot.pk, "centre": slot.centre.code, "kind": slot.kind,
            "starts_at": timezone.localtime(slot.starts_at).isoformat(timespec="milliseconds"),
            "categories": slot.category_codes(), "capacity": slot.capacity,
            "free": slot.free if free is None else free}


def slot_body(**fields) -> dict:
    CentreFactory(code="exam-centre", offers_exams=True)
    return {"centre": "exam-centre", "kind": "theory", "starts_at": local(3, 9).isoformat(), "capacity": 12,
            "categories": ["B"], **fields}


# --- slots: the public list and detail ------------------------------------------------------------------------


def test_the_slot_list_is_public_and_shows_a_future_slot_with_free_seats_in_the_contracts_shape():
    slot = ExamSlotFactory(starts_at=local(2, 9), capacity=7, categories=["B", "A"])
    ExamSlot.objects.filter(pk=slot.pk).update(booked=2)
    response = APIClient().get("/api/v1/exam-slots")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "results"} and body["next"] is None
    [shown] = body["results"]
    assert set(shown) == SLOT_KEYS
    assert shown == {"id": slot.pk, "centre": "exam-centre", "kind": "theory", "starts_at": shown["starts_at"],
                     "categories": ["A", "B"], "capacity": 7, "free": 5}
    assert MILLISECONDS_IN_ALMATY.match(shown["starts_at"])
    assert datetime.datetime.fromisoformat(shown["starts_at"]) == slot.starts_at


def test_the_slot_list_leaves_out_full_started_and_past_slots():
    shown = ExamSlotFactory(starts_at=in_(hours=3))
    full = ExamSlotFactory(starts_at=in_(hours=3), capacity=2)
    ExamSlot.objects.filter(pk=full.pk).update(booked=2)
    ExamSlotFactory(starts_at=in_(minutes=-5))  # started, seats free
    ExamSlotFactory(starts_at=in_(days=-2))
    assert [slot["id"] for slot in APIClient().get("/api/v1/exam-slots").json()["results"]] == [shown.pk]


def test_the_slot_list_leaves_out_the_slots_of_a_centre_that_takes_no_exams_now():
    shown = ExamSlotFactory()
    closed = CentreFactory(code="closed-centre", offers_exams=True)
    ExamSlotFactory(centre=closed)
    closed.is_active = False
    closed.save()
    assert [slot["id"] for slot in APIClient().get("/api/v1/exam-slots").json()["results"]] == [shown.pk]


def test_the_slot_list_is_soonest_first():
    later = ExamSlotFactory(starts_at=local(5))
    sooner = ExamSlotFactory(starts_at=local(2))
    assert [slot["id"] for slot in APIClient().get("/api/v1/exam-slots").json()["results"]] == [sooner.pk, later.pk]


def test_the_slot_detail_is_public_and_shows_a_full_slot_with_free_zero():
    full = ExamSlotFactory(capacity=3)
    ExamSlot.objects.filter(pk=full.pk).update(booked=3)
    response = APIClient().get(f"/api/v1/exam-slots/{full.pk}")
    assert response.status_code == 200
    assert response.json() == expected_slot(full, free=0)
    assert set(response.json()) == SLOT_KEYS


def test_the_slot_detail_shows_a_past_slot_too():
    past = ExamSlotFactory(starts_at=in_(days=-1))
    assert APIClient().get(f"/api/v1/exam-slots/{past.pk}").json() == expected_slot(past)


@pytest.mark.parametrize("slot_id", ["987654", "99999999999999999999"], ids=["unknown", "beyond-any-id"])
def test_the_slot_detail_of_an_unknown_slot_is_404(slot_id):
    assert_problem(APIClient().get(f"/api/v1/exam-slots/{slot_id}"), 404, "not_found")


@pytest.fixture
def timetable():
    """Four slots that differ in kind, category, centre and day."""
    north = CentreFactory(code="north", offers_exams=True)
    south = CentreFactory(code="south", offers_exams=True)
    return {
        "theory-B-north-day2": ExamSlotFactory(centre=north, kind="theory", starts_at=local(2), categories=["B"]),
        "practical-B-north-day2": ExamSlotFactory(centre=north, kind="practical", starts_at=local(2, 11),
                                                  categories=["B"]),
        "theory-A-south-day3": ExamSlotFactory(centre=south, kind="theory", starts_at=local(3), categories=["A"]),
        "theory-BC-south-day5": ExamSlotFactory(centre=south, kind="theory", starts_at=local(5),
                                                categories=["B", "C"]),
    }


@pytest.mark.parametrize(("query", "expected"), [
    ({"kind": "practical"}, ["practical-B-north-day2"]),
    ({"kind": "theory"}, ["theory-B-north-day2", "theory-A-south-day3", "theory-BC-south-day5"]),
    ({"category": "B"}, ["theory-B-north-day2", "practical-B-north-day2", "theory-BC-south-day5"]),
    ({"category": "C"}, ["theory-BC-south-day5"]),
    ({"category": "D"}, []),
    ({"centre": "south"}, ["theory-A-south-day3", "theory-BC-south-day5"]),
    ({"centre": "nowhere"}, []),
    ({"date_from": 3}, ["theory-A-south-day3", "theory-BC-south-day5"]),
    ({"date_to": 3}, ["theory-B-north-day2", "practical-B-north-day2", "theory-A-south-day3"]),
    ({"date_from": 3, "date_to": 3}, ["theory-A-south-day3"]),
    ({"kind": "theory", "category": "B", "centre": "north", "date_from": 2, "date_to": 2}, ["theory-B-north-day2"]),
], ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None)
def test_the_slot_list_filters_by_kind_category_centre_and_local_dates(timetable, query, expected):
    params = {key: (timezone.localdate() + datetime.timedelta(days=value)).isoformat() if key.startswith("date")
              else value for key, value in query.items()}
    response = APIClient().get("/api/v1/exam-slots", params)
    assert response.status_code == 200, response.content
    assert [slot["id"] for slot in response.json()["results"]] == [timetable[name].pk for name in expected]


@pytest.mark.parametrize(("query", "field"), [
    ({"date_from": "2030-05-10", "date_to": "2030-05-09"}, "date_to"),
    ({"date_from": "tomorrow"}, "date_from"),
    ({"date_to": "2030-02-30"}, "date_to"),
    ({"kind": "oral"}, "kind"),
    ({"category": "TOOLONG"}, "category"),
    ({"centre": "not a code"}, "centre"),
    ({"page_size": "0"}, "page_size"),
    ({"cursor": "garbage"}, "cursor"),
])
def test_a_slot_list_query_that_is_not_valid_is_400_validation_error_naming_it(query, field):
    body = assert_problem(APIClient().get("/api/v1/exam-slots", query), 400, "validation_error")
    assert field in body["errors"]


def test_the_slot_list_is_cursor_paginated_with_next_and_results():
    slots = [ExamSlotFactory(starts_at=local(days)) for days in (1, 2, 3)]
    client = APIClient()
    first = client.get("/api/v1/exam-slots", {"page_size": 2}).json()
    assert set(first) == {"next", "results"}
    assert [slot["id"] for slot in first["results"]] == [slots[0].pk, slots[1].pk] and first["next"]
    rest = client.get(first["next"]).json()
    assert [slot["id"] for slot in rest["results"]] == [slots[2].pk] and rest["next"] is None


def test_paging_through_slots_that_start_at_the_same_time_shows_each_once():
    same_time = local(2, 9)
    slots = [ExamSlotFactory(centre=CentreFactory(code=f"centre-t{index}", offers_exams=True), starts_at=same_time)
             for index in range(5)]
    client, seen, url = APIClient(), [], "/api/v1/exam-slots?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [slot["id"] for slot in body["results"]]
        url = body["next"]
    assert seen == [slot.pk for slot in slots]


def test_the_slot_list_query_count_does_not_grow_with_the_number_of_slots(django_assert_max_num_queries):
    client = APIClient()
    for days in (1, 2):
        ExamSlotFactory(starts_at=local(days), categories=["B", "C"])
    client.get("/api/v1/exam-slots")  # what a process reads once (policy data) is not counted
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/v1/exam-slots").json()["results"]) == 2
    for index in range(20):
        ExamSlotFactory(centre=CentreFactory(code=f"centre-q{index % 4}", offers_exams=True),
                        kind=("theory", "practical")[index % 2], starts_at=local(3 + index),
                        categories=[("A", "B", "C", "D")[index % 4], "BE"])
    with django_assert_max_num_queries(len(few)):
        assert len(client.get("/api/v1/exam-slots").json()["results"]) == 22


# --- slots: examiners create them -----------------------------------------------------------------------------


def test_an_examiner_creates_a_slot_answering_201_with_the_slot_shape():
    body = slot_body(starts_at="2031-03-14T09:30:00+05:00", capacity=12, categories=["C", "B"])
    response = examiner().post("/api/v1/exam-slots", body, format="json")
    assert response.status_code == 201, response.content
    created = ExamSlot.objects.get()
    assert response.json() == {"id": created.pk, "centre": "exam-centre", "kind": "theory",
                               "starts_at": "2031-03-14T09:30:00.000+05:00", "categories": ["B", "C"],
                               "capacity": 12, "free": 12}
    assert created.created_by.role == Role.EXAMINER
    assert APIClient().get(f"/api/v1/exam-slots/{created.pk}").json() == response.json()


def test_a_slot_created_in_another_offset_is_shown_in_almaty_time():
    response = examiner().post("/api/v1/exam-slots", slot_body(starts_at="2031-03-14T04:30:00Z"), format="json")
    assert response.json()["starts_at"] == "2031-03-14T09:30:00.000+05:00"


@pytest.mark.parametrize("field", ["centre", "kind", "starts_at", "capacity", "categories"])
def test_creating_a_slot_without_a_field_is_400_missing_field_naming_it(field):
    body = slot_body()
    del body[field]
    problem = assert_problem(examiner().post("/api/v1/exam-slots", body, format="json"), 400, "missing_field")
    assert field in problem["errors"]
    assert not ExamSlot.objects.exists()


@pytest.mark.parametrize(("fields", "field"), [
    ({"centre": "no-such-centre"}, "centre"),
    ({"centre": "pickup-only"}, "centre"),
    ({"kind": "oral"}, "kind"),
    ({"starts_at": "2020-01-01T10:00:00+05:00"}, "starts_at"),
    ({"starts_at": "next tuesday"}, "starts_at"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": 501}, "capacity"),
    ({"capacity": "many"}, "capacity"),
    ({"categories": ["B", "Z"]}, "categories"),
], ids=["unknown-centre", "centre-without-exams", "unknown-kind", "past-starts-at", "starts-at-not-a-time",
        "capacity-0", "capacity-over-the-maximum", "capacity-not-a-number", "unknown-category"])
def test_creating_a_slot_with_a_value_that_is_not_valid_is_400_validation_error_naming_it(fields, field):
    CentreFactory(code="pickup-only", offers_exams=False)
    response = examiner().post("/api/v1/exam-slots", slot_body(**fields), format="json")
    problem = assert_problem(response, 400, "validation_error")
    assert field in problem["errors"]
    assert not ExamSlot.objects.exists()


def test_creating_a_slot_without_credentials_is_401_not_authenticated():
    assert_problem(APIClient().post("/api/v1/exam-slots", slot_body(), format="json"), 401, "not_authenticated")
    assert not ExamSlot.objects.exists()


@pytest.mark.parametrize("caller", ["police_officer", "tson_operator", "bank"])
def test_a_caller_that_is_not_an_examiner_creating_a_slot_gets_404(caller):
    client = client_for(OrganisationFactory()) if caller == "bank" else outsider(caller, None)
    assert_problem(client.post("/api/v1/exam-slots", slot_body(), format="json"), 404, "not_found")
    assert not ExamSlot.objects.exists()


def test_creating_a_slot_with_the_same_idempotency_key_creates_it_once():
    client, key = examiner(), str(uuid.uuid4())
    first = client.post("/api/v1/exam-slots", slot_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post("/api/v1/exam-slots", slot_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert ExamSlot.objects.count() == 1


# --- bookings -------------------------------------------------------------------------------------------------


def test_booking_answers_201_with_the_booking_shape_and_takes_a_seat():
    application, client = applicant()
    slot = ExamSlotFactory(capacity=4)
    response = book(client, application, slot)
    assert response.status_code == 201, response.content
    booking = Booking.objects.get()
    assert response.json() == {"id": booking.pk, "slot": expected_slot(slot, free=3), "status": "booked"}
    assert set(response.json()["slot"]) == SLOT_KEYS
    assert MILLISECONDS_IN_ALMATY.match(response.json()["slot"]["starts_at"])
    assert slot_free(slot) == 3 and seats_taken(slot) == 1


def test_a_booking_reads_back_as_it_was_answered():
    application, client = applicant()
    created = booked(client, application, ExamSlotFactory())
    response = client.get(bookings_url(application, created["id"]))
    assert response.status_code == 200
    assert response.json() == created


def test_the_application_shows_its_booking_under_exams():
    application, client = applicant()
    created = booked(client, application, ExamSlotFactory())
    exams = application_json(client, application)["exams"]
    assert exams == {"theory": {"booking": created, "attempts": []}, "practical": {"booking": None, "attempts": []}}


def test_booking_without_a_slot_is_400_missing_field():
    application, client = applicant()
    problem = assert_problem(client.post(bookings_url(application), {}, format="json"), 400, "missing_field")
    assert "slot" in problem["errors"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize("slot_id", [987654, 2**63 - 1, 2**63, "abc", 0, -3, None],
                         ids=["unknown", "largest-id", "beyond-any-id", "not-a-number", "zero", "negative", "null"])
def test_booking_a_slot_id_that_names_no_slot_is_400(slot_id):
    application, client = applicant()
    response = client.post(bookings_url(application), {"slot": slot_id}, format="json")
    problem = assert_problem(response, 400, "missing_field" if slot_id is None else "validation_error")
    assert "slot" in problem["errors"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/v1/exam-slots"),
    ("post", "/api/v1/applications/{application}/bookings"),
    ("get", "/api/v1/applications/{application}/bookings/{booking}"),
    ("delete", "/api/v1/applications/{application}/bookings/{booking}"),
    ("post", "/api/v1/applications/{application}/bookings/{booking}/reschedule"),
    ("post", "/api/v1/bookings/{booking}/result"),
])
@pytest.mark.parametrize("credentials", ["none", "unknown_key", "citizen_token"])
def test_exam_steps_without_valid_credentials_are_401_not_authenticated(method, path, credentials):
    application, client = applicant()
    slot = ExamSlotFactory(starts_at=in_(minutes=30))
    booking = booked(client, application, slot)
    body = {"slot": slot.pk, "passed": True}
    caller = APIClient()
    if credentials == "unknown_key":
        caller.credentials(HTTP_AUTHORIZATION="Api-Key nope.nope")
    elif credentials == "citizen_token":  # citizens use the portal; their token is no API credential
        caller = staff_client(Role.CITIZEN)
    response = getattr(caller, method)(path.format(application=application.pk, booking=booking["id"]), body,
                                            format="json")
    assert_problem(response, 401, "not_authenticated")
    assert Booking.objects.get().status == "booked" and seats_taken(slot) == 1


BOOKING_STEPS = ["book", "read", "cancel", "reschedule"]


def take_booking_step(client, step, application, booking_id, slot):
    if step == "book":
        return book(client, application, slot)
    if step == "read":
        return client.get(bookings_url(application, booking_id))
    if step == "cancel":
        return client.delete(bookings_url(application, booking_id))
    return client.post(bookings_url(application, booking_id, "reschedule"), {"slot": slot.pk}, format="json")


@pytest.mark.parametrize("step", BOOKING_STEPS)
@pytest.mark.parametrize("caller", ["examiner", "police_officer", "tson_operator", "other_organisation"])
def test_a_caller_outside_its_rights_on_an_applications_bookings_gets_404_and_changes_nothing(caller, step):
    application, client = applicant()
    slot, other_slot = ExamSlotFactory(), ExamSlotFactory()
    booking = booked(client, application, slot)
    if step == "book":
        Booking.objects.all().delete()
        ExamSlot.objects.filter(pk=slot.pk).update(booked=0)
    response = take_booking_step(outsider(caller, application), step, application, booking["id"], other_slot)
    assert_problem(response, 404, "not_found")
    assert list(Booking.objects.values_list("slot_id", "status")) == ([] if step == "book" else [(slot.pk, "booked")])
    assert seats_taken(other_slot) == 0


@pytest.mark.parametrize("step", ["read", "cancel", "reschedule"])
def test_a_booking_of_another_application_is_404_under_this_one(step):
    organisation = OrganisationFactory()
    client = client_for(organisation)
    mine = application_at_exams(organisation=organisation)
    theirs = application_at_exams(organisation=organisation)
    slot, other_slot = ExamSlotFactory(), ExamSlotFactory()
    their_booking = booked(client, theirs, slot)
    response = take_booking_step(client, step, mine, their_booking["id"], other_slot)
    assert_problem(response, 404, "not_found")
    assert Booking.objects.get().status == "booked"
    assert (seats_taken(slot), seats_taken(other_slot)) == (1, 0)


@pytest.mark.parametrize("booking_id", ["987654", "99999999999999999999"], ids=["unknown", "beyond-any-id"])
def test_an_unknown_booking_is_404(booking_id):
    application, client = applicant()
    slot = ExamSlotFactory()
    assert_problem(client.get(bookings_url(application, booking_id)), 404, "not_found")
    assert_problem(client.delete(bookings_url(application, booking_id)), 404, "not_found")
    response = client.post(bookings_url(application, booking_id, "reschedule"), {"slot": slot.pk}, format="json")
    assert_problem(response, 404, "not_found")


def test_booking_a_full_slot_is_409_slot_full():
    slot = ExamSlotFactory(capacity=1)
    first, first_client = applicant()
    booked(first_client, first, slot)
    second, second_client = applicant()
    assert_problem(book(second_client, second, slot), 409, "slot_full")
    assert not second.exam_bookings.exists() and seats_taken(slot) == 1


def test_a_second_booking_of_the_same_kind_is_409_booking_exists():
    application, client = applicant()
    first = booked(client, application, ExamSlotFactory())
    other = ExamSlotFactory(starts_at=in_(days=2))
    assert_problem(book(client, application, other), 409, "booking_exists")
    assert list(Booking.objects.values_list("pk", flat=True)) == [first["id"]]
    assert seats_taken(other) == 0


def test_booking_before_submit_is_409_wrong_status():
    organisation = OrganisationFactory()
    application = ApplicationFactory(organisation=organisation)
    for step in ("record_consent", "mark_eligible"):
        move_application(application_id=application.pk, transition=step)
    slot = ExamSlotFactory()
    assert_problem(book(client_for(organisation), application, slot), 409, "wrong_status")
    assert not Booking.objects.exists() and seats_taken(slot) == 0


def test_booking_in_formalization_is_409_wrong_status():
    application, client = applicant(status="practical_exam")
    application = move_application(application_id=application.pk, transition="pass_practical_exam")
    assert application.status == "formalization"
    slot = ExamSlotFactory(kind="practical")
    assert_problem(book(client, application, slot), 409, "wrong_status")
    assert not Booking.objects.exists() and seats_taken(slot) == 0


@pytest.mark.parametrize(("status", "slot_fields"), [
    ("theory_exam", {"kind": "practical"}),
    ("practical_exam", {"kind": "theory"}),
    ("theory_exam", {"categories": ["A"]}),
    ("theory_exam", {"categories": ["B", "C"], "_application_categories": ("B", "BE")}),
    ("theory_exam", {"starts_at": "started"}),
    ("theory_exam", {"centre": "closed"}),
], ids=["practical-slot-for-theory", "theory-slot-for-practical", "another-category", "not-every-category",
        "started", "centre-closed"])
def test_a_slot_that_does_not_suit_the_application_is_422_slot_not_suitable(status, slot_fields):
    slot_fields = dict(slot_fields)
    categories = slot_fields.pop("_application_categories", ("B",))
    application, client = applicant(status=status, categories=categories)
    if slot_fields.get("starts_at") == "started":
        slot_fields["starts_at"] = in_(minutes=-1)
    slot_fields.setdefault("kind", {"theory_exam": "theory", "practical_exam": "practical"}[status])
    closing = slot_fields.pop("centre", None) == "closed"
    slot = ExamSlotFactory(**slot_fields)
    if closing:  # the centre stops taking exams after its slots were made
        type(slot.centre).objects.filter(pk=slot.centre_id).update(offers_exams=False)
    problem = assert_problem(book(client, application, slot), 422, "slot_not_suitable")
    assert "slot" in problem["errors"]
    assert not Booking.objects.exists() and seats_taken(slot) == 0


def test_after_a_failed_result_a_new_booking_is_422_retake_too_early_with_retake_from():
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    failed = result(examiner(), booking["id"], {"passed": False, "score": 20})
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    retake = ExamSlotFactory(starts_at=in_(days=10))
    problem = assert_problem(book(client, application, retake), 422, "retake_too_early")
    assert MILLISECONDS_IN_ALMATY.match(problem["retake_from"])
    result_at = Booking.objects.get(pk=booking["id"]).result_at
    retake_from = datetime.datetime.fromisoformat(problem["retake_from"])
    assert abs(retake_from - (result_at + datetime.timedelta(days=7))) < datetime.timedelta(seconds=1)
    assert seats_taken(retake) == 0 and application.exam_bookings.count() == 1


def test_a_tson_operator_books_for_an_exchange_opened_at_a_branch():
    from applications.services import next_application_number

    application = ApplicationFactory(service="foreign_exchange", channel="tson_branch", organisation=None,
                                     foreign_licence={"country": "UZ", "number": "AA1234567", "categories": ["B"],
                                                      "valid_until": "2030-01-01"})
    for step in ("record_consent", "mark_eligible"):
        move_application(application_id=application.pk, transition=step)
    Application.objects.filter(pk=application.pk).update(
        number=next_application_number(), phone="+77010000001", language="ru", pickup_tson=CentreFactory())
    application = move_application(application_id=application.pk, transition="submit", theory_exam_required=True)
    assert application.status == "theory_exam"
    operator = staff_client(Role.TSON_OPERATOR)
    response = book(operator, application, ExamSlotFactory())
    assert response.status_code == 201, response.content
    assert operator.get(bookings_url(application, response.json()["id"])).json() == response.json()


# --- cancel and reschedule ------------------------------------------------------------------------------------


def test_delete_answers_204_and_frees_the_seat_at_once():
    application, client = applicant()
    slot = ExamSlotFactory(capacity=2)
    booking = booked(client, application, slot)
    assert slot_free(slot) == 1
    response = client.delete(bookings_url(application, booking["id"]))
    assert response.status_code == 204 and response.content == b""
    assert slot_free(slot) == 2
    assert client.get(bookings_url(application, booking["id"])).json()["status"] == "cancelled"


def test_delete_twice_is_204_both_times_and_changes_nothing_the_second_time():
    slot = ExamSlotFactory(capacity=3)
    application, client = applicant()
    other, other_client = applicant()
    booking = booked(client, application, slot)
    booked(other_client, other, slot)
    assert client.delete(bookings_url(application, booking["id"])).status_code == 204
    cancelled_at = Booking.objects.get(pk=booking["id"]).cancelled_at
    assert client.delete(bookings_url(application, booking["id"])).status_code == 204
    assert seats_taken(slot) == 1 and slot_free(slot) == 2  # the other applicant's seat stays taken
    assert Booking.objects.get(pk=booking["id"]).cancelled_at == cancelled_at


def test_after_a_cancel_the_application_books_again():
    application, client = applicant()
    slot = ExamSlotFactory(capacity=1)
    booking = booked(client, application, slot)
    client.delete(bookings_url(application, booking["id"]))
    again = booked(client, application, slot)
    assert again["id"] != booking["id"] and again["slot"]["free"] == 0
    exams = application_json(client, application)["exams"]["theory"]
    assert exams == {"booking": again, "attempts": []}


def test_cancelling_a_booking_after_its_result_is_409_wrong_status():
    application, client = applicant()
    slot = ExamSlotFactory(starts_at=in_(minutes=30))
    booking = booked(client, application, slot)
    assert result(examiner(), booking["id"], {"passed": False, "score": 12}).status_code == 200
    assert_problem(client.delete(bookings_url(application, booking["id"])), 409, "wrong_status")
    assert Booking.objects.get().status == "failed" and seats_taken(slot) == 1


@pytest.mark.parametrize("step", ["cancel", "reschedule"])
def test_changing_a_booking_whose_exam_has_started_is_409_wrong_status(step):
    application, client = applicant()
    slot, other = ExamSlotFactory(starts_at=in_(minutes=10)), ExamSlotFactory()
    booking = booked(client, application, slot)
    ExamSlot.objects.filter(pk=slot.pk).update(starts_at=in_(minutes=-10))
    assert_problem(take_booking_step(client, step, application, booking["id"], other), 409, "wrong_status")
    assert Booking.objects.get().status == "booked"
    assert (seats_taken(slot), seats_taken(other)) == (1, 0)


@pytest.mark.parametrize("direction", ["to-a-later-created-slot", "to-an-earlier-created-slot"])
def test_reschedule_moves_the_seat_and_answers_201_with_the_new_booking(direction):
    application, client = applicant()
    earlier_created, later_created = ExamSlotFactory(capacity=3), ExamSlotFactory(capacity=3, starts_at=in_(days=3))
    old_slot, new_slot = ((earlier_created, later_created) if direction == "to-a-later-created-slot"
                          else (later_created, earlier_created))
    old = booked(client, application, old_slot)
    response = client.post(bookings_url(application, old["id"], "reschedule"), {"slot": new_slot.pk}, format="json")
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["id"] != old["id"]
    assert new == {"id": new["id"], "slot": expected_slot(new_slot, free=2), "status": "booked"}
    assert (slot_free(old_slot), slot_free(new_slot)) == (3, 2)
    assert client.get(bookings_url(application, old["id"])).json()["status"] == "cancelled"
    assert application_json(client, application)["exams"]["theory"]["booking"] == new


def test_rescheduling_to_a_full_slot_is_409_slot_full_and_the_old_booking_stands():
    application, client = applicant()
    old_slot, full = ExamSlotFactory(), ExamSlotFactory(capacity=1, starts_at=in_(days=2))
    ExamSlot.objects.filter(pk=full.pk).update(booked=1)
    old = booked(client, application, old_slot)
    response = client.post(bookings_url(application, old["id"], "reschedule"), {"slot": full.pk}, format="json")
    assert_problem(response, 409, "slot_full")
    assert list(Booking.objects.values_list("pk", "status")) == [(old["id"], "booked")]
    assert (seats_taken(old_slot), seats_taken(full)) == (1, 1)


@pytest.mark.parametrize("target", ["practical", "category-A", "started"])
def test_rescheduling_to_an_unsuitable_slot_is_422_slot_not_suitable_and_the_old_booking_stands(target):
    application, client = applicant()
    old_slot = ExamSlotFactory()
    fields = {"practical": {"kind": "practical"}, "category-A": {"categories": ["A"]},
              "started": {"starts_at": in_(minutes=-1)}}[target]
    new_slot = ExamSlotFactory(**fields)
    old = booked(client, application, old_slot)
    response = client.post(bookings_url(application, old["id"], "reschedule"), {"slot": new_slot.pk}, format="json")
    assert_problem(response, 422, "slot_not_suitable")
    assert list(Booking.objects.values_list("pk", "status")) == [(old["id"], "booked")]
    assert (seats_taken(old_slot), seats_taken(new_slot)) == (1, 0)


def test_rescheduling_to_the_same_slot_keeps_the_booking_and_the_seat():
    application, client = applicant()
    slot = ExamSlotFactory(capacity=2)
    old = booked(client, application, slot)
    response = client.post(bookings_url(application, old["id"], "reschedule"), {"slot": slot.pk}, format="json")
    assert response.status_code in (200, 201) and response.json() == old
    assert list(Booking.objects.values_list("pk", "status")) == [(old["id"], "booked")]
    assert seats_taken(slot) == 1


def test_rescheduling_without_a_slot_is_400_missing_field():
    application, client = applicant()
    old = booked(client, application, ExamSlotFactory())
    response = client.post(bookings_url(application, old["id"], "reschedule"), {}, format="json")
    assert "slot" in assert_problem(response, 400, "missing_field")["errors"]


def test_rescheduling_a_cancelled_booking_is_409_wrong_status():
    application, client = applicant()
    slot, other = ExamSlotFactory(), ExamSlotFactory()
    old = booked(client, application, slot)
    client.delete(bookings_url(application, old["id"]))
    response = client.post(bookings_url(application, old["id"], "reschedule"), {"slot": other.pk}, format="json")
    assert_problem(response, 409, "wrong_status")
    assert (seats_taken(slot), seats_taken(other)) == (0, 0)


def test_methods_the_exam_endpoints_do_not_take_are_405_method_not_allowed():
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory())
    assert_problem(client.get(bookings_url(application)), 405, "method_not_allowed")
    assert_problem(client.put(bookings_url(application, booking["id"]), {}, format="json"), 405,
                   "method_not_allowed")
    assert_problem(examiner().delete(f"/api/v1/exam-slots/{booking['slot']['id']}"), 405, "method_not_allowed")
    assert_problem(examiner().get(f"/api/v1/bookings/{booking['id']}/result"), 405, "method_not_allowed")


def test_the_slot_endpoint_shows_free_seats_at_once_after_another_applicant_books():
    """Inside an Application the booked slot's `free` may be up to a minute old (documented: the copy of the
    Application is forgotten when that application changes, not when another applicant takes a seat)."""
    slot = ExamSlotFactory(capacity=3)
    application, client = applicant()
    booked(client, application, slot)
    assert application_json(client, application)["exams"]["theory"]["booking"]["slot"]["free"] == 2
    other, other_client = applicant()
    booked(other_client, other, slot)
    assert client.get(f"/api/v1/exam-slots/{slot.pk}").json()["free"] == 1


# --- results --------------------------------------------------------------------------------------------------


def test_a_theory_pass_answers_200_with_the_booking_and_moves_the_application_to_practical_exam():
    application, client = applicant()
    slot = ExamSlotFactory(starts_at=in_(minutes=30))
    booking = booked(client, application, slot)
    response = result(examiner(), booking["id"], {"passed": True, "score": 36})
    assert response.status_code == 200, response.content
    assert response.json() == {"id": booking["id"], "slot": expected_slot(slot), "status": "passed"}
    shown = application_json(client, application)
    assert shown["status"] == "practical_exam"
    theory = shown["exams"]["theory"]
    assert theory["booking"] == response.json()
    [attempt] = theory["attempts"]
    assert set(attempt) == {"at", "passed", "score"}
    assert (attempt["passed"], attempt["score"]) == (True, 36)
    assert MILLISECONDS_IN_ALMATY.match(attempt["at"])
    assert shown["exams"]["practical"] == {"booking": None, "attempts": []}


def test_a_practical_pass_moves_the_application_to_formalization():
    application, client = applicant(status="practical_exam")
    booking = booked(client, application, ExamSlotFactory(kind="practical", starts_at=in_(minutes=50)))
    response = result(examiner(), booking["id"], {"passed": True, "score": 40})
    assert response.status_code == 200 and response.json()["status"] == "passed"
    shown = application_json(client, application)
    assert shown["status"] == "formalization"
    assert [(a["passed"], a["score"]) for a in shown["exams"]["practical"]["attempts"]] == [(True, 40)]


def test_the_whole_way_from_theory_exam_to_formalization_through_the_api():
    application, client = applicant()
    checker = examiner()
    theory = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=20)))
    assert result(checker, theory["id"], {"passed": True, "score": 38}).status_code == 200
    assert_problem(book(client, application, ExamSlotFactory(starts_at=in_(days=1))), 422, "slot_not_suitable")
    practical = booked(client, application, ExamSlotFactory(kind="practical", starts_at=in_(minutes=20)))
    assert result(checker, practical["id"], {"passed": True}).status_code == 200
    shown = application_json(client, application)
    assert shown["status"] == "formalization"
    assert [attempt["passed"] for kind in ("theory", "practical") for attempt in shown["exams"][kind]["attempts"]] \
        == [True, True]
    assert shown["exams"]["practical"]["attempts"][0]["score"] is None


def test_a_failed_result_keeps_the_application_at_its_exam_and_shows_the_attempt():
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    response = result(examiner(), booking["id"], {"passed": False, "score": 20})
    assert response.json()["status"] == "failed"
    shown = application_json(client, application)
    assert shown["status"] == "theory_exam"
    assert shown["exams"]["theory"]["booking"]["status"] == "failed"
    assert [(a["passed"], a["score"]) for a in shown["exams"]["theory"]["attempts"]] == [(False, 20)]


def test_a_result_more_than_an_hour_before_the_slot_is_409_wrong_status():
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=61)))
    assert_problem(result(examiner(), booking["id"], {"passed": True, "score": 35}), 409, "wrong_status")
    assert Booking.objects.get().status == "booked"
    assert Application.objects.get(pk=application.pk).status == "theory_exam"


def test_a_second_result_on_the_same_booking_is_409_wrong_status():
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    checker = examiner()
    assert result(checker, booking["id"], {"passed": False, "score": 20}).status_code == 200
    assert_problem(result(checker, booking["id"], {"passed": True, "score": 39}), 409, "wrong_status")
    assert Booking.objects.get().status == "failed"
    assert Application.objects.get(pk=application.pk).status == "theory_exam"


def test_a_result_for_a_cancelled_booking_is_409_wrong_status():
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    client.delete(bookings_url(application, booking["id"]))
    assert_problem(result(examiner(), booking["id"], {"passed": True, "score": 35}), 409, "wrong_status")


def test_a_result_without_passed_is_400_missing_field():
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    problem = assert_problem(result(examiner(), booking["id"], {"score": 35}), 400, "missing_field")
    assert "passed" in problem["errors"]
    assert Booking.objects.get().status == "booked"


@pytest.mark.parametrize("score", [41, -1, "many"])
def test_a_theory_score_outside_0_to_the_questions_is_400_validation_error(score):
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    problem = assert_problem(result(examiner(), booking["id"], {"passed": True, "score": score}), 400,
                             "validation_error")
    assert "score" in problem["errors"]
    assert Booking.objects.get().status == "booked"


@pytest.mark.parametrize("booking_id", ["987654", "99999999999999999999"], ids=["unknown", "beyond-any-id"])
def test_a_result_for_an_unknown_booking_is_404(booking_id):
    assert_problem(result(examiner(), booking_id, {"passed": True, "score": 35}), 404, "not_found")


@pytest.mark.parametrize("caller", ["police_officer", "tson_operator", "owner", "other_organisation"])
def test_a_caller_that_is_not_an_examiner_recording_a_result_gets_404(caller):
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    response = result(outsider(caller, application), booking["id"], {"passed": True, "score": 35})
    assert_problem(response, 404, "not_found")
    assert Booking.objects.get().status == "booked"
    assert Application.objects.get(pk=application.pk).status == "theory_exam"


def test_a_result_is_reported_to_the_exam_system_after_commit(no_background_jobs, django_capture_on_commit_callbacks):
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    with django_capture_on_commit_callbacks(execute=True):
        result(examiner(), booking["id"], {"passed": True, "score": 35})
    assert ("exams.tasks.report_exam_result", (booking["id"],)) in no_background_jobs


# --- idempotency ----------------------------------------------------------------------------------------------


def test_the_same_idempotency_key_replays_the_201_and_books_once():
    application, client = applicant()
    slot, key = ExamSlotFactory(capacity=5), str(uuid.uuid4())
    first = book(client, application, slot, HTTP_IDEMPOTENCY_KEY=key)
    again = book(client, application, slot, HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert again.json() == first.json()
    assert Booking.objects.count() == 1 and seats_taken(slot) == 1


def test_the_same_idempotency_key_for_another_slot_is_422_idempotency_key_reused():
    application, client = applicant()
    slot, other, key = ExamSlotFactory(), ExamSlotFactory(), str(uuid.uuid4())
    assert book(client, application, slot, HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    assert_problem(book(client, application, other, HTTP_IDEMPOTENCY_KEY=key), 422, "idempotency_key_reused")
    assert Booking.objects.count() == 1 and seats_taken(other) == 0


def test_a_result_with_the_same_idempotency_key_is_recorded_once():
    application, client = applicant()
    booking = booked(client, application, ExamSlotFactory(starts_at=in_(minutes=30)))
    checker, key = examiner(), str(uuid.uuid4())
    first = checker.post(f"/api/v1/bookings/{booking['id']}/result", {"passed": True, "score": 35}, format="json",
                         HTTP_IDEMPOTENCY_KEY=key)
    again = checker.post(f"/api/v1/bookings/{booking['id']}/result", {"passed": True, "score": 35}, format="json",
                         HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()


# --- the application cancelled --------------------------------------------------------------------------------


def test_cancelling_the_application_frees_its_booking(django_capture_on_commit_callbacks):
    application, client = applicant()
    slot = ExamSlotFactory(capacity=2)
    booking = booked(client, application, slot)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/applications/{application.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Booking.objects.get(pk=booking["id"]).status == "cancelled"
    assert seats_taken(slot) == 0 and slot_free(slot) == 2
    assert application_json(client, application)["exams"]["theory"]["booking"]["status"] == "cancelled"


def test_a_cancelled_application_cannot_book():
    application, client = applicant()
    move_application(application_id=application.pk, transition="cancel")
    slot = ExamSlotFactory()
    assert_problem(book(client, application, slot), 409, "wrong_status")
    assert seats_taken(slot) == 0
