"""The citizen's journeys in a real browser: Playwright driving Debian's Chromium against the live server."""

import re

import pytest

from tests.factories import CentreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


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


# --- at 320 px, and with the keyboard alone -------------------------------------------------------------------

FOCUS_SHOWN = """(selector) => {
  const el = document.activeElement;
  if (!el || !el.matches(selector)) return null;
  const style = getComputedStyle(el);
  return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
}"""


def tab_to(page, selector: str, *, limit: int = 40) -> None:
    """Press Tab until the focus is on `selector`, as a keyboard user would; its focus must be visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        shown = page.evaluate(FOCUS_SHOWN, selector)
        if shown is not None:
            assert shown, f"the focus on {selector} is not visible"
            return
    raise AssertionError(f"Tab never reached {selector}")


def scrolls_sideways(page) -> bool:
    return page.evaluate("() => document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth")


def apply_for_b(page, sandbox, live_server, person):
    page.goto(f"{live_server.url}/apply/first_issue/")
    page.check("input[value=B]")
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/check/"))
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/consent/"))
    page.fill("#id_code", sandbox.consent_code(person["phone"]))
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/my/applications/[0-9a-f-]+/$"))


def test_a_refusal_at_320_px_shows_every_failed_check_without_sideways_scroll(page, sandbox, live_server):
    person = sandbox.add(exam_ban={"article": "608-6", "until": "2099-12-31"},
                         licence={"number": "AB1", "categories": ["B"], "issued_on": "2020-01-01",
                                  "expires_on": "2099-01-01", "status": "valid"})
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(live_server.url)
    page.click("button[name=language][value=en]")
    sign_in(page, sandbox, live_server, person)
    apply_for_b(page, sandbox, live_server, person)
    refusal = page.locator("[data-testid=refusal]")
    assert refusal.locator("section").count() == 2  # the licence held and the exam ban, both of phase 1
    text = refusal.inner_text()
    assert "Step 5" in text and "Step 6" in text and "The ban ends on 31.12.2099." in text
    assert refusal.locator("a[href='/apply/replacement/']").is_visible()
    assert page.locator("[data-testid=checks] td", has_text="Not asked").count() == 4
    assert not scrolls_sideways(page)


def test_the_access_log_fits_320_px_and_names_the_application_of_each_entry(page, sandbox, live_server):
    person = sandbox.add()
    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, sandbox, live_server, person)
    apply_for_b(page, sandbox, live_server, person)
    application_path = re.search(r"/my/applications/[0-9a-f-]+/$", page.url).group(0)
    page.goto(f"{live_server.url}/my/access-log/")
    entries = page.locator("[data-testid=access-log] li")
    assert entries.count() >= 8
    for index in range(entries.count()):
        assert entries.nth(index).locator(f"a[href='{application_path}']").count() == 1
    assert not scrolls_sideways(page)


def test_a_citizen_gets_a_number_with_the_keyboard_alone(page, sandbox, live_server):
    CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", offers_tson=True)
    person = sandbox.add()
    page.goto(f"{live_server.url}/signin/")
    tab_to(page, "#id_iin")
    page.keyboard.type(person["iin"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/signin/code/"))
    tab_to(page, "#id_code")
    page.keyboard.type(code_from(sandbox.sms_for(person["phone"])[0]["text"]))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/my/applications/$"))

    tab_to(page, "main a[href='/apply/first_issue/']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/apply/first_issue/$"))
    tab_to(page, "input[value=B]")
    page.keyboard.press("Space")
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/check/$"))
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/consent/$"))
    tab_to(page, "#id_code")
    page.keyboard.type(sandbox.consent_code(person["phone"]))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/my/applications/[0-9a-f-]+/$"))

    tab_to(page, "a[href$='/form/']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/form/$"))
    tab_to(page, "#id_phone")
    page.keyboard.type("+77010000001")
    tab_to(page, "input[name=language]")
    page.keyboard.press("Space")
    tab_to(page, "#id_pickup_tson")
    page.keyboard.press("ArrowDown")
    assert page.locator("#id_pickup_tson").input_value() == "ast-tson-1"
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    number = page.locator("[data-testid=number]").inner_text()
    assert re.fullmatch(r"DL-\d{4}-\d{6}", number)


def test_the_consent_page_shows_the_code_field_once_the_code_is_out_without_a_timed_refresh(page, sandbox,
                                                                                            live_server, monkeypatch):
    from applications import services
    from applications.models import Application

    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)  # queued only
    person = sandbox.add()
    sign_in(page, sandbox, live_server, person)
    page.goto(f"{live_server.url}/apply/first_issue/")
    page.check("input[value=B]")
    page.click("main button[type=submit] >> nth=0")
    page.click("main button[type=submit] >> nth=0")
    page.wait_for_url(re.compile(r"/consent/$"))
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert page.locator("#id_code").count() == 0
    page.evaluate("() => { window.stayedOnThePage = true; }")
    services.request_consent(application_id=Application.objects.get(iin=person["iin"]).pk)  # the worker's turn
    page.wait_for_selector("#id_code")
    assert page.evaluate("() => window.stayedOnThePage === true")  # swapped in place, not reloaded
    assert page.evaluate("() => document.activeElement.id") == "id_code"
