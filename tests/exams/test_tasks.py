"""The exams' tasks and after-commit work on a real Celery worker (real Redis broker) and the live registry sandbox:
the result reported to the exam system, the SMS notices, the beat's chores, and seats freed on cancellation."""

import datetime
import re
import time
import uuid

import httpx
import pytest
from django.utils import timezone

from applications.models import Application, PersonalDataAccess
from applications.services import cancel_application
from applications.services.notices import notice_text
from exams import services, tasks
from exams.models import Booking, ExamSlot
from exams.services.results import result_details
from registries.clients import PERSON_CLIENTS, PersonQuery
from registries.sandbox.models import SandboxExamResult, SandboxSms
from tests.factories import CentreFactory, ExamSlotFactory, application_at_exams
from tests.sandbox import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def applicant(sandbox):
    """A citizen the sandbox knows (with a phone), whose application waits for the theory exam."""
    person = sandbox.add()
    application = application_at_exams(iin=person["iin"])
    return person, application


def book(application, *, starts_in=datetime.timedelta(minutes=30), **slot_fields) -> Booking:
    slot = ExamSlotFactory(starts_at=timezone.now() + starts_in, **slot_fields)
    return services.book_exam_slot(application=application, slot_id=slot.pk)


def booking_details(booking: Booking) -> dict:
    return {"booking_id": booking.pk, "kind": booking.kind, "centre": booking.slot.centre.code,
            "starts_at": booking.slot.starts_at.isoformat()}


def texts(sandbox, person) -> list[str]:
    return [message["text"] for message in sandbox.sms_for(person["phone"])]


def wait_for_sms(sandbox, person, text: str) -> None:
    wait_for(lambda: text in texts(sandbox, person), message=f"the SMS {text!r}")


def reference(booking: Booking) -> str:
    return f"kualik-booking-{booking.pk}"


def granted_consent(sandbox, person) -> str:
    """A consent the citizen granted at the sandbox's consent service (code from the SMS outbox)."""
    answer = httpx.post(f"{sandbox.base_url}/sandbox/registries/consent/requests", json={
        "iin": person["iin"], "application": str(uuid.uuid4()), "channel": "portal", "purpose": "first_issue",
        "registries": ["exam_attempts"], "language": "en", "callback_url": None}, timeout=10).json()
    assert answer["status"] == "code_sent"
    consent_texts = SandboxSms.objects.filter(phone=person["phone"], text__contains="consent code").order_by(
        "-sent_at").values_list("text", flat=True)
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", consent_texts[0]).group(1)
    confirmed = httpx.post(f"{sandbox.base_url}/sandbox/registries/consent/requests/{answer['request_id']}/confirm",
                           json={"code": code}, timeout=10)
    assert confirmed.json() == {"status": "granted"}
    return answer["request_id"]


