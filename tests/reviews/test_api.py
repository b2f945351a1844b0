"""The police side of API v1 (shared/api-v1.md): the review queue, the refusal catalogue, the claim and the decision.
Shapes, every error code, `409 wrong_status` out of order, `409 claimed`, and `404` for every role but the police.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from applications.models import Application, PersonalDataAccess, PhotoSource, RefusalReason, StatusChange
from applications.workflow import move_application
from reviews.models import ReviewClaim
from tests.applications.test_formalization_api import caller, in_formalization, staff_client
from tests.factories import CentreFactory, OrganisationFactory, application_at_exams
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

QUEUE_URL = "/api/v1/review-queue"
REASONS_URL = "/api/v1/refusal-reasons"
OUTSIDERS = ["owner", "tson_operator", "examiner"]
PHOTO_REASON = ("photo_unsuitable", "Фотосурет талаптарға сай емес", "Фотография не соответствует требованиям",
                "The photo does not meet the requirements")


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    """Notices are queued after commit; these tests are about the API's rules."""
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: None)


@pytest.fixture(autouse=True)
def catalogue():
    """The refusal catalogue as the seed migration leaves it (kept even where an earlier test flushed it)."""
    code, kk, ru, en = PHOTO_REASON
    RefusalReason.objects.update_or_create(code=code, defaults={"title_kk": kk, "title_ru": ru, "title_en": en,
                                                                "position": 0, "is_active": True})
    RefusalReason.objects.update_or_create(code="other_legal_grounds", defaults={
        "title_kk": "Заңда көзделген өзге негіздер", "title_ru": "Иные основания, предусмотренные законом",
        "title_en": "Other grounds set by law", "position": 6, "is_active": True})


def police(**headers) -> APIClient:
    return staff_client(Role.POLICE_OFFICER, **headers)


def under_review(*, days_waiting: float = 0, pickup: str | None = None, **fields) -> Application:
    """An application with its fee paid and photo taken, waiting for the police for `days_waiting` days."""
    application = in_formalization(**fields)
    now = timezone.now()
    Application.objects.filter(pk=application.pk).update(fee_paid_at=now, photo_source=PhotoSource.TSON,
                                                         photo_captured_at=now)
    move_application(application_id=application.pk, transition="complete_formalization")
    changes = {"under_review_since": now - datetime.timedelta(days=days_waiting)}
    if pickup:
        changes["pickup_tson"] = CentreFactory(code=pickup, offers_exams=False)
    Application.objects.filter(pk=application.pk).update(**changes)
    return Application.objects.get(pk=application.pk)


def expire_claim(application) -> None:
    ReviewClaim.objects.filter(application=application).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1))


