"""The public verify page in a browser: paste a card's code, press Check, read the answer; and axe-core with the
keyboard in kk, ru and en at 320 and 1280 px."""

import os
import re

import pytest
from django.conf import settings

from applications.models import Licence, Status
from tests.applications.test_verify_page import _altered, an_application, licence_for
from tests.e2e.test_accessibility import axe_problems, keyboard_problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.urls("tests.applications.verify_test_urls")]

LANGUAGES = ("kk", "ru", "en")
WIDTHS = (320, 1280)
LOCALES = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}
SCREENSHOTS = os.environ.get("KUALIK_SCREENSHOTS", "")  # a folder: each screen checked is saved there, to look at


def check(page, code: str) -> None:
    page.fill("#id_code", code)
    page.click("main form[data-verify-form] button[type=submit]")
    page.wait_for_url(re.compile(r"/verify/\?code="))


def test_a_pasted_genuine_code_is_valid_and_a_forged_one_is_not(page, live_server):
    licence, card = licence_for(an_application(status=Status.ISSUED), number="KZ 100200")
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/verify/")

    check(page, card.verification_code)
    result = page.locator("[data-testid=verify-result]")
    assert result.get_attribute("data-valid") == "true"
    assert result.locator("h2").inner_text().strip().endswith("Valid")
    assert page.locator("[data-testid=verify-number]").inner_text() == licence.number
    assert page.locator("[data-testid=verify-holder]").inner_text() == "Сейтқали А.Б."
    assert page.locator("[data-testid=verify-expires]").inner_text() == licence.expires_on.strftime("%d.%m.%Y")
    # The answer takes the focus, so that a screen reader reads it first.
    assert page.evaluate("() => document.activeElement.dataset.testid") == "verify-result"

    check(page, _altered(card.verification_code))  # one character changed
    result = page.locator("[data-testid=verify-result]")
    assert result.get_attribute("data-valid") == "false"
    assert result.locator("h2").inner_text().strip().endswith("Not valid")
    assert "was not issued by the Republic of Kazakhstan's licence service" in page.locator(
        "[data-testid=verify-forged]").inner_text()
    assert page.locator("[data-testid=verify-number]").count() == 0


# A QR reader for a browser without one (or with one that cannot see the fake camera's picture): once the test puts
# a code in window.__cardCode (the card held up to the camera), it "reads" it from the third frame on.
# The rest is the page's own: the button, getUserMedia, the polling, filling in the code, submitting.
FAKE_DETECTOR = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
  constructor(options) { window.__detectorFormats = options.formats; this.frames = 0; }
  async detect(source) {
    if (!(source instanceof HTMLVideoElement) || !source.srcObject) throw new TypeError("no picture");
    this.frames += 1;
    return this.frames >= 3 && window.__cardCode ? [{rawValue: window.__cardCode, format: "qr_code"}] : [];
  }
};
"""


@pytest.fixture
def camera_browser(monkeypatch):
    """Chromium with a fake camera that the page may use without asking."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
        yield browser
        browser.close()


def test_without_a_qr_reader_in_the_browser_there_is_no_camera_button(page, live_server):
    page.add_init_script("delete window.BarcodeDetector;")
    page.goto(f"{live_server.url}/verify/")

    assert page.locator("[data-scan-start]").is_hidden()
    assert page.locator("[data-scan]").is_hidden()
    assert page.locator("main form[data-verify-form] button[type=submit]").is_visible()


