"""The police officer's print queue in a real browser: two approved applications ticked and printed in one batch by
keyboard, then seen among the cards printed today, and one of them printed again with a reason. Playwright driving
Debian's Chromium against the live server; the person registry is the sandbox's."""

import re

import pytest

from accounts.models import Role
from applications.models import Application, Licence, Status
from tests.e2e.test_accessibility import axe_problems, keyboard_problems
from tests.e2e.test_exam_booking import tab_to
from tests.e2e.test_review_journey import no_sideways_scroll, signed_in_page
from tests.factories import StaffFactory
from tests.reviews.test_print_pages import ago, approved

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def focused(page, selector: str) -> bool:
    return page.evaluate("(selector) => document.activeElement?.matches(selector) ?? false", selector)


def test_an_officer_prints_two_cards_in_one_batch_by_keyboard(browser, sandbox, live_server, settings):
    from axe_playwright_python.sync_playwright import Axe

    settings.REGISTRY_TIMEOUTS = {"default": {"connect": 2.0, "read": 10.0}}  # a cold live server answers slowly
    axe = Axe()
    first = approved(sandbox, approved_at=ago(hours=3))
    second = approved(sandbox, approved_at=ago(hours=2))
    later = approved(sandbox, approved_at=ago(hours=1))
    officer = StaffFactory(username="p.aliya", role=Role.POLICE_OFFICER)
    context, page = signed_in_page(browser, live_server, officer, width=320)
    try:
        page.goto(f"{live_server.url}/staff/review/print/")
        assert page.locator("h1").count() == 1
        rows = page.locator("[data-testid=print-row]")
        assert [row.get_attribute("data-application") for row in rows.all()] == [
            str(first.pk), str(second.pk), str(later.pk)]
        assert no_sideways_scroll(page)
        assert not keyboard_problems(page)
        assert not axe_problems(page, axe)

        # The keyboard alone: tick the two earliest, then the button that prints them.
        page.evaluate("() => { document.body.setAttribute('tabindex', '-1'); document.body.focus(); }")
        tab_to(page, f"#print-{first.pk}")
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        assert focused(page, f"#print-{second.pk}")
        page.keyboard.press("Space")
        tab_to(page, "[data-testid=print-selected]")
        with page.expect_navigation(url=re.compile(r"/staff/review/print/$")):
            page.keyboard.press("Enter")  # posted to the batch, which answers with the queue again

        report = page.locator("[data-testid=print-report]")
        assert focused(page, "[data-testid=print-report]")  # the report takes the focus, so it is read first
        for application in (first, second):
            application.refresh_from_db()
            assert application.status == Status.PRINTED
            licence = Licence.objects.get(application=application)
            assert f"licence {licence.number}" in report.inner_text()
        assert page.locator("[data-testid=failed-report]").count() == 0
        assert [row.get_attribute("data-application") for row in page.locator("[data-testid=print-row]").all()] \
            == [str(later.pk)]
        printed = page.locator("[data-testid=printed-row]")
        assert sorted(row.get_attribute("data-application") for row in printed.all()) == sorted(
            [str(first.pk), str(second.pk)])
        assert "p.aliya" in page.locator("[data-testid=printed-today]").inner_text()
        assert Application.objects.get(pk=later.pk).status == Status.APPROVED
        assert no_sideways_scroll(page)
        assert not keyboard_problems(page)
        assert not axe_problems(page, axe)

        # A spoiled card, printed again by keyboard: the reason, then Enter.
        licence = Licence.objects.get(application=first)
        tab_to(page, f"#reason-{first.pk}")
        page.keyboard.type("Карта принтерде кептеліп қалды")
        with page.expect_navigation(url=re.compile(r"/staff/review/print/$")):
            page.keyboard.press("Enter")
        assert licence.number in page.locator("[data-testid=notice]").inner_text()
        assert "Карта принтерде кептеліп қалды" in page.locator(
            f"[data-testid=printed-row][data-application='{first.pk}']").inner_text()
        assert licence.cards.count() == 2 and licence.cards.filter(superseded_at__isnull=True).count() == 1
        assert no_sideways_scroll(page)
    finally:
        context.close()
