"""The channel API as published (shared/api-v1.md): shapes, error codes, idempotency, who sees what."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import IdempotencyRecord, Role
from applications.models import Application, ForeignLicenceCountry, PhotoSource, Status
from applications.workflow import move_application
from tests.factories import ApplicationFactory, CentreFactory, OrganisationFactory, StaffFactory, api_key_for, make_iin
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_registry_calls(monkeypatch):
    """These tests are about the API's own rules: the consent request after commit is not part of them."""
    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)


def client_for(organisation=None, **headers) -> APIClient:
    client = APIClient(**headers)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(organisation or OrganisationFactory())}")
    return client


def staff_client(role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=StaffFactory(role=role)).key}")
    return client


def create(client, body=None, key=None, **extra):
    body = body or {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}
    return client.post("/api/v1/applications", body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
                       **extra)



def eligible_application(organisation):
    application = ApplicationFactory(organisation=organisation)
    for step in ("record_consent", "mark_eligible"):
        move_application(application_id=application.pk, transition=step)
    return application


# --- create -------------------------------------------------------------------------------------------------


def test_create_answers_201_in_consent_pending_with_the_contracts_shape():
    response = create(client_for())
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "consent_pending" and body["number"] is None
    assert set(body) >= {"id", "number", "service", "channel", "status", "iin", "categories", "replacement_reason",
                         "checks", "refusal", "exams", "fee", "photo", "decision", "licence", "history",
                         "created_at", "updated_at"}
    assert body["fee"] == {"amount_kzt": 5406, "paid": False}
    assert body["exams"] == {"theory": {"booking": None, "attempts": []},
                             "practical": {"booking": None, "attempts": []}}
    assert body["history"][0]["status"] == "consent_pending"
    assert "." in body["history"][0]["at"] and body["history"][0]["at"].endswith("+05:00")
    assert [c["outcome"] for c in body["checks"]] == ["pending"] * 8


def test_the_201_matches_what_a_read_shows_and_a_code_cannot_be_confirmed_before_it_is_sent():
    client = client_for()
    created = create(client).json()
    assert client.get(f"/api/v1/applications/{created['id']}").json() == created
    response = client.post(f"/api/v1/applications/{created['id']}/consent", {"code": "123456"}, format="json",
                           HTTP_ACCEPT_LANGUAGE="en")
    assert_problem(response, 409, "wrong_status")
    assert "has not been sent yet" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"service": "first_issue", "iin": "871008401428", "categories": ["B"]}, 400, "invalid_iin"),
        ({"service": "first_issue", "iin": "871008401427", "categories": ["Z"]}, 400, "invalid_category"),
        ({"service": "first_issue", "iin": "871008401427", "categories": ["CE"]}, 400, "category_prerequisite"),
        ({"service": "first_issue", "iin": "871008401427"}, 400, "missing_field"),
        ({"iin": "871008401427", "categories": ["B"]}, 400, "missing_field"),
        ({"service": "replacement", "iin": "871008401427"}, 400, "missing_field"),
        ({"service": "foreign_exchange", "iin": "871008401427", "categories": ["B"],
          "foreign_licence": {"country": "DE", "number": "X1", "categories": ["B"], "valid_until": "2030-01-01"}},
         403, "channel_not_allowed"),
    ],
)
def test_create_errors_follow_the_contract_and_change_nothing(body, status, code):
    response = create(client_for(), body)
    body = assert_problem(response, status, code)
    if status == 400 and code != "validation_error":
        assert body.get("errors") or code in ("channel_not_allowed",)
    assert Application.objects.count() == 0


def test_a_second_active_application_for_one_iin_is_409():
    client = client_for()
    body = {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}
    assert create(client, body).status_code == 201
    assert_problem(create(client_for(), body), 409, "active_application_exists")