def queue(client, **params):
    response = client.get(QUEUE_URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(page) -> list[str]:
    return [item["id"] for item in page["results"]]


def claim(client, application, **headers):
    return client.post(f"/api/v1/applications/{application.pk}/claim", format="json", **headers)


def decide(client, application, body, **headers):
    return client.post(f"/api/v1/applications/{application.pk}/decision", body, format="json", **headers)


REFUSAL = {"decision": "refuse", "reason_code": "photo_unsuitable", "comment": "The background is not plain."}


# --- the queue ------------------------------------------------------------------------------------------------


def test_the_queue_lists_what_waits_for_the_police_oldest_first_with_a_count():
    newest, oldest, middle = under_review(days_waiting=0.1), under_review(days_waiting=9), under_review(days_waiting=2)
    in_formalization()  # not under review: not in the queue
    page = queue(police())
    assert ids(page) == [str(oldest.pk), str(middle.pk), str(newest.pk)]
    assert page["count"] == 3 and page["next"] is None
    assert {item["status"] for item in page["results"]} == {"under_review"}
    assert set(page["results"][0]) >= {"id", "number", "service", "channel", "checks", "exams", "fee", "photo",
                                       "history"}


def test_the_queue_pages_oldest_first_and_counts_all_that_wait():
    applications = [under_review(days_waiting=days) for days in (4, 3, 2, 1)]
    client = police()
    first = queue(client, page_size=3)
    assert ids(first) == [str(application.pk) for application in applications[:3]]
    assert first["count"] == 4 and first["next"]
    second = client.get(first["next"]).json()
    assert ids(second) == [str(applications[3].pk)] and second["next"] is None


def test_the_queue_is_filtered_by_service():
    first_issue = under_review(days_waiting=2)
    replacement = under_review(days_waiting=1, service="replacement", replacement_reason="loss")
    client = police()
    assert ids(queue(client, service="replacement")) == [str(replacement.pk)]
    page = queue(client, service="first_issue")
    assert (ids(page), page["count"]) == ([str(first_issue.pk)], 1)


def test_the_queue_is_filtered_by_channel():
    under_review(days_waiting=2)
    egov = under_review(days_waiting=1, channel="egov_mobile")
    page = queue(police(), channel="egov_mobile")
    assert (ids(page), page["count"]) == ([str(egov.pk)], 1)


def test_the_queue_is_filtered_by_the_pickup_centre():
    under_review(days_waiting=2)
    shymkent = under_review(days_waiting=1, pickup="tson-shymkent")
    client = police()
    page = queue(client, centre="tson-shymkent")
    assert (ids(page), page["count"]) == ([str(shymkent.pk)], 1)
    assert queue(client, centre="nowhere") == {"next": None, "results": [], "count": 0}


def test_the_queue_is_filtered_by_days_waiting():
    long_ago, _recent = under_review(days_waiting=5), under_review(days_waiting=1)
    just_over = under_review(days_waiting=3.05)
    page = queue(police(), min_days_waiting=3)
    assert (ids(page), page["count"]) == ([str(long_ago.pk), str(just_over.pk)], 2)


def test_the_queue_filters_combine():
    match = under_review(days_waiting=6, channel="egov_mobile", pickup="tson-almaty")
    under_review(days_waiting=6, pickup="tson-almaty")
    under_review(days_waiting=1, channel="egov_mobile", pickup="tson-almaty")
    page = queue(police(), channel="egov_mobile", centre="tson-almaty", min_days_waiting=5, service="first_issue")
    assert (ids(page), page["count"]) == ([str(match.pk)], 1)


@pytest.mark.parametrize("params", [{"service": "renewal"}, {"channel": "fax"}, {"min_days_waiting": "soon"},
                                    {"min_days_waiting": "-1"}, {"centre": "no spaces!"}, {"page_size": "0"}])
def test_a_bad_queue_filter_is_400_validation_error(params):
    under_review()
    body = assert_problem(police().get(QUEUE_URL, params), 400, "validation_error")
    assert set(body["errors"]) == set(params)


@pytest.mark.parametrize("who", OUTSIDERS)
def test_the_queue_is_404_for_roles_outside(who):
    application = under_review()
    assert_problem(caller(who, application).get(QUEUE_URL), 404, "not_found")


def test_the_queue_is_401_without_credentials():
    assert_problem(APIClient().get(QUEUE_URL), 401, "not_authenticated")


def test_each_application_the_queue_shows_is_logged_as_read_by_the_officer():
    application = under_review()
    queue(police())
    entry = PersonalDataAccess.objects.filter(application=application).order_by("-pk").first()
    assert entry is not None and entry.purpose == PersonalDataAccess.Purpose.CASE_HANDLING


def test_the_queues_query_count_does_not_grow_with_its_rows():
    client = police()
    for days in (5, 4):
        under_review(days_waiting=days)
    queue(client)  # the first request fills the per-process caches (categories, the fee, the key)
    with CaptureQueriesContext(connection) as few:
        assert queue(client)["count"] == 2
    for days in range(3, 0, -1):
        under_review(days_waiting=days, channel="egov_mobile", pickup=f"tson-{days}")
    claim(police(), Application.objects.order_by("under_review_since").first())
    with CaptureQueriesContext(connection) as many:
        assert queue(client)["count"] == 5
    assert len(many) == len(few), "\n".join(query["sql"] for query in many.captured_queries)


# --- the refusal catalogue ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "title"), [("kk", PHOTO_REASON[1]), ("ru", PHOTO_REASON[2]),
                                                 ("en", PHOTO_REASON[3])])
