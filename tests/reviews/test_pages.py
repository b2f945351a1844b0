"""The police officer's pages: the queue (order, filters, count, pages, a fixed number of queries), the application
page (claim, access log, everything the decision needs), the decision and the release."""

import datetime
import io
import re
import uuid

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from PIL import Image

from accounts.models import Role
from applications.models import Application, Check, PersonalDataAccess, Status
from applications.services import capture_photo, pay_at_desk
from applications.workflow import move_application
from exams.models import Booking
from reviews import staff_views
from reviews.models import ReviewClaim
from tests.factories import (
    CentreFactory,
    ExamSlotFactory,
    StaffFactory,
    UserFactory,
    application_at_exams,
    make_iin,
)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
QUEUE = "/staff/review/"


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Notices are queued after commit, not sent: these tests look at the pages."""
    jobs = []
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: jobs.append((task_name, args)))
    return jobs


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (450, 600), color=(200, 180, 160)).save(buffer, "JPEG")
    return SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")


def under_review(*, waiting_since: datetime.datetime | None = None, **fields) -> Application:
    """Both exams passed, the fee paid at the desk and the photo taken: the application waits for the police."""
    application = application_at_exams(status="practical_exam")
    move_application(application_id=application.pk, transition="pass_practical_exam")
    operator = StaffFactory(username="desk-operator", role=Role.TSON_OPERATOR)
    pay_at_desk(application=Application.objects.get(pk=application.pk), receipt="R-1", actor=operator)
    capture_photo(application=Application.objects.get(pk=application.pk), upload=jpeg(), actor=operator)
    if waiting_since is not None:
        fields["under_review_since"] = waiting_since
    if fields:
        Application.objects.filter(pk=application.pk).update(**fields)
    application = Application.objects.get(pk=application.pk)
    assert application.status == Status.UNDER_REVIEW
    return application


def ago(days=0, hours=0, minutes=0) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days, hours=hours, minutes=minutes)


def officer_client(client_class, username="p.nurlan"):
    client = client_class()
    user = StaffFactory(username=username, role=Role.POLICE_OFFICER)
    client.force_login(user)
    return client, user


@pytest.fixture
def officer(client):
    user = StaffFactory(username="p.aliya", role=Role.POLICE_OFFICER)
    client.force_login(user)
    return user


def page_url(application) -> str:
    return f"/staff/review/applications/{application.pk}/"


def listed(page: str) -> list[str]:
    return re.findall(r'data-application="([0-9a-f-]+)"', page)


# --- who may see the pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.EXAMINER, Role.ADMIN, Role.CITIZEN])
def test_the_review_pages_do_not_exist_for_other_roles(client, role):
    application = under_review()
    client.force_login(UserFactory(role=role, username=f"someone-{role}"))
    assert client.get(QUEUE).status_code == 404
    assert client.get(page_url(application)).status_code == 404
    assert client.post(page_url(application), {"decision": "approve"}).status_code == 404
    assert client.post(f"{page_url(application)}release/").status_code == 404
    assert not PersonalDataAccess.objects.filter(application=application, role=role).exists()
    assert Application.objects.get(pk=application.pk).status == Status.UNDER_REVIEW


def test_someone_not_signed_in_is_asked_to_sign_in(client):
    response = client.get(QUEUE)
    assert response.status_code == 302 and response["Location"].startswith("/staff/signin/?next=")


def test_an_unknown_application_is_404(client, officer):
    assert client.get("/staff/review/applications/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_the_police_home_links_to_the_queue(client, officer):
    assert f'href="{QUEUE}"' in client.get("/staff/", **EN).content.decode()


# --- the queue ------------------------------------------------------------------------------------------------


def test_the_queue_lists_what_waits_oldest_first_with_the_count(client, officer):
    newest = under_review(waiting_since=ago(hours=2))
    oldest = under_review(waiting_since=ago(days=3))
    middle = under_review(waiting_since=ago(days=1))
    application_at_exams(status="practical_exam")  # not yet under review
    response = client.get(QUEUE, **EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert listed(page) == [str(oldest.pk), str(middle.pk), str(newest.pk)]
    assert re.search(r'data-testid="count">\s*3 applications wait', page)
    assert f'href="{page_url(oldest)}" data-testid="open-oldest"' in page
    for application in (oldest, middle, newest):
        assert application.number in page
    assert "3 days" in page and "Pickup TSON" in page and "First driving licence" in page


def test_the_queue_shows_who_holds_each_application(client, officer):
    mine, theirs, free = under_review(), under_review(), under_review()
    other = StaffFactory(username="p.other", role=Role.POLICE_OFFICER)
    soon, gone = timezone.now() + datetime.timedelta(minutes=9), timezone.now() - datetime.timedelta(minutes=1)
    ReviewClaim.objects.create(application=mine, officer=officer, expires_at=soon)
    ReviewClaim.objects.create(application=theirs, officer=other, expires_at=soon)
    ReviewClaim.objects.create(application=free, officer=other, expires_at=gone)
    page = client.get(QUEUE, **EN).content.decode()
    held = dict(zip(listed(page), re.findall(r'data-testid="held-by">([^<]*)<', page), strict=True))
    assert held[str(mine.pk)].startswith("You, until")
    assert held[str(theirs.pk)].startswith("p.other, until")
    assert held[str(free.pk)] == "—"  # a hold that ran out holds nothing


def test_each_filter_narrows_the_queue_and_its_count(client, officer):
    plain = under_review(waiting_since=ago(hours=1))
    replacement = under_review(service="replacement", replacement_reason="loss", waiting_since=ago(hours=2))
    school = under_review(channel="driving_school", waiting_since=ago(hours=3))
    elsewhere = under_review(pickup_tson=CentreFactory(code="alm-tson-2", name="Алмалы ХҚКО", city="Алматы"),
                             waiting_since=ago(hours=4))
    long_waiting = under_review(waiting_since=ago(days=5))
    cases = {
        "service=replacement": [replacement],
        "channel=driving_school": [school],
        "centre=alm-tson-2": [elsewhere],
        "min_days_waiting=2": [long_waiting],
        "service=first_issue&channel=bank&centre=pickup-tson": [long_waiting, plain],
    }
    for query, expected in cases.items():
        page = client.get(f"{QUEUE}?{query}", **EN).content.decode()
        assert listed(page) == [str(application.pk) for application in expected], query
        count = len(expected)
        assert re.search(rf'data-testid="count">\s*{count} application{"s" if count > 1 else ""} wait', page), query
        assert "Clear the filters" in page
    page = client.get(f"{QUEUE}?service=foreign_exchange", **EN).content.decode()
    assert 'data-testid="empty-queue"' in page and "0 applications wait" in page


def test_a_wrong_filter_is_an_error_on_the_field(client, officer):
    under_review()
    response = client.get(f"{QUEUE}?min_days_waiting=-1&channel=pigeon", **EN)
    page = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_min_days_waiting"' in page and 'href="#id_channel"' in page
    assert "Enter 0 or a larger number of days." in page and "Choose a channel from the list." in page
    assert listed(page) == []


def test_the_queue_pages_on_its_order_with_a_next_page_link(client, officer, monkeypatch):
    monkeypatch.setattr(staff_views, "PAGE_SIZE", 2)
    same_time = ago(days=1)
    applications = [under_review(waiting_since=same_time) for _ in range(3)]  # a tie, broken by the id
    applications += [under_review(waiting_since=ago(hours=1)), under_review(waiting_since=ago(minutes=5))]
    expected = [str(application.pk) for application in
                sorted(applications[:3], key=lambda application: str(application.pk))] + \
               [str(application.pk) for application in applications[3:]]
    seen, url = [], f"{QUEUE}?channel=bank"
    for _ in range(3):
        page = client.get(url, **EN).content.decode()
        assert re.search(r'data-testid="count">\s*5 applications wait', page)
        seen += listed(page)
        next_link = re.search(r'href="([^"]+)" rel="next"', page)
        if next_link is None:
            break
        url = QUEUE + next_link.group(1).replace("&amp;", "&")
        assert "channel=bank" in url
    assert seen == expected
    assert 'data-testid="first-page"' in page and 'data-testid="open-oldest"' not in page


def test_a_page_holds_fifty_applications(client, officer):
    first = under_review(waiting_since=ago(days=2))
    copies = []
    # Copies of one application (each its own id, number and person) fill a page faster than fifty journeys.
    for index in range(50):
        copy = Application.objects.get(pk=first.pk)
        copy.id, copy.number, copy.iin = uuid.uuid4(), f"{first.number}-{index}", make_iin()
        copies.append(copy)
    Application.objects.bulk_create(copies)
    page = client.get(QUEUE, **EN).content.decode()
    assert len(listed(page)) == 50 and 'rel="next"' in page
    assert re.search(r'data-testid="count">\s*51 applications wait', page)


def test_the_queue_makes_the_same_queries_for_one_application_or_thirty(client, officer):
    under_review()
    client.get(QUEUE)
    with CaptureQueriesContext(connection) as one:
        assert client.get(QUEUE).status_code == 200
    for index in range(29):
        application = under_review()
        if index % 3 == 0:
            ReviewClaim.objects.create(application=application, officer=officer,
                                       expires_at=timezone.now() + datetime.timedelta(minutes=5))
    with CaptureQueriesContext(connection) as thirty:
        page = client.get(QUEUE).content.decode()
    assert len(listed(page)) == 30
    assert len(thirty.captured_queries) == len(one.captured_queries), [q["sql"] for q in thirty.captured_queries]


def test_the_queue_shows_no_iin_and_logs_no_read(client, officer):
    application = under_review()
    page = client.get(QUEUE, **EN).content.decode()
    assert application.iin not in page
    assert not PersonalDataAccess.objects.filter(actor_user=officer).exists()
    assert not ReviewClaim.objects.exists()


# --- the application page -------------------------------------------------------------------------------------


def with_checks_and_exams(application) -> Application:
    checked = timezone.now() - datetime.timedelta(days=20)
    for position, registry in enumerate(["consent", "person", "licence_registry", "erap", "medical", "erdb",
                                         "driving_school", "exam_attempts"]):
        Check.objects.create(application=application, registry=registry, position=position, outcome="passed",
                             checked_at=checked, latency_ms=120 + position, attempts=1)
    centre = CentreFactory(code="ast-exam", name="Астана емтихан орталығы", offers_exams=True)
    results = [("theory", "failed", 28, 12), ("theory", "passed", 36, 9), ("practical", "passed", 40, 3)]
    for kind, result, score, days in results:
        slot = ExamSlotFactory(centre=centre, kind=kind, starts_at=timezone.now() - datetime.timedelta(days=days))
        Booking.objects.create(application=application, slot=slot, kind=kind, status=result, score=score,
                               result_at=slot.starts_at + datetime.timedelta(hours=1))
    return application


def test_opening_an_application_claims_it_and_logs_the_read(client, officer):
    application = under_review()
    response = client.get(page_url(application), **EN)
    assert response.status_code == 200
    claim = ReviewClaim.objects.get(application=application)
    assert claim.officer == officer and claim.expires_at > timezone.now()
    logged = PersonalDataAccess.objects.filter(application=application, actor_user=officer)
    assert logged.count() == 1
    assert (logged.get().role, logged.get().purpose, logged.get().what) == (Role.POLICE_OFFICER, "case_handling",
                                                                           "application")
    page = response.content.decode()
    assert "You hold this application until" in page and 'data-testid="release"' in page


def test_the_application_page_shows_everything_the_decision_needs(client, officer):
    application = with_checks_and_exams(under_review())
    page = client.get(page_url(application), **EN).content.decode()
    assert page.count("<h1") == 1 and application.number in page and application.iin in page
    checks = page[page.index('data-testid="checks"'):page.index('id="exams-title"')]
    assert checks.count("<tr>") == 9 and "Register of administrative proceedings (ERAP)" in checks
    assert timezone.localtime(Check.objects.filter(application=application).first().checked_at).strftime(
        "%d.%m.%Y %H:%M:%S") in checks and "120 ms" in checks
    exams = page[page.index('data-testid="exams"'):page.index('id="fee-title"')]
    assert exams.count('data-testid="exam-attempt"') == 3
    assert "28 correct answers" in exams and "36 correct answers" in exams and "40 penalty points" in exams
    assert "Failed" in exams and "Passed" in exams and "Астана емтихан орталығы" in exams
    fee = page[page.index('data-testid="fee"'):page.index('id="photo-title"')]
    assert "5406 tenge" in fee
    assert "At a TSON desk" in fee and "R-1" in fee
    history = page[page.index('data-testid="history"'):page.index('id="decision-title"')]
    assert "Under police review" in history and "desk-operator · TSON operator" in history
    assert "System" in history
    assert 'data-testid="approve"' in page and 'name="reason_code"' in page and 'name="comment"' in page
    assert "The photo does not meet the requirements" in page  # the refusal catalogue, in the page's language


def test_the_photo_is_shown_through_the_desk_photo_view(client, officer):
    application = under_review()
    page = client.get(page_url(application), **EN).content.decode()
    assert 'data-testid="photo"' in page and "Taken at a TSON desk on" in page
    try:
        photo_url = reverse("desk:photo", args=[application.pk])
    except NoReverseMatch:
        pytest.skip("the desk's photo view is not mounted yet")
    assert f'<img src="{photo_url}"' in page


def test_a_photo_held_by_the_person_registry_is_said_so(client, officer):
    application = under_review(photo_source="registry")
    page = client.get(page_url(application), **EN).content.decode()
    assert "held by the person registry" in page and "<img" not in page


def test_a_second_officer_sees_it_held_and_cannot_decide(client, officer, django_user_model):
    application = under_review()
    client.get(page_url(application))
    second, second_user = officer_client(type(client), "p.second")
    response = second.get(page_url(application), **EN)
    page = response.content.decode()
    assert "Officer p.aliya is reviewing this application until" in page
    assert re.search(r'data-testid="approve"\s+disabled', page) and "<fieldset class=\"fieldset\" disabled>" in page
    assert ReviewClaim.objects.get(application=application).officer == officer
    assert PersonalDataAccess.objects.filter(application=application, actor_user=second_user).count() == 1
    response = second.post(page_url(application), {"decision": "approve"}, **EN)
    assert response.status_code == 409
    assert "Another officer (p.aliya) is reviewing this application until" in response.content.decode()
    assert 'href="#decision-title"' in response.content.decode()
    assert Application.objects.get(pk=application.pk).status == Status.UNDER_REVIEW


def test_a_hold_that_ran_out_passes_to_the_next_officer_who_opens_it(client, officer):
    application = under_review()
    client.get(page_url(application))
    second, second_user = officer_client(type(client), "p.second")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        assert second.get(page_url(application)).status_code == 200
    assert ReviewClaim.objects.get(application=application).officer == second_user


def test_approving_moves_the_application_to_approved(client, officer):
    application = under_review()
    client.get(page_url(application))
    response = client.post(page_url(application), {"decision": "approve"}, **EN)
    assert response.status_code == 302 and response["Location"] == QUEUE
    application.refresh_from_db()
    assert application.status == Status.APPROVED and application.decided_at is not None
    assert not ReviewClaim.objects.filter(application=application).exists()
    page = client.get(QUEUE, **EN).content.decode()
    assert f"Application {application.number} is approved." in page and listed(page) == []
    page = client.get(page_url(application), **EN).content.decode()
    decision = page[page.index('data-testid="decision"'):]
    assert "Approved" in decision and "p.aliya · Police officer" in decision
    assert 'data-testid="approve"' not in page and 'name="reason_code"' not in page


def test_a_refusal_needs_a_reason_and_a_comment(client, officer):
    application = under_review()
    response = client.post(page_url(application), {"decision": "refuse", "reason_code": "", "comment": "  "}, **EN)
    page = response.content.decode()
    assert response.status_code == 400
    summary = page[page.index('data-testid="error-summary"'):page.index("</ul>")]
    assert 'href="#id_reason_code"' in summary and "Choose the reason for the refusal." in summary
    assert 'href="#id_comment"' in summary and "Write a comment for the citizen: a refusal needs one." in summary
    response = client.post(page_url(application), {"decision": "refuse", "reason_code": "no-such-reason",
                                                   "comment": "Фото бұлыңғыр."}, **EN)
    assert response.status_code == 400 and "Choose a reason from the list." in response.content.decode()
    assert "Фото бұлыңғыр." in response.content.decode()  # what the officer wrote stays in the box
    assert Application.objects.get(pk=application.pk).status == Status.UNDER_REVIEW


def test_refusing_moves_the_application_to_refused_with_the_reason_and_the_comment(client, officer):
    application = under_review()
    response = client.post(page_url(application), {
        "decision": "refuse", "reason_code": "photo_unsuitable",
        "comment": "Фотосурет бұлыңғыр. ХҚКО-ға қайта келіп, суретке түсіңіз."}, **EN)
    assert response.status_code == 302 and response["Location"] == QUEUE
    application.refresh_from_db()
    assert application.status == Status.REFUSED and application.refusal_code == "officer_refused"
    assert application.officer_reason_code == "photo_unsuitable"
    assert application.refusal_comment == "Фотосурет бұлыңғыр. ХҚКО-ға қайта келіп, суретке түсіңіз."
    page = client.get(QUEUE, **EN).content.decode()
    assert (f"Application {application.number} is refused: The photo does not meet the requirements."
            in page)
    page = client.get(page_url(application), **EN).content.decode()
    decision = page[page.index('data-testid="decision"'):]
    assert "Refused" in decision and "The photo does not meet the requirements" in decision
    assert "ХҚКО-ға қайта келіп" in decision and 'name="comment"' not in page


def test_an_application_not_under_review_cannot_be_decided(client, officer):
    application = application_at_exams(status="practical_exam")
    page = client.get(page_url(application), **EN).content.decode()
    assert 'data-testid="not-under-review"' in page and "Practical exam" in page
    assert not ReviewClaim.objects.exists()
    assert PersonalDataAccess.objects.filter(application=application, actor_user=officer).count() == 1
    response = client.post(page_url(application), {"decision": "approve"}, **EN)
    assert response.status_code == 409
    assert Application.objects.get(pk=application.pk).status == Status.PRACTICAL_EXAM


def test_releasing_lets_another_officer_take_it(client, officer):
    application = under_review()
    client.get(page_url(application))
    response = client.post(f"{page_url(application)}release/", **EN)
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert not ReviewClaim.objects.filter(application=application).exists()
    assert f"You released application {application.number}" in client.get(QUEUE, **EN).content.decode()
    second, second_user = officer_client(type(client), "p.second")
    second.get(page_url(application))
    assert ReviewClaim.objects.get(application=application).officer == second_user
    assert second.post(page_url(application), {"decision": "approve"}).status_code == 302
    assert Application.objects.get(pk=application.pk).status == Status.APPROVED


@pytest.mark.parametrize(("language", "reason_title"), [
    ("kk", "Фотосурет талаптарға сай емес"),
    ("ru", "Фотография не соответствует требованиям"),
    ("en", "The photo does not meet the requirements"),
])
def test_the_pages_render_in_each_language(client, officer, language, reason_title):
    application = with_checks_and_exams(under_review())
    for url in (QUEUE, page_url(application)):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        page = response.content.decode()
        assert response.status_code == 200 and f'<html lang="{language}">' in page
        assert page.count("<h1") == 1 and application.number in page
    assert reason_title in page
