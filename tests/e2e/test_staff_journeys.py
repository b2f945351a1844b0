"""A staff member's sign-in in a real browser, with the second factor on: set up the app, sign in, see the token."""

import base64
import re

import pytest
from django.utils import translation
from django_otp.oath import totp
from rest_framework.authtoken.models import Token

from accounts.models import Role
from accounts.services import create_staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM calls from the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        context = browser.new_context(locale="ru-RU", viewport={"width": 320, "height": 640})
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()


def app_code(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key the page gave (RFC 6238, 30-second steps)."""
    return f"{totp(base64.b32decode(secret), drift=steps_ahead):06d}"


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_police_officer_sets_up_the_app_signs_in_with_a_code_and_sees_their_token(page, live_server, settings):
    settings.STAFF_REQUIRE_OTP = True
    user, token, _password = create_staff_user(role=Role.POLICE_OFFICER, username="a.nurlan",
                                               password="officer-password-2026")

    page.goto(f"{live_server.url}/staff/")
    page.wait_for_url(re.compile(r"/staff/signin/"))
    assert page.locator("html").get_attribute("lang") == "ru"
    page.fill("#id_username", "a.nurlan")
    page.fill("#id_password", "officer-password-2026")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/staff/signin/authenticator-app/"))
    assert page.locator("[data-testid=qr-code] svg").is_visible()
    assert fits_the_screen(page)
    secret = page.locator("[data-testid=secret]").inner_text().replace(" ", "")
    page.fill("#id_otp_token", app_code(secret))
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/staff/$"))
    assert page.locator("[data-testid=username]").inner_text() == "a.nurlan"
    assert not page.locator("[data-testid=api-token]").is_visible()
    page.locator("summary").focus()
    page.keyboard.press("Enter")  # the token is revealed from the keyboard
    assert page.locator("[data-testid=api-token]").inner_text() == token == Token.objects.get(user=user).key
    assert fits_the_screen(page)

    page.click("header form[action$='/signout/'] button")
    page.wait_for_url(re.compile(r"/staff/signin/"))
    page.goto(f"{live_server.url}/staff/")
    page.wait_for_url(re.compile(r"/staff/signin/"))
    page.fill("#id_username", "a.nurlan")
    page.fill("#id_password", "officer-password-2026")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/signin/code/"))
    right = {app_code(secret, steps_ahead=steps) for steps in (-1, 0, 1)}
    page.fill("#id_otp_token", next(code for code in ("000000", "111111", "222222", "333333") if code not in right))
    page.keyboard.press("Enter")
    page.locator(".error-summary").wait_for()
    page.wait_for_timeout(1100)  # django-otp makes the try after a wrong code wait a second (OTP_TOTP_THROTTLE_FACTOR)
    page.fill("#id_otp_token", app_code(secret, steps_ahead=1))  # a code used once is not taken again
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/$"))
    with translation.override("ru"):
        assert page.locator("[data-testid=role]").inner_text() == str(Role.POLICE_OFFICER.label)