def test_a_recorded_result_is_reported_to_the_exam_system_once_even_when_the_task_runs_twice(
        applicant, celery_worker):
    person, application = applicant
    booking = book(application)

    services.record_exam_result(booking_id=booking.pk, passed=False, score=20)
    tasks.report_exam_result.delay(booking.pk)  # the same task delivered a second time

    wait_for(lambda: Booking.objects.get(pk=booking.pk).reported_at is not None, message="reported_at")
    time.sleep(1)  # let the duplicate finish
    assert tasks.report_exam_result.apply(args=[booking.pk]).get() == "done"  # and a third run does nothing
    recorded = SandboxExamResult.objects.get(reference=reference(booking))
    assert (recorded.iin, recorded.kind, recorded.passed, recorded.score) == (person["iin"], "theory", False, 20)
    result_at = Booking.objects.get(pk=booking.pk).result_at
    assert recorded.at == result_at.replace(microsecond=result_at.microsecond // 1000 * 1000)  # sent to the ms
    assert SandboxExamResult.objects.filter(iin=person["iin"]).count() == 1
    log = PersonalDataAccess.objects.filter(application=application, registry="exam_attempts",
                                            purpose=PersonalDataAccess.Purpose.EXAM_RESULT)
    assert log.count() == 1
    assert (log.get().actor_kind, log.get().what) == (PersonalDataAccess.ActorKind.REGISTRY, "registry:exam_results")


def test_a_pass_is_reported_to_the_exam_system_too(applicant, celery_worker):
    _person, application = applicant
    booking = book(application)

    services.record_exam_result(booking_id=booking.pk, passed=True, score=36)

    wait_for(lambda: SandboxExamResult.objects.filter(reference=reference(booking)).exists(),
             message="the result at the exam system")
    assert SandboxExamResult.objects.get(reference=reference(booking)).passed is True
    wait_for(lambda: Booking.objects.get(pk=booking.pk).reported_at is not None, message="reported_at")


def test_a_later_exam_attempts_query_counts_the_reported_failure(sandbox, celery_worker):
    person = sandbox.add(exam_attempts={"theory": 1, "practical": 0, "last_failed_on": "2026-01-20"})
    application = application_at_exams(iin=person["iin"])
    booking = book(application)

    services.record_exam_result(booking_id=booking.pk, passed=False, score=25)
    wait_for(lambda: Booking.objects.get(pk=booking.pk).reported_at is not None, message="reported_at")

    answer = PERSON_CLIENTS["exam_attempts"].check(PersonQuery(iin=person["iin"],
                                                               consent_request=granted_consent(sandbox, person)))
    result_at = Booking.objects.get(pk=booking.pk).result_at
    assert answer.outcome == "passed"
    assert answer.facts == {"theory": 2, "practical": 0,
                            "last_failed_on": timezone.localdate(result_at).isoformat()}


def test_the_booking_sms_and_the_result_sms_reach_the_citizen_in_the_applications_language(applicant, sandbox,
                                                                                          celery_worker):
    person, application = applicant
    Application.objects.filter(pk=application.pk).update(notify_language="ru")
    application.refresh_from_db()
    centre = CentreFactory(code="exam-ru", name="Астана ХҚКО", name_ru="ЦОН Астаны", name_en="Astana TSON",
                           address="Астана, Мәңгілік Ел 1", address_ru="Астана, Мангилик Ел 1", offers_exams=True)
    booking = book(application, centre=centre)
    booked_text = notice_text(application, "exam_booked", booking_details(booking))

    services.record_exam_result(booking_id=booking.pk, passed=False, score=20)
    result_text = notice_text(application, "exam_result", result_details(Booking.objects.get(pk=booking.pk)))

    wait_for(lambda: {booked_text, result_text} <= set(texts(sandbox, person)), message="both SMS")
    assert "Теоретический экзамен" in booked_text and "ЦОН Астаны" in booked_text
    assert "Мангилик Ел 1" in booked_text
    assert "Теоретический экзамен" in result_text
    assert not any("Theory exam" in text or "Теориялық" in text for text in (booked_text, result_text))


def test_the_reminder_is_sent_once_for_a_slot_starting_within_a_day(applicant, sandbox, celery_worker):
    person, application = applicant
    Application.objects.filter(pk=application.pk).update(notify_language="en")
    application.refresh_from_db()
    booking = book(application, starts_in=datetime.timedelta(hours=20))
    _other_person, later_application = sandbox.add(), application_at_exams()
    later = book(later_application, starts_in=datetime.timedelta(hours=30))

    assert services.send_exam_reminders() == 1
    assert services.send_exam_reminders() == 0

    reminder_text = notice_text(application, "exam_reminder", booking_details(booking))
    wait_for_sms(sandbox, person, reminder_text)
    time.sleep(1)  # anything sent twice would have arrived by now
    assert texts(sandbox, person).count(reminder_text) == 1
    assert "reminder" in reminder_text
    assert Booking.objects.get(pk=booking.pk).reminded_at is not None
    assert Booking.objects.get(pk=later.pk).reminded_at is None


def test_the_beats_chores_mark_a_booking_whose_slot_ended_hours_ago_a_no_show(applicant, sandbox, celery_worker):
    person, application = applicant
    booking = book(application, starts_in=datetime.timedelta(hours=2))
    # The exam took place six hours ago and nobody recorded a result.
    ExamSlot.objects.filter(pk=booking.slot_id).update(starts_at=timezone.now() - datetime.timedelta(hours=6))
    recent = book(application_at_exams(), starts_in=datetime.timedelta(hours=2))
    ExamSlot.objects.filter(pk=recent.slot_id).update(starts_at=timezone.now() - datetime.timedelta(hours=1))

    tasks.exam_chores.delay()

    wait_for(lambda: Booking.objects.get(pk=booking.pk).status == Booking.State.FAILED, message="the no-show")
    marked = Booking.objects.get(pk=booking.pk)
    assert marked.no_show is True
    assert Booking.objects.get(pk=recent.pk).status == Booking.State.BOOKED
    # Counted as a failed attempt (the rules' default): reported to the exam system, and the citizen told.
    wait_for(lambda: SandboxExamResult.objects.filter(reference=reference(booking), passed=False).exists(),
             message="the no-show reported")
    no_show_text = notice_text(application, "exam_no_show", {"booking_id": booking.pk, "kind": "theory",
                                                              "counted": True})
    wait_for_sms(sandbox, person, no_show_text)


def test_cancelling_an_application_with_a_booking_frees_the_seat_after_commit(applicant, celery_worker):
    _person, application = applicant
    booking = book(application)
    assert ExamSlot.objects.get(pk=booking.slot_id).booked == 1

    cancel_application(application=application, actor=None)

    assert Application.objects.get(pk=application.pk).status == "cancelled"
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.CANCELLED
    assert ExamSlot.objects.get(pk=booking.slot_id).booked == 0