def test_scanning_with_the_camera_fills_in_the_code_and_checks_it(camera_browser, live_server):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    licence, card = licence_for(an_application(status=Status.ISSUED), number="KZ 100600")
    context = camera_browser.new_context(locale="en-GB", viewport={"width": 320, "height": 900})
    context.set_default_timeout(15_000)
    context.grant_permissions(["camera"], origin=live_server.url)
    context.add_init_script(FAKE_DETECTOR)
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/verify/")
        start = page.locator("[data-scan-start]")
        assert start.is_visible() and start.inner_text() == "Scan with the camera"
        assert page.evaluate("window.__detectorFormats") == ["qr_code"]
        problems = axe_problems(page, axe) + keyboard_problems(page)

        start.click()
        page.wait_for_function("() => document.querySelector('[data-scan-video]').readyState >= 2")
        assert page.locator("[data-scan-state]").inner_text().startswith("Point the camera at the QR code")
        assert page.evaluate("document.activeElement.matches('[data-scan-stop]')")
        # The camera's live picture has no sound: there is nothing for captions to say.
        problems += [problem for problem in axe_problems(page, axe) if "video-caption" not in problem]
        assert not problems, "\n".join(problems)

        page.evaluate("code => { window.__cardCode = code; }", card.verification_code)  # the card held up
        page.wait_for_url(re.compile(r"/verify/\?code="))

        assert page.locator("[data-testid=verify-result]").get_attribute("data-valid") == "true"
        assert page.locator("[data-testid=verify-number]").inner_text() == licence.number
        assert page.locator("#id_code").input_value() == card.verification_code
    finally:
        context.close()


def test_a_refused_camera_says_so_and_leaves_the_paste_form(browser, live_server):
    context = browser.new_context(locale="en-GB", viewport={"width": 320, "height": 900})
    context.set_default_timeout(15_000)
    context.add_init_script(FAKE_DETECTOR + """
navigator.mediaDevices.getUserMedia = async () => { throw new DOMException("denied", "NotAllowedError"); };
""")
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/verify/")
        page.click("[data-scan-start]")

        assert "The camera is not allowed" in page.locator("[data-scan-state]").inner_text()
        assert page.locator("[data-scan]").is_hidden() and page.locator("[data-scan-start]").is_visible()
        assert page.url.endswith("/verify/")
    finally:
        context.close()


def test_a_revoked_licence_is_not_valid_in_the_browser(page, live_server):
    _licence, card = licence_for(an_application(status=Status.ISSUED), number="KZ 100300",
                                 status=Licence.State.REVOKED)
    page.goto(f"{live_server.url}/verify/")

    check(page, card.verification_code)

    result = page.locator("[data-testid=verify-result]")
    assert result.get_attribute("data-valid") == "false" and result.get_attribute("data-status") == "revoked"


def test_the_verify_page_passes_axe_and_the_keyboard_in_each_language_at_320_and_1280(browser, live_server):
    from axe_playwright_python.sync_playwright import Axe

    _valid, valid_card = licence_for(an_application(status=Status.ISSUED), number="KZ 100400")
    _revoked, revoked_card = licence_for(an_application(status=Status.ISSUED), number="KZ 100500",
                                         status=Licence.State.REVOKED)
    axe, problems = Axe(), []
    screens = [
        ("empty", "", None),
        ("valid", valid_card.verification_code, "[data-testid=verify-result][data-valid=true]"),
        ("revoked", revoked_card.verification_code, "[data-testid=verify-result][data-status=revoked]"),
        ("forged", _altered(valid_card.verification_code), "[data-testid=verify-forged]"),
        ("no code", " ", ".error-summary"),
    ]
    for language in LANGUAGES:
        for width in WIDTHS:
            context = browser.new_context(locale=LOCALES[language], viewport={"width": width, "height": 900})
            context.set_default_timeout(15_000)
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
            page = context.new_page()
            try:
                for name, code, shows in screens:
                    where = f"verify page, {name} [{language}, {width} px]"
                    page.goto(f"{live_server.url}/verify/")
                    if code:
                        check(page, code)
                    if shows:
                        assert page.locator(shows).count() == 1, where
                    if (lang := page.locator("html").get_attribute("lang")) != language:
                        problems.append(f"{where}: html[lang] is {lang!r}")
                    if (headings := page.locator("h1").count()) != 1:
                        problems.append(f"{where}: {headings} h1 elements")
                    problems.extend(f"{where}: {problem}" for problem in axe_problems(page, axe))
                    if width == 320:
                        if page.evaluate("() => document.scrollingElement.scrollWidth "
                                         "> document.scrollingElement.clientWidth"):
                            problems.append(f"{where}: scrolls sideways")
                        problems.extend(f"{where}: {problem}" for problem in keyboard_problems(page))
                    if SCREENSHOTS:
                        page.screenshot(path=f"{SCREENSHOTS}/verify-{name}-{language}-{width}.png", full_page=True)
            finally:
                context.close()

    assert not problems, "\n".join(problems)
