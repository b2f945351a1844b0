"""The TSON operator's desk in a real browser: the photo taken with a (fake) camera, confirmed and stored; the
fallback upload when there is no camera; the fee at the desk; and the desk pages under axe and the keyboard."""

import io
import re

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from accounts.models import Role
from applications.models import Application, Payment, Photo, PhotoSource, Status
from applications.workflow import move_application
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.test_accessibility import axe_problems, keyboard_problems
from tests.factories import StaffFactory, application_at_exams

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Chromium plays a generated test pattern as the camera, and answers the permission prompt by itself.
FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# axe asks a person to look at these; each stays with the reason it is no problem here.
REVIEWED_INCOMPLETE = {
    "video-caption": "the <video> is the live, muted camera preview: there is no speech to caption",
}


@pytest.fixture
def camera_browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM calls from the tests are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=[*CHROMIUM_ARGS, *FAKE_CAMERA_ARGS])
        yield browser
        browser.close()


def in_formalization() -> Application:
    application = application_at_exams(status="practical_exam")
    return move_application(application_id=application.pk, transition="pass_practical_exam")


def operator_context(browser, live_server, *, language="en", camera=True, width=1280):
    """A browser context signed in as a TSON operator (the session of Django's test client), camera allowed."""
    operator = StaffFactory(username="o.dana", role=Role.TSON_OPERATOR)
    client = Client()
    client.force_login(operator)
    context = browser.new_context(locale={"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}[language],
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    if camera:
        context.grant_permissions(["camera"], origin=live_server.url)
    context.add_cookies([
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url}])
    return context, operator


def wait_for_the_camera(page) -> None:
    page.wait_for_selector("[data-camera-shoot]:not([disabled])")
    page.wait_for_function("() => { const v = document.querySelector('[data-camera-video]');"
                           " return v.videoWidth > 0 && !v.paused && v.currentTime > 0; }")


def jpeg_file(tmp_path, width=450, height=600):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (190, 170, 150)).save(buffer, "JPEG")
    path = tmp_path / "applicant.jpg"
    path.write_bytes(buffer.getvalue())
    return path


def test_the_operator_takes_the_photo_with_the_camera_then_the_fee_and_the_application_goes_to_review(
        camera_browser, sandbox, live_server):
    application = in_formalization()
    context, operator = operator_context(camera_browser, live_server)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/")
        page.click("[data-testid=desk-link]")
        page.fill("#id_q", application.number)
        page.keyboard.press("Enter")
        page.click(f"[data-testid=result] a[href$='/applications/{application.pk}/']")
        page.wait_for_url(re.compile(rf"/staff/desk/applications/{application.pk}/$"))
        assert page.locator("[data-testid=no-photo]").is_visible()

        page.click("[data-testid=take-photo]")
        page.wait_for_url(re.compile(r"/photo/$"))
        assert page.locator("h1").count() == 1
        wait_for_the_camera(page)
        assert "camera is on" in page.locator("[data-testid=camera-state]").inner_text()

        page.click("[data-camera-shoot]")
        canvas = page.locator("[data-camera-canvas]")
        assert canvas.is_visible() and not page.locator("[data-camera-video]").is_visible()
        assert page.evaluate("() => document.activeElement.matches('[data-camera-use]')")  # confirm is next
        size = page.evaluate("() => { const c = document.querySelector('[data-camera-canvas]');"
                             " return [c.width, c.height]; }")
        assert size[0] >= 480 and size[1] >= 640 and size[0] * 4 == size[1] * 3

        page.click("[data-camera-retake]")  # take again: the preview comes back
        assert page.locator("[data-camera-video]").is_visible() and not canvas.is_visible()
        assert page.evaluate("() => document.activeElement.matches('[data-camera-shoot]')")
        page.click("[data-camera-shoot]")
        page.click("[data-camera-use]")

        page.wait_for_url(re.compile(rf"/staff/desk/applications/{application.pk}/$"))
        assert "The photo is saved." in page.locator("[data-testid=notice]").first.inner_text()
        photo = Photo.objects.get(application=application)
        assert (photo.source, photo.content_type, photo.taken_by_id) == (PhotoSource.TSON, "image/jpeg", operator.pk)
        assert photo.width >= 413 and photo.height >= 531 and photo.height > photo.width
        with photo.file.open("rb") as stored, Image.open(stored) as picture:
            assert picture.format == "JPEG" and picture.size == (photo.width, photo.height)
        thumb = page.locator("[data-testid=photo-thumb]")
        thumb.wait_for()
        page.wait_for_function("() => document.querySelector('[data-testid=photo-thumb]').naturalWidth > 0")

        page.fill("#id_receipt", "KZ-2026-0815")
        page.click("[data-testid=take-fee]")
        page.wait_for_url(re.compile(rf"/staff/desk/applications/{application.pk}/$"))
        notices = page.locator("[data-testid=notice]").all_inner_texts()
        assert any("receipt KZ-2026-0815" in notice for notice in notices)
        assert any("gone to a police officer for review" in notice for notice in notices)
        assert Application.objects.get(pk=application.pk).status == Status.UNDER_REVIEW
        payment = Payment.objects.get(application=application)
        assert (payment.method, payment.status, payment.receipt) == ("desk", "paid", "KZ-2026-0815")
    finally:
        context.close()