def test_a_tson_operator_takes_only_foreign_exchange():
    operator = staff_client(Role.TSON_OPERATOR)
    assert_problem(create(operator), 403, "channel_not_allowed")
    body = {"service": "foreign_exchange", "iin": make_iin(), "categories": ["B"],
            "foreign_licence": {"country": "DE", "number": "B072RRE2I55", "categories": ["B"],
                                "valid_until": "2030-01-01"}}
    response = create(operator, body)
    assert response.status_code == 201
    assert (response.json()["channel"], response.json()["exams"]) == ("tson_branch", {
        "theory": {"booking": None, "attempts": []}, "practical": {"booking": None, "attempts": []}})


@pytest.mark.parametrize("role", [Role.EXAMINER, Role.POLICE_OFFICER])
def test_other_staff_cannot_create(role):
    assert_problem(create(staff_client(role)), 404, "not_found")


# --- idempotency --------------------------------------------------------------------------------------------


def test_a_channel_must_send_an_idempotency_key():
    response = client_for().post("/api/v1/applications", {"service": "first_issue", "iin": make_iin(),
                                                          "categories": ["B"]}, format="json")
    assert_problem(response, 400, "idempotency_key_missing")
    assert Application.objects.count() == 0


def test_the_same_key_and_body_replays_the_first_answer_and_does_nothing_twice():
    client, key = client_for(), str(uuid.uuid4())
    body = {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}
    first = create(client, body, key)
    second = create(client, body, key)
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Application.objects.count() == 1


def test_the_same_key_with_another_body_is_422():
    client, key = client_for(), str(uuid.uuid4())
    create(client, key=key)
    assert_problem(create(client, key=key), 422, "idempotency_key_reused")
    assert Application.objects.count() == 1


def test_the_same_key_while_the_first_is_running_is_409():
    client, key = client_for(), str(uuid.uuid4())
    body = {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}
    create(client, body, key)
    IdempotencyRecord.objects.filter(key=key).update(response_status=None)
    assert_problem(create(client, body, key), 409, "idempotency_key_in_use")


def test_a_key_is_forgotten_after_24_hours_and_purged_by_the_sweep():
    import datetime

    from django.utils import timezone

    from applications.tasks import sweep

    client, key = client_for(), str(uuid.uuid4())
    create(client, key=key)
    IdempotencyRecord.objects.filter(key=key).update(created_at=timezone.now() - datetime.timedelta(hours=25))
    again = create(client, key=key)  # another body: a day later the key is free again
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert IdempotencyRecord.objects.filter(key=key).count() == 1
    IdempotencyRecord.objects.filter(key=key).update(created_at=timezone.now() - datetime.timedelta(hours=25))
    assert sweep.apply().get()["idempotency_keys_purged"] == 1
    assert not IdempotencyRecord.objects.filter(key=key).exists()


def test_a_claim_whose_request_died_is_taken_over_by_a_retry_with_the_same_body(settings):
    import datetime

    from django.utils import timezone

    client, key = client_for(), str(uuid.uuid4())
    body = {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}
    create(client, body, key)
    # The process died after the create committed and before its answer was stored:
    died_at = timezone.now() - datetime.timedelta(seconds=settings.IDEMPOTENCY_ABANDONED_SECONDS + 1)
    IdempotencyRecord.objects.filter(key=key).update(response_status=None, response_body=None, created_at=died_at)
    assert_problem(create(client, {**body, "categories": ["A"]}, key), 422, "idempotency_key_reused")
    retry = create(client, body, key)
    assert_problem(retry, 409, "active_application_exists")  # the state's answer, not a stuck 409 in_use
    assert Application.objects.filter(iin=body["iin"]).count() == 1
    replay = create(client, body, key)
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["code"] == "active_application_exists"


def test_keys_belong_to_their_caller():
    key = str(uuid.uuid4())
    body = {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}
    assert create(client_for(), body, key).status_code == 201
    other = create(client_for(), {**body, "iin": make_iin()}, key)
    assert other.status_code == 201 and "Idempotent-Replayed" not in other


