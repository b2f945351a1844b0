"""The citizen's journeys in a real browser: Playwright driving Debian's Chromium against the live server."""

import re

import pytest

from tests.factories import CentreFactory

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
        context = browser.new_context(locale="kk-KZ", viewport={"width": 390, "height": 844})
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()


def code_from(sms: str) -> str:
    return re.search(r"\b(\d{6})\b", sms).group(1)


def sign_in(page, sandbox, live_server, person):
    page.goto(f"{live_server.url}/signin/")
    page.fill("#id_iin", person["iin"])
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/signin/code/"))
    page.fill("#id_code", code_from(sandbox.sms_for(person["phone"])[0]["text"]))
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/my/applications/"))


def test_a_citizen_gets_an_application_number_in_kazakh(page, sandbox, live_server):
    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", offers_tson=True)
    person = sandbox.add()
    page.goto(live_server.url)
    assert page.locator("html").get_attribute("lang") == "kk"
    sign_in(page, sandbox, live_server, person)

    page.goto(f"{live_server.url}/apply/first_issue/")
    page.check("input[value=B]")
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/check/"))
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/consent/"))
    page.fill("#id_code", sandbox.consent_code(person["phone"]))
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/my/applications/[0-9a-f-]+/$"))

    page.click("a[href$='/form/']")  # appears once every check has passed
    page.fill("#id_phone", "+77010000001")
    page.check("input[name=language][value=kk]")
    page.select_option("#id_pickup_tson", "ast-tson-1")
    page.click("main button[type=submit] >> nth=0")
    number = page.locator("[data-testid=number]").inner_text()
    assert re.fullmatch(r"DL-\d{4}-\d{6}", number)
    assert page.locator("html").get_attribute("lang") == "kk"
    assert "Теориялық емтихан" in page.content() or "теория" in page.content().lower()


def test_a_refusal_reads_in_russian(page, sandbox, live_server):
    person = sandbox.add(medical_073=None)
    page.goto(live_server.url)
    page.click("button[name=language][value=ru]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ru"
    sign_in(page, sandbox, live_server, person)
    page.goto(f"{live_server.url}/apply/first_issue/")
    page.check("input[value=B]")
    page.click("main button[type=submit] >> nth=0")
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/consent/"))
    page.fill("#id_code", sandbox.consent_code(person["phone"]))
    page.click("main button[type=submit] >> nth=0")
    refusal = page.locator("[data-testid=refusal]").inner_text()
    assert "Шаг 7" in refusal and "073/у" in refusal