def test_the_refusal_reasons_have_titles_in_the_requests_language(language, title):
    response = police(HTTP_ACCEPT_LANGUAGE=language).get(REASONS_URL)
    assert response.status_code == 200, response.content
    reasons = {item["code"]: item["title"] for item in response.json()["results"]}
    assert reasons["photo_unsuitable"] == title
    assert set(response.json()["results"][0]) == {"code", "title"}


def test_the_refusal_reasons_are_in_kazakh_by_default_and_leave_out_those_not_in_use():
    RefusalReason.objects.filter(code="other_legal_grounds").update(is_active=False)
    response = police().get(REASONS_URL)
    reasons = {item["code"]: item["title"] for item in response.json()["results"]}
    assert reasons["photo_unsuitable"] == PHOTO_REASON[1]
    assert "other_legal_grounds" not in reasons
    assert response.json()["next"] is None


@pytest.mark.parametrize("who", OUTSIDERS)
def test_the_refusal_reasons_are_404_for_roles_outside(who):
    assert_problem(caller(who, in_formalization()).get(REASONS_URL), 404, "not_found")


# --- the claim ------------------------------------------------------------------------------------------------


def test_a_claim_is_200_with_the_officer_and_until_when():
    application = under_review()
    client = police()
    before = timezone.now()
    response = claim(client, application)
    assert response.status_code == 200, response.content
    body = response.json()
    held = ReviewClaim.objects.select_related("officer").get(application=application)
    assert body["officer"] == held.officer.username
    until = datetime.datetime.fromisoformat(body["until"])
    assert "." in body["until"] and until.utcoffset() is not None
    assert before + datetime.timedelta(minutes=1) < until <= timezone.now() + datetime.timedelta(hours=2)
    assert abs((until - held.expires_at).total_seconds()) < 0.001


def test_a_claim_held_by_another_officer_is_409_claimed():
    application = under_review()
    assert claim(police(), application).status_code == 200
    holder = ReviewClaim.objects.get(application=application).officer
    body = assert_problem(claim(police(), application), 409, "claimed")
    assert body.get("claimed_by") == holder.username
    assert ReviewClaim.objects.get(application=application).officer == holder


def test_an_officer_claiming_again_keeps_the_claim():
    application = under_review()
    client = police()
    assert claim(client, application).status_code == 200
    assert claim(client, application).status_code == 200
    assert ReviewClaim.objects.filter(application=application).count() == 1


def test_an_expired_claim_can_be_taken_by_another_officer():
    application = under_review()
    assert claim(police(), application).status_code == 200
    expire_claim(application)
    other = police()
    response = claim(other, application)
    assert response.status_code == 200, response.content
    assert ReviewClaim.objects.get(application=application).officer.username == response.json()["officer"]


def test_a_claim_outside_review_is_409_wrong_status():
    assert_problem(claim(police(), in_formalization()), 409, "wrong_status")


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_claim_is_404_for_roles_outside(who):
    application = under_review()
    assert_problem(claim(caller(who, application), application), 404, "not_found")
    assert not ReviewClaim.objects.filter(application=application).exists()


# --- the decision ---------------------------------------------------------------------------------------------


