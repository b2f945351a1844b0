"""The hand-over at the TSON desk in a real browser: the operator finds the printed application by its number, opens
the hand-over, ticks the identity box with the keyboard and hands the card over; then the hand-over page and each
page of the foreign-licence exchange intake under axe and the keyboard. Playwright driving Debian's Chromium against
the live server."""

import re

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from applications import services
from applications.models import Application, Channel, Licence, Service, Status, StatusChange
from tests.applications.test_desk_handover import printed_first_licence
from tests.e2e.test_accessibility import axe_problems, keyboard_problems
from tests.factories import CentreFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def operator_context(browser, live_server, *, language: str = "en", width: int = 1280):
    """A browser context signed in as a TSON operator: the session of Django's test client, copied in."""
    operator = StaffFactory(username="o.dana", role=Role.TSON_OPERATOR)
    client = Client()
    client.force_login(operator)
    context = browser.new_context(locale={"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}[language],
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    context.add_cookies([
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url}])
    return context, operator


def tab_to(page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the focus is on `selector`, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement?.matches(selector) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_an_operator_finds_a_printed_card_and_hands_it_over_by_keyboard(browser, sandbox, live_server):
    application = printed_first_licence(number="KZ0031337")
    context, operator = operator_context(browser, live_server)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/desk/")
        page.fill("#id_q", application.number)
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-testid=result]")
        page.click(f"[data-testid=result] a[href$='/applications/{application.pk}/']")
        page.wait_for_url(re.compile(rf"/staff/desk/applications/{application.pk}/$"))
        assert "Printed" in page.locator("[data-testid=status]").inner_text()
        page.click("[data-testid=handover] a[data-testid=hand-over]")
        page.wait_for_url(re.compile(r"/handover/$"))
        assert page.locator("h1").count() == 1
        assert page.locator("[data-testid=licence-number]").inner_text() == "KZ0031337"
        assert page.locator("[data-testid=surname]").inner_text() == "Сейтқали"

        # Without the box ticked: the error summary, and the box is still the way on.
        tab_to(page, "main form[method=post] button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-testid=error-summary]")
        assert "identity document" in page.locator("[data-testid=error-summary]").inner_text()
        assert Application.objects.get(pk=application.pk).status == Status.PRINTED

        # With the keyboard alone: to the box, Space ticks it, on to the button, Enter.
        page.evaluate("() => { document.body.setAttribute('tabindex', '-1'); document.body.focus(); }")
        tab_to(page, "#id_identity_checked")
        page.keyboard.press("Space")
        assert page.locator("#id_identity_checked").is_checked()
        tab_to(page, "main form[method=post] button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-testid=handed-over]")
        assert page.locator("[data-testid=status]").inner_text() == "Issued"
        assert "KZ0031337" in page.locator("[data-testid=handed-over]").inner_text()
        assert page.locator("h1").count() == 1
    finally:
        context.close()
    assert Application.objects.get(pk=application.pk).status == Status.ISSUED
    assert StatusChange.objects.get(application=application, to_status=Status.ISSUED).actor_user == operator
    assert Licence.objects.get(application=application).status == Licence.State.VALID


def exchange_at_each_step(sandbox, operator) -> dict[str, Application]:
    """Foreign-licence exchanges opened at the desk, one waiting for its code, one eligible, one with its number,
    one refused: each page of the intake has one to show."""
    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", offers_tson=True)
    applications = {}
    for step, overrides in (("consent", {}), ("form", {}), ("done", {}), ("refused", {"medical_073": None})):
        person = sandbox.add(**overrides)
        application = services.start_application(
            service=Service.FOREIGN_EXCHANGE, iin=person["iin"], categories=["B"], channel=Channel.TSON_BRANCH,
            actor=operator, foreign_licence={"country": "UZ", "number": "AF1234567", "categories": ["B"],
                                             "valid_until": "2030-12-31"})
        if step != "consent":
            services.confirm_consent(application=Application.objects.select_related("consent").get(pk=application.pk),
                                     code=sandbox.consent_code(person["phone"]), actor=operator)
        if step == "done":
            services.submit_application(application=Application.objects.get(pk=application.pk), phone=person["phone"],
                                        language="kk", pickup_tson="ast-tson-1", actor=operator)
        applications[step] = application
    return applications


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_hand_over_and_exchange_pages_pass_axe_and_the_keyboard(browser, sandbox, live_server, language):
    from axe_playwright_python.sync_playwright import Axe

    application = printed_first_licence()
    context, operator = operator_context(browser, live_server, language=language)
    exchanges = exchange_at_each_step(sandbox, operator)
    page = context.new_page()
    axe, problems = Axe(), []
    base = f"{live_server.url}/staff/desk"
    desk_page, handover = f"{base}/applications/{application.pk}/", f"{base}/applications/{application.pk}/handover/"
    consent, form = f"{base}/exchange/{exchanges['consent'].pk}/consent/", f"{base}/exchange/{exchanges['form'].pk}/"
    intake, done, refused = (f"{base}/exchange/new/", f"{base}/exchange/{exchanges['done'].pk}/",
                             f"{base}/exchange/{exchanges['refused'].pk}/")
    pages = [(desk_page, False), (handover, False), (handover, True), (intake, False), (intake, True),
             (consent, False), (consent, True), (form, False), (form, True), (done, False), (refused, False)]
    try:
        for width in (320, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for url, submit_first in pages:
                page.goto(url)
                if submit_first:  # nothing filled in: the error summary
                    page.click("main form[method=post] button[type=submit] >> nth=0")
                    page.wait_for_selector("[data-testid=error-summary]")
                where = f"{url} {'(errors) ' if submit_first else ''}[{language}, {width}]"
                assert page.locator("html").get_attribute("lang") == language, where
                assert page.locator("h1").count() == 1, where
                assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), where
                problems += [f"{where}: {problem}" for problem in axe_problems(page, axe)]
                if width == 320:
                    problems += [f"{where}: {problem}" for problem in keyboard_problems(page)]
    finally:
        context.close()
    assert not problems, "\n".join(problems)
