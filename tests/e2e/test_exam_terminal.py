"""A whole theory exam on the terminal in Chromium: the examiner opens it, the applicant answers 40 questions."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts.models import Role
from applications.models import Application, Status
from exams import services
from exams.models import Booking, TheorySession
from tests.exams.conftest import make_question_bank
from tests.factories import ExamSlotFactory, StaffFactory, application_at_exams

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "correct horse battery staple"  # the factories' password


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_applicant_takes_the_theory_exam_on_the_terminal_and_passes(page, live_server):
    make_question_bank(45)
    StaffFactory(username="e.aigerim", role=Role.EXAMINER)
    application = application_at_exams()
    slot = ExamSlotFactory(starts_at=timezone.now() + datetime.timedelta(minutes=20))
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    day = timezone.localdate(slot.starts_at).isoformat()

    page.goto(f"{live_server.url}/staff/exams/?centre={slot.centre.code}&day={day}")
    page.wait_for_url(re.compile(r"/staff/signin/"))
    page.fill("#id_username", "e.aigerim")
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/exams/\?"))
    row = page.locator(f"#booking-{booking.pk}")
    assert row.locator("[data-testid=iin]").inner_text() == application.iin
    assert fits_the_screen(page)
    page.check(f"#identity-{booking.pk}")
    row.locator("form button[type=submit]").click()

    page.wait_for_url(re.compile(r"/staff/exams/terminal/[0-9a-f-]+/$"))
    session = TheorySession.objects.get(booking=booking)
    assert page.locator("html").get_attribute("lang") == "kk"
    assert page.locator("[data-testid=time-left] time").inner_text() in {"40:00", "39:59", "39:58"}
    assert fits_the_screen(page)
    # The first answer from the keyboard: Space picks the radio, Enter saves and goes on.
    page.locator("#option-1").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    for number in range(2, 41):
        page.wait_for_url(re.compile(rf"\?q={number}$"))
        assert page.locator("[data-testid=question]").get_attribute("data-number") == str(number)
        page.locator(".answer").first.click()  # the test bank's right answer comes first
        page.click("button[name=go][value=next]")

    page.wait_for_url(re.compile(r"/finish/$"))
    assert "40" in page.locator("[data-testid=answered]").inner_text()
    page.click("[data-testid=finish]")
    page.wait_for_url(re.compile(r"/result/$"))
    assert page.locator("[data-testid=score]").inner_text() == "40 / 40"
    assert page.locator("[data-testid=result]").get_attribute("data-passed") == "true"
    assert fits_the_screen(page)

    session.refresh_from_db()
    assert session.correct == 40 and session.finished_at is not None
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.PASSED
    assert Application.objects.get(pk=application.pk).status == Status.PRACTICAL_EXAM
    # The examiner was signed out when the exam opened: the terminal reaches no staff page.
    page.goto(f"{live_server.url}/staff/exams/")
    page.wait_for_url(re.compile(r"/staff/signin/"))