def test_an_approval_is_200_approved_with_the_decision_member():
    application = under_review()
    client = police()
    assert claim(client, application).status_code == 200
    response = decide(client, application, {"decision": "approve"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved" and body["refusal"] is None
    assert body["decision"]["decision"] == "approve" and body["decision"]["reason_code"] is None
    assert body["decision"]["decided_at"]
    assert body["history"][-1]["status"] == "approved"
    assert not ReviewClaim.objects.filter(application=application).exists()


def test_an_approval_without_a_claim_first_is_200():
    application = under_review()
    assert decide(police(), application, {"decision": "approve"}).json()["status"] == "approved"


@pytest.mark.parametrize(("body", "field"), [
    ({"decision": "refuse", "comment": "Blurred."}, "reason_code"),
    ({"decision": "refuse", "reason_code": "", "comment": "Blurred."}, "reason_code"),
    ({"decision": "refuse", "reason_code": "photo_unsuitable"}, "comment"),
    ({"decision": "refuse", "reason_code": "photo_unsuitable", "comment": "   "}, "comment"),
    ({}, "decision"),
])
def test_a_refusal_without_its_reason_or_comment_is_400_missing_field(body, field):
    application = under_review()
    problem = assert_problem(decide(police(), application, body), 400, "missing_field")
    assert field in problem["errors"], problem
    assert Application.objects.get(pk=application.pk).status == "under_review"


@pytest.mark.parametrize("body", [
    {"decision": "refuse", "reason_code": "no_such_reason", "comment": "Why not."},
    {"decision": "maybe"},
])
def test_an_unknown_reason_or_decision_is_400_validation_error(body):
    application = under_review()
    assert_problem(decide(police(), application, body), 400, "validation_error")
    assert Application.objects.get(pk=application.pk).status == "under_review"


def test_a_reason_taken_out_of_use_is_400_validation_error():
    RefusalReason.objects.filter(code="photo_unsuitable").update(is_active=False)
    application = under_review()
    problem = assert_problem(decide(police(), application, REFUSAL), 400, "validation_error")
    assert "reason_code" in problem["errors"]


@pytest.mark.parametrize(("language", "title"), [("kk", PHOTO_REASON[1]), ("ru", PHOTO_REASON[2]),
                                                 ("en", PHOTO_REASON[3])])
def test_a_refusal_is_told_in_the_requests_language_naming_the_reason_and_the_comment(language, title):
    application = under_review()
    response = decide(police(HTTP_ACCEPT_LANGUAGE=language), application, REFUSAL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "refused"
    assert body["refusal"]["code"] == "officer_refused"
    assert title in body["refusal"]["message"]
    assert REFUSAL["comment"] in body["refusal"]["message"]
    assert body["decision"]["decision"] == "refuse"
    assert body["decision"]["reason_code"] == "photo_unsuitable"
    again = caller("owner", application).get(f"/api/v1/applications/{application.pk}", HTTP_ACCEPT_LANGUAGE="ru")
    assert PHOTO_REASON[2] in again.json()["refusal"]["message"]


def test_a_decision_by_another_officer_while_claimed_is_409_claimed():
    application = under_review()
    assert claim(police(), application).status_code == 200
    assert_problem(decide(police(), application, {"decision": "approve"}), 409, "claimed")
    assert_problem(decide(police(), application, REFUSAL), 409, "claimed")
    assert Application.objects.get(pk=application.pk).status == "under_review"
    assert not StatusChange.objects.filter(application=application, to_status__in=["approved", "refused"]).exists()


def test_a_decision_by_another_officer_once_the_claim_expired_is_200():
    application = under_review()
    assert claim(police(), application).status_code == 200
    expire_claim(application)
    assert decide(police(), application, {"decision": "approve"}).json()["status"] == "approved"


@pytest.mark.parametrize("where", ["formalization", "approved", "refused", "theory_exam"])
def test_a_decision_in_the_wrong_status_is_409_wrong_status(where):
    if where == "theory_exam":
        application = application_at_exams(organisation=OrganisationFactory())
    elif where == "formalization":
        application = in_formalization()
    else:
        application = under_review()
        decide(police(), application, {"decision": "approve"} if where == "approved" else REFUSAL)
    assert_problem(decide(police(), application, {"decision": "approve"}), 409, "wrong_status")
    assert Application.objects.get(pk=application.pk).status == where


def test_a_decision_retried_with_the_same_idempotency_key_is_replayed_and_taken_once():
    application = under_review()
    client = police()
    first = decide(client, application, {"decision": "approve"}, HTTP_IDEMPOTENCY_KEY="decide-1")
    again = decide(client, application, {"decision": "approve"}, HTTP_IDEMPOTENCY_KEY="decide-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert StatusChange.objects.filter(application=application, to_status="approved").count() == 1


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_decision_is_404_for_roles_outside(who):
    application = under_review()
    assert_problem(decide(caller(who, application), application, {"decision": "approve"}), 404, "not_found")
    assert Application.objects.get(pk=application.pk).status == "under_review"
