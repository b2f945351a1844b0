"""The performance dashboard in a real browser: a supervisor signs in at /staff/signin/, follows the link from the
staff home, narrows the days and a channel, reads a chart and numbers that match the generated data, switches
between kk, ru and en, and the page passes axe, the keyboard check and fits 320 px. Playwright driving Debian's
Chromium against the live server."""

import re

import pytest

from accounts.models import Role
from tests.e2e.test_accessibility import axe_problems, keyboard_problems
from tests.e2e.test_review_journey import no_sideways_scroll
from tests.factories import StaffFactory
from tests.performance.data import make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def check(page, axe, where: str) -> list[str]:
    problems = [f"{where}: {problem}" for problem in axe_problems(page, axe) + keyboard_problems(page)]
    if not no_sideways_scroll(page):
        problems.append(f"{where}: scrolls sideways")
    if page.locator("h1").count() != 1:
        problems.append(f"{where}: not one h1")
    return problems


def test_a_supervisor_reads_the_dashboard_filters_it_and_switches_language(browser, live_server):
    from axe_playwright_python.sync_playwright import Axe

    make_dataset()
    StaffFactory(username="s.dana", role=Role.SUPERVISOR, password="supervisor-pass-2026")
    axe, problems = Axe(), []
    context = browser.new_context(locale="en-GB", viewport={"width": 320, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/signin/")
        page.fill("#id_username", "s.dana")
        page.fill("#id_password", "supervisor-pass-2026")
        with page.expect_navigation(url=re.compile(r"/staff/$")):
            page.keyboard.press("Enter")
        with page.expect_navigation(url=re.compile(r"/staff/performance/$")):
            page.locator("[data-testid=performance-link]").click()

        # The days of the generated data, typed into the filter form.
        page.fill("#id_date_from", "2026-03-01")
        page.fill("#id_date_to", "2026-03-07")
        with page.expect_navigation(url=re.compile(r"date_from=2026-03-01")):
            page.locator("[data-testid=apply-filters]").click()
        assert "9 applications in all." in page.locator("[data-testid=period]").inner_text()
        # One column part per day that had applications (seven days, one service each).
        assert page.locator("[data-testid=applications-chart] rect").count() == 7
        assert page.locator("[data-testid=target-share]").inner_text().startswith("50.0% within the target")
        printed = page.locator("#funnel [data-bar=printed]")
        assert "3 reached, 3 there now" in printed.inner_text()
        assert page.locator("#funnel [data-bar=printed] rect").count() == 1  # all three still wait: one segment
        funnel = page.locator("[data-testid=table-funnel] tbody tr")
        assert [cell.strip() for cell in funnel.nth(1).locator("th, td").all_inner_texts()][1:] == ["8", "0"]
        problems += check(page, axe, "dashboard [en, 320 px]")

        # A channel: only the bank's four applications remain.
        page.select_option("#id_channel", "bank")
        with page.expect_navigation(url=re.compile(r"channel=bank")):
            page.locator("[data-testid=apply-filters]").click()
        assert "4 applications in all." in page.locator("[data-testid=period]").inner_text()
        assert page.locator("[data-testid=applications-chart] rect").count() == 4
        assert page.locator("#id_channel").input_value() == "bank"
        csv_link = page.locator("[data-testid=csv-funnel]").get_attribute("href")
        assert csv_link == ("/staff/performance/funnel.csv"
                            "?date_from=2026-03-01&date_to=2026-03-07&service=&channel=bank&tson=")

        for language in ("kk", "ru", "en"):
            with page.expect_navigation():
                page.locator(f".language-switch button[value={language}]").click()
            assert page.locator("html").get_attribute("lang") == language
            assert page.locator("#id_channel").input_value() == "bank"  # the filters survive the switch
            assert page.locator("[data-testid=applications-chart] rect").count() == 4
            problems += check(page, axe, f"dashboard, bank [{language}, 320 px]")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