def test_an_error_answer_is_replayed_too():
    client, key = client_for(), str(uuid.uuid4())
    body = {"service": "first_issue", "iin": "871008401428", "categories": ["B"]}
    assert create(client, body, key).status_code == 400
    again = create(client, body, key)
    assert again.status_code == 400 and again["Idempotent-Replayed"] == "true"


# --- read, list, who sees what ------------------------------------------------------------------------------


def test_the_list_is_the_callers_own_filtered_and_cursor_paginated():
    organisation = OrganisationFactory()
    mine = [ApplicationFactory(organisation=organisation) for _ in range(3)]
    ApplicationFactory()  # another organisation's
    client = client_for(organisation)
    body = client.get("/api/v1/applications", {"page_size": 2}).json()
    assert len(body["results"]) == 2 and body["next"]
    rest = client.get(body["next"]).json()
    assert {a["id"] for a in body["results"] + rest["results"]} == {str(a.pk) for a in mine}
    assert rest["next"] is None
    only = client.get("/api/v1/applications", {"iin": mine[0].iin}).json()["results"]
    assert [a["id"] for a in only] == [str(mine[0].pk)]
    assert client.get("/api/v1/applications", {"status": "eligible"}).json()["results"] == []


def test_listing_does_not_query_per_application():
    organisation = OrganisationFactory()
    client = client_for(organisation)
    for _ in range(3):
        ApplicationFactory(organisation=organisation)
    client.get("/api/v1/applications")  # the day's fee is worked out once per process
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/applications")
    for _ in range(10):
        ApplicationFactory(organisation=organisation)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/applications").json()["results"]) == 13
    assert len(many) == len(few)


# --- rights: every endpoint x every kind of caller (applications/rights.py) ---------------------------------

SUBMIT_FORM = {"phone": "+77010000001", "language": "kk", "pickup_tson": "rights-tson"}

# endpoint: (method, path, body). `{id}` is the target application; a create's body depends on the caller.
ENDPOINTS = {
    "list": ("get", "/api/v1/applications", None),
    "create": ("post", "/api/v1/applications", "create"),
    "read": ("get", "/api/v1/applications/{id}", None),
    "confirm": ("post", "/api/v1/applications/{id}/consent", {"code": "123456"}),
    "resend": ("post", "/api/v1/applications/{id}/consent/resend", None),
    "withdraw": ("post", "/api/v1/applications/{id}/consent/withdraw", None),
    "submit": ("post", "/api/v1/applications/{id}/submit", SUBMIT_FORM),
    "cancel": ("post", "/api/v1/applications/{id}/cancel", None),
    "access_log": ("get", "/api/v1/applications/{id}/access-log", None),
    "centres": ("get", "/api/v1/centres", None),
    "sandbox_sms": ("get", "/api/v1/sandbox/sms?phone=%2B77010000001", None),
}

CALLERS = ["anonymous", "citizen_token", "owner", "other_organisation", "tson_operator", "examiner",
           "police_officer", "admin"]

# (endpoint, target) -> the status each caller gets, in the order of CALLERS. The target is the application the
# path names: "channel" (brought in by the owner's organisation) or "branch" (a foreign-licence exchange opened at
# a TSON branch by another operator). A step that reaches the business logic answers as the rules say (a code was
# never sent: 409); a step outside the caller's rights is 404, whatever the application.
RIGHTS = {
    #                          anon  citizen owner other  operator examiner police admin
    ("list", None):            (401, 401,    200,  200,   200,     404,     200,   404),
    ("create", None):          (401, 401,    201,  201,   201,     404,     404,   404),
    ("read", "channel"):       (401, 401,    200,  404,   200,     404,     200,   404),
    ("read", "branch"):        (401, 401,    404,  404,   200,     404,     200,   404),
    ("confirm", "channel"):    (401, 401,    409,  404,   404,     404,     404,   404),
    ("confirm", "branch"):     (401, 401,    404,  404,   409,     404,     404,   404),
    ("resend", "channel"):     (401, 401,    409,  404,   404,     404,     404,   404),
    ("resend", "branch"):      (401, 401,    404,  404,   409,     404,     404,   404),
    ("withdraw", "channel"):   (401, 401,    200,  404,   404,     404,     404,   404),
    ("withdraw", "branch"):    (401, 401,    404,  404,   200,     404,     404,   404),
    ("submit", "channel"):     (401, 401,    409,  404,   404,     404,     404,   404),
    ("submit", "branch"):      (401, 401,    404,  404,   409,     404,     404,   404),
    ("cancel", "channel"):     (401, 401,    200,  404,   404,     404,     404,   404),
    ("cancel", "branch"):      (401, 401,    404,  404,   200,     404,     404,   404),
    ("access_log", "channel"): (401, 401,    200,  404,   404,     404,     404,   404),
    ("access_log", "branch"):  (401, 401,    404,  404,   200,     404,     404,   404),
    ("centres", None):         (200, 200,    200,  200,   200,     200,     200,   200),
    ("sandbox_sms", None):     (200, 200,    200,  200,   200,     200,     200,   200),
}