def test_without_a_camera_the_page_says_so_and_the_file_upload_works(browser, sandbox, live_server, tmp_path):
    application = in_formalization()
    context, _operator = operator_context(browser, live_server, camera=False, width=320)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/desk/applications/{application.pk}/photo/")
        state = page.locator("[data-testid=camera-state]")
        page.wait_for_function("() => /upload a photo file/i.test("
                               "document.querySelector('[data-testid=camera-state]').textContent)")
        assert not page.locator("[data-camera]").is_visible()
        assert state.is_visible()
        page.set_input_files("#id_photo", str(jpeg_file(tmp_path)))
        page.click("[data-testid=upload-photo]")
        page.wait_for_url(re.compile(rf"/staff/desk/applications/{application.pk}/$"))
        photo = Photo.objects.get(application=application)
        assert (photo.width, photo.height, photo.source) == (450, 600, PhotoSource.TSON)
    finally:
        context.close()


def test_a_landscape_file_is_refused_with_the_reason_linked_to_the_field(browser, sandbox, live_server, tmp_path):
    application = in_formalization()
    context, _operator = operator_context(browser, live_server, camera=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/desk/applications/{application.pk}/photo/")
        page.set_input_files("#id_photo", str(jpeg_file(tmp_path, 600, 450)))
        page.click("[data-testid=upload-photo]")
        summary = page.locator("[data-testid=error-summary]")
        assert "must be portrait" in summary.inner_text()
        assert page.evaluate("() => document.activeElement.matches('[data-testid=error-summary]')")
        summary.locator("a[href='#id_photo']").click()
        assert not Photo.objects.exists()
    finally:
        context.close()


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_desk_pages_pass_axe_and_the_keyboard_at_320_and_1280_px(camera_browser, sandbox, live_server, language):
    from axe_playwright_python.sync_playwright import Axe

    application = in_formalization()
    context, _operator = operator_context(camera_browser, live_server, language=language)
    page = context.new_page()
    axe, problems = Axe(), []
    base = f"{live_server.url}/staff/desk"
    try:
        for width in (320, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for url, ready in ((f"{base}/?q={application.iin}", "[data-testid=result]"),
                               (f"{base}/?q=12345", "[data-testid=error-summary]"),
                               (f"{base}/applications/{application.pk}/", "[data-testid=fee]"),
                               (f"{base}/applications/{application.pk}/photo/", "[data-camera-shoot]:not([disabled])")):
                page.goto(url)
                page.wait_for_selector(ready)
                where = f"{url} [{language}, {width}]"
                assert page.locator("html").get_attribute("lang") == language, where
                assert page.locator("h1").count() == 1, where
                assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), where
                problems += [f"{where}: {problem}" for problem in axe_problems(page, axe)
                             if not any(f": {rule}:" in problem for rule in REVIEWED_INCOMPLETE)]
                if width == 320:
                    problems += [f"{where}: {problem}" for problem in keyboard_problems(page)]
    finally:
        context.close()
    assert not problems, "\n".join(problems)
