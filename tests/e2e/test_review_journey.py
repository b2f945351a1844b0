"""The police officer's review in a real browser: the queue, the oldest application opened with the keyboard and
refused with a reason and a comment, then the next one approved. Playwright driving Debian's Chromium against the
live server; the citizen's SMS go to the sandbox."""

import re
import time

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from applications.models import Application, Status
from reviews.models import ReviewClaim
from reviews.services import open_for_review
from tests.e2e.test_accessibility import axe_problems, keyboard_problems
from tests.e2e.test_exam_booking import tab_to
from tests.factories import StaffFactory
from tests.reviews.test_pages import ago, under_review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

COMMENT = "Фотосурет бұлыңғыр: ХҚКО-ға қайта келіп, суретке түсіңіз."


def signed_in_page(browser, live_server, user, *, language="en", width=320):
    """A browser tab with the officer's session (made by the test client), as the staff sign-in would leave it."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
    context.add_cookies([
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url}])
    context.set_default_timeout(15_000)
    return context, context.new_page()


def no_sideways_scroll(page) -> bool:
    return not page.evaluate("() => document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth")


def sms_containing(sandbox, phone: str, text: str, *, wait: float = 10) -> str:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for message in sandbox.sms_for(phone):
            if text in message["text"]:
                return message["text"]
        time.sleep(0.2)
    raise AssertionError(f"no SMS with {text!r} reached {phone}")


def test_an_officer_refuses_the_oldest_by_keyboard_and_approves_the_next(browser, sandbox, live_server):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    person = sandbox.add()  # the SMS sandbox delivers to the phones it knows
    oldest = under_review(waiting_since=ago(days=2), iin=person["iin"], phone=person["phone"])
    newer = under_review(waiting_since=ago(hours=3))
    officer = StaffFactory(username="p.aliya", role=Role.POLICE_OFFICER)
    context, page = signed_in_page(browser, live_server, officer)
    try:
        page.goto(f"{live_server.url}/staff/review/")
        assert page.locator("h1").count() == 1
        assert page.locator("[data-testid=queue-row]").count() == 2
        assert page.locator("[data-testid=queue-row]").first.get_attribute("data-application") == str(oldest.pk)
        assert no_sideways_scroll(page)
        assert not keyboard_problems(page)
        assert not axe_problems(page, axe)

        # The keyboard alone: from the top, the skip link, into the page, and the oldest application is next.
        page.evaluate("() => { document.body.setAttribute('tabindex', '-1'); document.body.focus(); }")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.matches('.skip-link')")
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.matches('[data-testid=open-oldest]')")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/staff/review/applications/{oldest.pk}/$"))
        assert page.locator("h1").count() == 1 and oldest.number in page.locator("h1").inner_text()
        assert "You hold this application until" in page.locator("[data-testid=claim]").inner_text()
        assert ReviewClaim.objects.get(application=oldest).officer == officer
        photo = page.locator("[data-testid=photo] img")
        photo.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete", arg=photo.element_handle())
        assert photo.evaluate("(img) => img.naturalWidth") == 450  # the desk's photo, through the desk's view
        assert no_sideways_scroll(page)
        assert not keyboard_problems(page)
        assert not axe_problems(page, axe)

        tab_to(page, "#id_reason_code", limit=80)
        page.keyboard.press("ArrowDown")  # the first reason of the catalogue
        assert page.locator("#id_reason_code").input_value() == "photo_unsuitable"
        tab_to(page, "#id_comment")
        page.keyboard.type(COMMENT)
        tab_to(page, "[data-testid=refuse]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/staff/review/$"))
        notice = page.locator("[data-testid=notice]").inner_text()
        assert oldest.number in notice and "The photo does not meet the requirements" in notice
        assert [row.get_attribute("data-application") for row in page.locator("[data-testid=queue-row]").all()] \
            == [str(newer.pk)]

        refused = Application.objects.get(pk=oldest.pk)
        assert refused.status == Status.REFUSED and refused.officer_reason_code == "photo_unsuitable"
        assert refused.refusal_comment == COMMENT
        sms_containing(sandbox, refused.phone, COMMENT)  # the citizen is told why

        page.locator("[data-testid=open-oldest]").click()
        page.wait_for_url(re.compile(rf"/staff/review/applications/{newer.pk}/$"))
        page.locator("[data-testid=approve]").click()
        page.wait_for_url(re.compile(r"/staff/review/$"))
        assert newer.number in page.locator("[data-testid=notice]").inner_text()
        assert page.locator("[data-testid=empty-queue]").is_visible()
        assert Application.objects.get(pk=newer.pk).status == Status.APPROVED

        # A decided application's page shows the decision, and no form.
        page.goto(f"{live_server.url}/staff/review/applications/{oldest.pk}/")
        decision = page.locator("[data-testid=decision]").inner_text()
        assert "The photo does not meet the requirements" in decision and COMMENT in decision
        assert page.locator("[data-testid=refuse-form]").count() == 0
    finally:
        context.close()


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_queue_and_a_held_application_fit_narrow_screens_in_each_language(browser, sandbox, live_server, language):
    from axe_playwright_python.sync_playwright import Axe

    application = under_review(waiting_since=ago(days=1))
    holder = StaffFactory(username="p.holder", role=Role.POLICE_OFFICER)
    open_for_review(application=application, officer=holder)
    context, page = signed_in_page(browser, live_server, StaffFactory(username="p.reader", role=Role.POLICE_OFFICER),
                                   language=language)
    try:
        for url in ("/staff/review/", f"/staff/review/applications/{application.pk}/"):
            page.goto(f"{live_server.url}{url}")
            assert page.locator("html").get_attribute("lang") == language
            assert no_sideways_scroll(page), url
            assert not axe_problems(page, Axe()), url
            page.set_viewport_size({"width": 800, "height": 900})  # just wide enough for the tables not to stack
            assert no_sideways_scroll(page), url
            page.set_viewport_size({"width": 320, "height": 900})
        assert "p.holder" in page.locator("[data-testid=claim]").inner_text()
        assert page.locator("[data-testid=approve]").is_disabled()
    finally:
        context.close()