CHANNEL_KINDS = ["egov_mobile", "tson_mobile", "bank", "driving_school"]

RIGHTS_CASES = [
    pytest.param(endpoint, target, caller, kind, expected[CALLERS.index(caller)],
                 id=f"{endpoint}-{target or 'none'}-{caller}{'-' + kind if caller == 'owner' else ''}")
    for (endpoint, target), expected in RIGHTS.items() for caller in CALLERS
    for kind in (CHANNEL_KINDS if caller == "owner" else ["bank"])
]


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def caller_client(caller: str, organisation) -> APIClient:
    if caller == "anonymous":
        return APIClient()
    if caller == "citizen_token":
        return token_client(StaffFactory(role=Role.CITIZEN))
    if caller == "owner":
        return client_for(organisation)
    if caller == "other_organisation":
        return client_for(OrganisationFactory(channel=organisation.channel))
    return staff_client({"tson_operator": Role.TSON_OPERATOR, "examiner": Role.EXAMINER,
                         "police_officer": Role.POLICE_OFFICER, "admin": Role.ADMIN}[caller])


def create_body(caller: str) -> dict:
    if caller == "tson_operator":
        return {"service": "foreign_exchange", "iin": make_iin(), "categories": ["B"],
                "foreign_licence": {"country": "DE", "number": "X1", "categories": ["B"], "valid_until": "2030-01-01"}}
    return {"service": "first_issue", "iin": make_iin(), "categories": ["B"]}


@pytest.mark.parametrize(("endpoint", "target", "caller", "kind", "expected"), RIGHTS_CASES)
def test_each_role_takes_only_the_steps_the_contract_gives_it(endpoint, target, caller, kind, expected):
    CentreFactory(code="rights-tson")
    organisation = OrganisationFactory(channel=kind)
    applications = {  # opened as the contract says, each consent request made and its code not yet sent
        "channel": Application.objects.get(pk=create(client_for(organisation)).json()["id"]),
        "branch": Application.objects.get(pk=create(staff_client(Role.TSON_OPERATOR), create_body("tson_operator"))
                                          .json()["id"]),
    }
    method, path, body = ENDPOINTS[endpoint]
    target_application = applications.get(target)
    url = path.format(id=target_application.pk if target_application else "")
    body = create_body(caller) if body == "create" else body
    response = getattr(caller_client(caller, organisation), method)(url, body, format="json",
                                                                     HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == expected, response.content
    if expected in (401, 404):
        assert_problem(response, expected, {401: "not_authenticated", 404: "not_found"}[expected])
    if target_application is not None and expected in (401, 404):
        unchanged = Application.objects.select_related("consent").get(pk=target_application.pk)
        assert (unchanged.status, unchanged.consent.state, unchanged.consent.withdrawn_at) == (
            Status.CONSENT_PENDING, "requested", None)


@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.POLICE_OFFICER])
def test_handling_staff_read_any_application_and_the_read_is_logged(role):
    application = ApplicationFactory()
    response = staff_client(role).get(f"/api/v1/applications/{application.pk}")
    assert response.status_code == 200
    entry = application.access_log.get()
    assert (entry.actor_kind, entry.role, entry.purpose) == ("staff", role, "case_handling")


