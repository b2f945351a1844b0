"""Booking the theory exam on the portal in a real browser: the slot picker by keyboard, the booking on the
application page, then cancelling it. Playwright driving Debian's Chromium against the live server."""

import datetime
import re
import time

import pytest
from django.utils import timezone

from accounts.models import User
from applications import services
from applications.models import Application, Channel, Service, Status
from exams.models import Booking, ExamSlot
from tests.e2e.test_accessibility import axe_problems, keyboard_problems
from tests.factories import CentreFactory, ExamSlotFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def sign_in(page, sandbox, live_server, person):
    page.goto(f"{live_server.url}/signin/")
    page.fill("#id_iin", person["iin"])
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/signin/code/"))
    code = re.search(r"\b(\d{6})\b", sandbox.sms_for(person["phone"])[0]["text"]).group(1)
    page.fill("#id_code", code)
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/my/applications/"))


def application_waiting_for_theory(sandbox, person, user) -> Application:
    """Opened, consented and submitted on the portal by the citizen, as the portal's own pages do it."""
    application = services.start_application(service=Service.FIRST_ISSUE, iin=person["iin"], categories=["B"],
                                             channel=Channel.PORTAL, actor=user)
    application = Application.objects.select_related("consent").get(pk=application.pk)
    services.confirm_consent(application=application, code=sandbox.consent_code(person["phone"]), actor=user)
    application = Application.objects.get(pk=application.pk)
    assert application.status == Status.ELIGIBLE
    services.submit_application(application=application, phone="+77010000001", language="kk",
                                pickup_tson="ast-tson-1", actor=user)
    return Application.objects.get(pk=application.pk)


def tab_to(page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the focus is on `selector`, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement?.matches(selector) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def sms_saying(sandbox, phone: str, pattern: str, *, wait: float = 10) -> str:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for message in sandbox.sms_for(phone):
            if re.search(pattern, message["text"]):
                return message["text"]
        time.sleep(0.2)
    raise AssertionError(f"no SMS matching {pattern!r} reached {phone}")


def test_a_citizen_books_the_theory_exam_by_keyboard_and_then_cancels_it(page, sandbox, live_server):
    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", offers_tson=True)
    centre = CentreFactory(code="ast-spec", name="Астана қаласы бойынша мамандандырылған ХҚКО", city="Астана",
                           address="Бөгенбай батыр даңғылы, 2", offers_exams=True)
    day = timezone.localdate() + datetime.timedelta(days=3)
    morning, afternoon = (ExamSlotFactory(centre=centre, capacity=20, starts_at=timezone.make_aware(
        datetime.datetime.combine(day, datetime.time(hour)))) for hour in (9, 14))
    person = sandbox.add()
    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, sandbox, live_server, person)
    application = application_waiting_for_theory(sandbox, person, User.objects.get(iin=person["iin"]))
    application_url = f"{live_server.url}/my/applications/{application.pk}/"

    page.goto(application_url)
    book_link = page.locator("[data-testid=exams] a[href$='/exams/theory/']")
    assert book_link.count() == 1
    book_link.click()
    page.wait_for_url(re.compile(r"/exams/theory/"))
    assert page.locator("h1").count() == 1
    assert page.locator("[data-testid=centre] h3").inner_text() == centre.name
    assert page.locator("input[type=radio][name=slot]").count() == 2
    assert not page.evaluate("() => document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth")
    assert not keyboard_problems(page)

    # With the keyboard alone: into the times, the arrow to the afternoon, on to the button, Enter.
    page.evaluate("() => { document.body.setAttribute('tabindex', '-1'); document.body.focus(); }")
    tab_to(page, "input[type=radio][name=slot]")
    page.keyboard.press("ArrowDown")
    assert page.locator(f"input[name=slot][value='{afternoon.pk}']").is_checked()
    tab_to(page, "main form[method=post] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/exams/bookings/\d+/$"))
    assert page.locator("[data-testid=sms-sent]").is_visible()
    assert page.locator("h1").count() == 1
    sms_saying(sandbox, person["phone"], "14:00")
    booking = Booking.objects.get(application=application, status=Booking.State.BOOKED)
    assert booking.slot_id == afternoon.pk and ExamSlot.objects.get(pk=morning.pk).booked == 0

    page.goto(application_url)
    exams = page.locator("[data-testid=exams]")
    assert centre.name in exams.inner_text() and "14:00" in exams.inner_text()
    assert exams.locator("a[href$='/exams/theory/']").count() == 1  # reschedule
    exams.locator(f"a[href$='/exams/bookings/{booking.pk}/cancel/']").click()
    page.wait_for_url(re.compile(r"/cancel/$"))
    assert page.locator("h1").count() == 1
    tab_to(page, "main form[method=post] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/my/applications/[0-9a-f-]+/#exams$"))
    assert page.locator("[data-testid=exams] [data-testid=booking]").count() == 0
    assert page.locator("[data-testid=exams] a[href$='/exams/theory/']").count() == 1
    assert Booking.objects.get(pk=booking.pk).status == Booking.State.CANCELLED
    assert ExamSlot.objects.get(pk=afternoon.pk).booked == 0


def test_the_picker_and_the_booking_pages_pass_axe_in_each_language(browser, sandbox, live_server):
    from axe_playwright_python.sync_playwright import Axe
    from django.conf import settings
    from django.test import Client

    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", offers_tson=True)
    centre = CentreFactory(code="ast-spec", name="Астана қаласы бойынша мамандандырылған ХҚКО",
                           name_ru="Специализированный ЦОН по городу Астане",
                           name_en="Specialised Public Service Centre of Astana", city="Астана", city_en="Astana",
                           offers_exams=True)
    for days, hour in ((2, 9), (2, 11), (3, 14)):
        ExamSlotFactory(centre=centre, starts_at=timezone.make_aware(datetime.datetime.combine(
            timezone.localdate() + datetime.timedelta(days=days), datetime.time(hour))))
    person = sandbox.add()
    user = User.objects.create(username=f"iin-{person['iin']}", iin=person["iin"], role="citizen")
    application = application_waiting_for_theory(sandbox, person, user)
    client = Client()
    client.force_login(user)
    base = f"{live_server.url}/my/applications/{application.pk}"
    axe, problems = Axe(), []
    for language in ("kk", "ru", "en"):
        context = browser.new_context(locale={"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}[language])
        context.add_cookies([
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
            {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
             "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            for width in (320, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{base}/exams/theory/")
                page.click("main form[method=post] button[type=submit]")  # nothing chosen: the error summary
                assert page.locator(".error-summary a[href='#id_slot']").count() == 1
                problems += [f"picker with an error [{language}, {width}]: {p}" for p in axe_problems(page, axe)]
                page.check("input[name=slot] >> nth=0")
                page.click("main form[method=post] button[type=submit]")
                page.wait_for_url(re.compile(r"/exams/bookings/\d+/$"))
                problems += [f"booked [{language}, {width}]: {p}" for p in axe_problems(page, axe)]
                for url in (f"{base}/", f"{base}/exams/theory/", page.url + "cancel/"):
                    page.goto(url)
                    assert page.locator("html").get_attribute("lang") == language
                    assert page.locator("h1").count() == 1
                    problems += [f"{url} [{language}, {width}]: {p}" for p in axe_problems(page, axe)]
                    if width == 320:
                        problems += [f"{url} [{language}, 320]: {p}" for p in keyboard_problems(page)]
                page.click("main form[method=post] button[type=submit]")  # cancel, for the next round
                page.wait_for_url(re.compile(r"#exams$"))
        finally:
            context.close()
    assert not problems, "\n".join(problems)
