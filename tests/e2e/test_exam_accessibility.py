"""Accessibility of the exam pages not checked elsewhere: the examiner's pages (/staff/exams/), the theory exam
terminal and practice mode (/practice/), with axe-core and the keyboard, in kk, ru and en at 320 and 1280 px, as
test_exam_booking.py checks the portal's exam pages. Each page must speak the language asked for and have one h1;
every problem is collected and reported together at the end."""

import datetime
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from applications.models import Application
from exams import services
from tests.e2e.test_accessibility import axe_problems, keyboard_problems
from tests.exams.conftest import make_question_bank
from tests.factories import ExamSlotFactory, StaffFactory, application_at_exams

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LANGUAGES = ("kk", "ru", "en")
WIDTHS = (320, 1280)
LOCALES = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}
SUBMIT = "main form[method=post] button[type=submit] >> nth=0"


def session_of(user) -> str:
    """A fresh signed-in session for `user`, as its cookie's value (the browser gets it without a sign-in page)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def new_page(browser, live_server, language: str, session: str | None = None):
    context = browser.new_context(locale=LOCALES[language])
    context.set_default_timeout(15_000)
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    if session is not None:
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url})
    context.add_cookies(cookies)
    return context.new_page()


def check_page(page, axe, name: str, language: str, width: int, shows: str) -> list[str]:
    """The problems of the page on screen; `shows` is a selector found only in the state meant."""
    where = f"{name} [{language}, {width} px]"
    page.locator(shows).first.wait_for(state="attached")  # raises when another page is on screen
    problems = []
    lang = page.locator("html").get_attribute("lang")
    if lang != language:
        problems.append(f"{where}: html lang is {lang!r}")
    h1s = page.locator("h1").count()
    if h1s != 1:
        problems.append(f"{where}: {h1s} h1 elements, not one")
    problems += [f"{where}: {problem}" for problem in axe_problems(page, axe)]
    if width == 320:
        problems += [f"{where}: {problem}" for problem in keyboard_problems(page)]
    return problems


def test_the_examiners_pages_pass_axe_in_each_language(browser, live_server):
    from axe_playwright_python.sync_playwright import Axe

    examiner = StaffFactory(username="e.aigerim", role=Role.EXAMINER)
    starts_at = timezone.now() + datetime.timedelta(minutes=30)
    theory_slot = ExamSlotFactory(starts_at=starts_at)
    practical_slot = ExamSlotFactory(centre=theory_slot.centre, kind="practical", starts_at=starts_at)
    theory = services.book_exam_slot(application=application_at_exams(), slot_id=theory_slot.pk)
    practical = services.book_exam_slot(application=application_at_exams(status="practical_exam"),
                                        slot_id=practical_slot.pk)
    day_url = (f"{live_server.url}/staff/exams/?centre={theory_slot.centre.code}"
               f"&day={timezone.localdate(starts_at).isoformat()}")
    session = session_of(examiner)
    axe, problems = Axe(), []
    for language in LANGUAGES:
        page = new_page(browser, live_server, language, session)
        try:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(day_url)
                problems += check_page(page, axe, "exam day, a theory and a practical booking", language, width,
                                       f"#identity-{theory.pk}")
                assert page.locator(f"#booking-{practical.pk} a[href$='/sheet/']").count() == 1
                page.goto(f"{live_server.url}/staff/exams/slots/new/")
                problems += check_page(page, axe, "new slot", language, width, "main form.slot-form")
                page.click(SUBMIT)  # nothing entered: the error summary
                problems += check_page(page, axe, "new slot, with errors", language, width, ".error-summary a")
                page.goto(f"{live_server.url}/staff/exams/bookings/{practical.pk}/sheet/")
                problems += check_page(page, axe, "practical exam sheet", language, width,
                                       "form.sheet-form fieldset input")
        finally:
            page.context.close()
    assert not problems, "\n".join(problems)


def test_the_theory_exam_terminal_passes_axe_in_each_language(browser, live_server):
    from axe_playwright_python.sync_playwright import Axe

    make_question_bank(45)
    examiner = StaffFactory(username="e.aigerim", role=Role.EXAMINER)
    slot = ExamSlotFactory(starts_at=timezone.now() + datetime.timedelta(minutes=20))
    day_url = (f"{live_server.url}/staff/exams/?centre={slot.centre.code}"
               f"&day={timezone.localdate(slot.starts_at).isoformat()}")
    bookings = {}
    for language in LANGUAGES:  # the terminal speaks the application's language; a finished exam never reopens
        application = application_at_exams()
        Application.objects.filter(pk=application.pk).update(language=language)
        bookings[language] = services.book_exam_slot(application=application, slot_id=slot.pk)
    axe, problems = Axe(), []
    for language in LANGUAGES:
        # Opening the exam signs the examiner out of this browser: a session of its own each time.
        page = new_page(browser, live_server, language, session_of(examiner))
        booking = bookings[language]
        try:
            page.goto(day_url)
            page.check(f"#identity-{booking.pk}")
            page.locator(f"#booking-{booking.pk} form button[type=submit]").click()
            page.wait_for_url(re.compile(r"/staff/exams/terminal/[0-9a-f-]+/$"))
            terminal = page.url
            page.locator(".answer").first.click()
            page.click("button[name=go][value=next]")
            page.wait_for_url(re.compile(r"\?q=2$"))  # a question after one answered: "Previous", a marked number
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{terminal}?q=2")
                problems += check_page(page, axe, "terminal: question 2", language, width,
                                       "[data-testid=question][data-number='2'] input[name=option]")
                page.goto(f"{terminal}finish/")
                problems += check_page(page, axe, "terminal: finish the exam?", language, width,
                                       "[data-testid=finish]")
            page.click("[data-testid=finish]")
            page.wait_for_url(re.compile(r"/result/$"))
            result = page.url
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(result)
                problems += check_page(page, axe, "terminal: result", language, width, "[data-testid=score]")
        finally:
            page.context.close()
    assert not problems, "\n".join(problems)


def test_practice_mode_passes_axe_in_each_language(browser, live_server):
    from axe_playwright_python.sync_playwright import Axe

    make_question_bank(5)
    axe, problems = Axe(), []
    for language in LANGUAGES:
        page = new_page(browser, live_server, language)  # an anonymous visitor
        try:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{live_server.url}/practice/")
                problems += check_page(page, axe, "practice: start", language, width, "input[name=language]")
                page.click("main form[method=get] button[type=submit]")
                page.wait_for_url(re.compile(r"/practice/question/\?"))
                problems += check_page(page, axe, "practice: a question", language, width, "input[name=option]")
                page.check("input[name=option] >> nth=0")
                page.click(SUBMIT)
                page.wait_for_url(re.compile(r"/practice/check/$"))
                problems += check_page(page, axe, "practice: the answer checked", language, width,
                                       ".actions a[href*='/practice/question/']")
        finally:
            page.context.close()
    assert not problems, "\n".join(problems)