@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.POLICE_OFFICER])
def test_every_application_a_staff_list_shows_is_logged_in_one_insert(role):
    shown = [ApplicationFactory() for _ in range(3)]
    client = staff_client(role)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/v1/applications", {"page_size": 2}).json()
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT") and "personaldataaccess" in q["sql"]]
    assert len(inserts) == 1
    first_page = {a["id"] for a in body["results"]}
    logged = {str(a.pk) for a in shown if a.access_log.filter(actor_kind="staff", role=role).exists()}
    assert logged == first_page and len(first_page) == 2
    client.get(body["next"])
    assert all(a.access_log.filter(actor_kind="staff").count() == 1 for a in shown)


def test_a_channels_list_writes_nothing_to_the_access_log():
    organisation = OrganisationFactory()
    application = ApplicationFactory(organisation=organisation)
    assert client_for(organisation).get("/api/v1/applications").status_code == 200
    assert not application.access_log.exists()


@pytest.mark.parametrize(("query", "field"), [
    ({"page_size": "null"}, "page_size"), ({"page_size": "ten"}, "page_size"), ({"page_size": "0"}, "page_size"),
    ({"page_size": "201"}, "page_size"), ({"page_size": ""}, "page_size"), ({"cursor": "garbage"}, "cursor"),
    ({"status": "approvedish"}, "status"), ({"iin": "12345"}, "iin"),
])
def test_a_list_query_that_is_not_valid_is_400_naming_it(query, field):
    body = assert_problem(client_for().get("/api/v1/applications", query), 400, "validation_error")
    assert field in body["errors"]


def test_page_size_within_bounds_is_honoured():
    organisation = OrganisationFactory()
    for _ in range(3):
        ApplicationFactory(organisation=organisation)
    client = client_for(organisation)
    assert len(client.get("/api/v1/applications", {"page_size": "200"}).json()["results"]) == 3
    assert len(client.get("/api/v1/applications", {"page_size": "1"}).json()["results"]) == 1


