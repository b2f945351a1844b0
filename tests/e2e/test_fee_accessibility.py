"""Accessibility of the citizen's formalisation pages (the state fee, the provider's pay page, the receipt link, the
photo instructions, the review that follows): axe-core and the keyboard, in kk, ru and en, at 320 and 1280 px.

Paying cannot be undone and a person has one active application, so each language and width has a citizen of its
own whose application passed both exams; one more citizen's application, paid at the desk and photographed, is
under review. The provider is the sandbox's, on the live server: "Pay the state fee" leads to /sandbox/pay/<id>.
"""

import io
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from accounts.models import Role, User
from applications.models import Application, Centre, Check, Status
from applications.services import capture_photo, pay_at_desk
from applications.services.checks import create_checks
from applications.workflow import move_application
from tests.applications.test_fee_pages import PICKUP
from tests.e2e.test_accessibility import axe_problems, keyboard_problems
from tests.factories import StaffFactory, application_at_exams

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LANGUAGES = ("kk", "ru", "en")
WIDTHS = (320, 1280)
LOCALES = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (450, 600), color=(200, 180, 160)).save(buffer, "JPEG")
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


def citizen_at_formalization(sandbox) -> tuple[Application, str]:
    """A citizen's own portal application that passed its checks and both exams (fee and photo outstanding), and
    their session."""
    person = sandbox.add()
    user = User.objects.create(username=f"iin-{person['iin']}", iin=person["iin"], role=Role.CITIZEN)
    application = application_at_exams(status="practical_exam", citizen=user, organisation=None, channel="portal",
                                       iin=person["iin"])
    Centre.objects.filter(pk=application.pickup_tson_id).update(**PICKUP)
    # The factory skips the registries; a real application got this far with every check passed.
    create_checks(application)
    Check.objects.filter(application=application).update(outcome=Check.Outcome.PASSED, checked_at=timezone.now())
    move_application(application_id=application.pk, transition="pass_practical_exam")
    application = Application.objects.get(pk=application.pk)
    assert application.status == Status.FORMALIZATION and application.citizen_id == user.pk
    client = Client()
    client.force_login(user)
    return application, client.cookies[settings.SESSION_COOKIE_NAME].value


def under_review(sandbox) -> tuple[Application, str]:
    """Paid at the desk and photographed there: the application waits for the police."""
    application, session = citizen_at_formalization(sandbox)
    operator = StaffFactory(username="desk-operator", role=Role.TSON_OPERATOR)
    pay_at_desk(application=application, receipt="TSON-000123", actor=operator)
    capture_photo(application=Application.objects.get(pk=application.pk), upload=jpeg(), actor=operator)
    application = Application.objects.get(pk=application.pk)
    assert application.status == Status.UNDER_REVIEW
    return application, session


def test_the_fee_photo_and_pay_pages_pass_axe_and_the_keyboard_in_each_language(browser, sandbox, live_server):
    from axe_playwright_python.sync_playwright import Axe

    formalizing = {(language, width): citizen_at_formalization(sandbox)
                   for language in LANGUAGES for width in WIDTHS}
    reviewed, reviewed_session = under_review(sandbox)
    axe, problems = Axe(), []

    def check(page, name: str, language: str, width: int) -> None:
        where = f"{name} ({page.url}) [{language}, {width}]"
        lang = page.locator("html").get_attribute("lang")
        if lang != language:
            problems.append(f"{where}: html[lang] is {lang!r}")
        if (headings := page.locator("h1").count()) != 1:
            problems.append(f"{where}: {headings} h1 elements")
        problems.extend(f"{where}: {problem}" for problem in axe_problems(page, axe))
        if width == 320:
            problems.extend(f"{where}: {problem}" for problem in keyboard_problems(page))

    def open_page(language: str, width: int, session: str):
        context = browser.new_context(locale=LOCALES[language], viewport={"width": width, "height": 900})
        context.set_default_timeout(15_000)
        context.add_cookies([
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
            {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        return context, context.new_page()

    for language in LANGUAGES:
        for width in WIDTHS:
            application, session = formalizing[language, width]
            base = f"{live_server.url}/my/applications/{application.pk}"
            context, page = open_page(language, width, session)
            try:
                page.goto(f"{base}/")
                assert page.locator("main form[action$='/fee/pay/'] button").count() == 1
                assert page.locator(f"main a[href$='/{application.pk}/photo/']").count() == 1
                check(page, "application, fee not paid", language, width)

                page.goto(f"{base}/fee/")
                assert page.locator("[data-testid=fee-amount]").count() == 1
                check(page, "fee", language, width)

                page.goto(f"{base}/photo/")
                assert page.locator("[data-testid=pickup]").count() == 1
                check(page, "photo instructions", language, width)

                page.goto(f"{base}/fee/")
                page.click("main form[action$='/fee/pay/'] button[type=submit]")
                page.wait_for_url(re.compile(r"/sandbox/pay/[^/]+/?$"))
                assert page.locator("main button[value=success]").count() == 1
                check(page, "sandbox pay page", language, width)

                page.click("main button[value=success]")
                page.wait_for_url(f"{base}/")
                assert page.locator("[data-testid=receipt]").count() == 1
                assert page.locator("main form[action$='/fee/pay/']").count() == 0
                check(page, "application, paid online", language, width)
            finally:
                context.close()

            context, page = open_page(language, width, reviewed_session)
            try:
                page.goto(f"{live_server.url}/my/applications/{reviewed.pk}/")
                assert page.locator(".status-under_review").count() == 1
                assert page.locator("[data-testid=receipt]").count() == 1
                check(page, "application, under review", language, width)
            finally:
                context.close()

    assert not problems, "\n".join(problems)