def test_a_not_found_does_not_hold_the_key_against_another_application():
    organisation = OrganisationFactory()
    client, key = client_for(organisation), str(uuid.uuid4())
    unseen = ApplicationFactory()  # another organisation's
    mine = ApplicationFactory(organisation=organisation)
    assert_problem(client.post(f"/api/v1/applications/{unseen.pk}/cancel", HTTP_IDEMPOTENCY_KEY=key), 404,
                   "not_found")
    response = client.post(f"/api/v1/applications/{mine.pk}/cancel", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert_problem(client.post(f"/api/v1/applications/{unseen.pk}/cancel", HTTP_IDEMPOTENCY_KEY=key), 422,
                   "idempotency_key_reused")  # once the key has an answer, it is that request's


def test_a_body_for_a_replacement_may_leave_out_the_categories_but_a_first_issue_may_not():
    client = client_for()
    missing = assert_problem(create(client, {"service": "first_issue", "iin": make_iin(), "categories": []}), 400,
                             "missing_field")
    assert "categories" in missing["errors"]
    replacement = create(client, {"service": "replacement", "iin": make_iin(), "replacement_reason": "loss"})
    assert replacement.status_code == 201, replacement.content
    unknown = assert_problem(create(client, {"service": "renewal", "iin": make_iin()}), 400, "validation_error")
    assert "service" in unknown["errors"]


def test_credentials_are_required():
    assert_problem(APIClient().get("/api/v1/applications"), 401, "not_authenticated")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Api-Key nope.nope")
    assert_problem(bad.get("/api/v1/applications"), 401, "not_authenticated")


def test_wrong_method_unknown_url_and_wrong_media_type_are_problems():
    client = client_for()
    assert_problem(client.delete("/api/v1/applications"), 405, "method_not_allowed")
    assert_problem(APIClient().delete("/api/v1/applications"), 401, "not_authenticated")
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")
    response = client.post("/api/v1/applications", "service=first_issue", content_type="text/plain",
                           HTTP_IDEMPOTENCY_KEY="k1")
    assert_problem(response, 415, "unsupported_media_type")
    malformed = client.post("/api/v1/applications", "{not json", content_type="application/json",
                            HTTP_IDEMPOTENCY_KEY="k2")
    assert_problem(malformed, 400, "malformed_request")


@pytest.mark.parametrize(("language", "word"), [("ru", "ИИН"), ("kk", "ЖСН"), ("en", "IIN")])
def test_error_messages_follow_accept_language(language, word):
    response = create(client_for(), {"service": "first_issue", "iin": "123", "categories": ["B"]},
                      HTTP_ACCEPT_LANGUAGE=language)
    assert word in str(response.json()["errors"]["iin"])


# --- submit and cancel --------------------------------------------------------------------------------------


def test_submit_assigns_a_number_and_sends_a_first_licence_to_the_theory_exam():
    organisation = OrganisationFactory()
    application = eligible_application(organisation)
    centre = CentreFactory(code="ast-tson-1")
    response = client_for(organisation).post(
        f"/api/v1/applications/{application.pk}/submit",
        {"phone": "+77010000001", "email": "a@example.kz", "language": "kk", "pickup_tson": centre.code},
        format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "theory_exam"
    assert body["number"].startswith("DL-")
    assert body["pickup_tson"] == "ast-tson-1"


def test_numbers_are_unique_and_increase():
    organisation = OrganisationFactory()
    centre = CentreFactory()
    client = client_for(organisation)
    numbers = []
    for _ in range(3):
        application = eligible_application(organisation)
        numbers.append(client.post(f"/api/v1/applications/{application.pk}/submit",
                                   {"phone": "+77010000001", "language": "ru", "pickup_tson": centre.code},
                                   format="json").json()["number"])
    assert len(set(numbers)) == 3 and numbers == sorted(numbers)


def test_submit_before_the_checks_pass_is_409_wrong_status():
    organisation = OrganisationFactory()
    application = ApplicationFactory(organisation=organisation)
    response = client_for(organisation).post(f"/api/v1/applications/{application.pk}/submit",
                                             {"phone": "+77010000001", "language": "kk",
                                              "pickup_tson": CentreFactory().code}, format="json")
    assert_problem(response, 409, "wrong_status")
    assert Application.objects.get(pk=application.pk).number is None


@pytest.mark.parametrize(
    ("form", "field"),
    [({"phone": "8701", "language": "kk"}, "phone"), ({"phone": "+77010000001", "language": "en"}, "language"),
     ({"phone": "+77010000001", "language": "kk", "pickup_tson": "nowhere"}, "pickup_tson")],
)
def test_submit_validates_the_form(form, field):
    organisation = OrganisationFactory()
    application = eligible_application(organisation)
    form = {"pickup_tson": CentreFactory().code, **form}
    response = client_for(organisation).post(f"/api/v1/applications/{application.pk}/submit", form, format="json")
    body = assert_problem(response, 400, "validation_error")
    assert field in body["errors"]
    assert Application.objects.get(pk=application.pk).status == Status.ELIGIBLE


def test_a_foreign_licence_from_a_country_without_exams_goes_straight_to_formalization():
    ForeignLicenceCountry.objects.create(country="DE", theory_exam_required=False)
    application = ApplicationFactory(service="foreign_exchange", channel="tson_branch", organisation=None,
                                     foreign_licence={"country": "DE", "number": "X", "categories": ["B"],
                                                      "valid_until": "2030-01-01"})
    for step in ("record_consent", "mark_eligible"):
        move_application(application_id=application.pk, transition=step)
    response = staff_client(Role.TSON_OPERATOR).post(
        f"/api/v1/applications/{application.pk}/submit",
        {"phone": "+77010000001", "language": "ru", "pickup_tson": CentreFactory().code}, format="json")
    assert response.json()["status"] == "formalization"


def test_cancel_before_review_and_409_after():
    organisation = OrganisationFactory()
    client = client_for(organisation)
    application = ApplicationFactory(organisation=organisation)
    assert client.post(f"/api/v1/applications/{application.pk}/cancel").json()["status"] == "cancelled"

    reviewed = ApplicationFactory(organisation=organisation, service="replacement", replacement_reason="loss")
    for step in ("record_consent", "mark_eligible"):
        move_application(application_id=reviewed.pk, transition=step)
    Application.objects.filter(pk=reviewed.pk).update(
        number="DL-2026-999999", phone="+77010000001", language="kk", pickup_tson=CentreFactory(),
        fee_paid_at="2026-11-28T10:00:00+05:00", photo_source=PhotoSource.TSON)
    for step in ("submit", "complete_formalization"):
        move_application(application_id=reviewed.pk, transition=step)
    assert_problem(client.post(f"/api/v1/applications/{reviewed.pk}/cancel"), 409, "wrong_status")


# --- public -------------------------------------------------------------------------------------------------


def test_centres_are_public_and_say_what_they_offer():
    CentreFactory(code="a-spec", offers_tson=True, offers_exams=True)
    CentreFactory(code="b-tson", offers_tson=True, offers_exams=False)
    body = APIClient().get("/api/v1/centres").json()
    services = {c["code"]: c["services"] for c in body["results"]}
    assert services["a-spec"] == ["tson", "exams"] and services["b-tson"] == ["tson"]
    assert body["next"] is None


def test_the_schema_is_served_and_is_the_same_in_every_language():
    def served(language):
        response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json",
                                   HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        return response.json()

    schema = served("kk")
    assert schema["openapi"] == "3.1.0" and "/api/v1/applications/{id}/submit" in schema["paths"]
    assert served("ru") == served("en") == schema


def test_a_client_over_its_rate_gets_429_with_retry_after(settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_PER_CLIENT = "3/min"
    client = client_for()
    statuses = [client.get("/api/v1/applications").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/applications")
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    other = client_for()
    assert other.get("/api/v1/applications").status_code == 200  # per client, not global


def test_anonymous_endpoints_are_limited_per_ip(settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_ANONYMOUS = "2/min"
    client = APIClient()
    assert [client.get("/api/v1/centres").status_code for _ in range(3)] == [200, 200, 429]


def test_a_cached_read_never_outlives_a_change():
    organisation = OrganisationFactory()
    client = client_for(organisation)
    application = ApplicationFactory(organisation=organisation)
    url = f"/api/v1/applications/{application.pk}"
    assert client.get(url).json()["status"] == "consent_pending"
    assert client.get(url).json()["status"] == "consent_pending"  # served from the cache
    move_application(application_id=application.pk, transition="cancel")
    assert client.get(url).json()["status"] == "cancelled"


def test_a_copy_made_before_a_change_is_not_served_after_it():
    from applications import representation_cache

    organisation = OrganisationFactory()
    application = ApplicationFactory(organisation=organisation)
    version_read = representation_cache.version(application.pk)
    representation_cache.forget(application.pk)  # a writer commits while the reader was reading
    representation_cache.put(application.pk, "kk", version_read=version_read, organisation_id=organisation.pk,
                             body=b'{"status": "stale"}')
    assert representation_cache.get(application.pk, "kk") is None


def test_cached_reads_keep_the_organisation_rule_and_the_staff_log():
    organisation = OrganisationFactory()
    application = ApplicationFactory(organisation=organisation)
    url = f"/api/v1/applications/{application.pk}"
    assert client_for(organisation).get(url).status_code == 200
    assert_problem(client_for().get(url), 404, "not_found")
    officer = staff_client(Role.POLICE_OFFICER)
    officer.get(url)
    officer.get(url)
    assert application.access_log.filter(actor_kind="staff").count() == 2
