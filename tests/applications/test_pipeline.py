"""Consent and the registry checks end to end, over real HTTP to the live sandbox (tasks in-process)."""

import uuid

import pytest

from applications.models import Application, Check, Consent, PersonalDataAccess, Status
from applications.services import checks as pipeline
from registries.sandbox.models import SandboxConsentRequest
from tests.factories import OrganisationFactory, api_key_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def channel(api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(OrganisationFactory(channel='bank'))}")
    return api_client


def apply(channel, person, *, service="first_issue", categories=("B",), language="en", **extra):
    body = {"service": service, "iin": person["iin"], **extra}
    if categories is not None:
        body["categories"] = list(categories)
    response = channel.post("/api/v1/applications", body, format="json", HTTP_ACCEPT_LANGUAGE=language,
                            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    return response.json()


def consent(channel, sandbox, person, application, *, language="en"):
    code = sandbox.consent_code(person["phone"])
    response = channel.post(f"/api/v1/applications/{application['id']}/consent", {"code": code}, format="json",
                            HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    return channel.get(f"/api/v1/applications/{application['id']}", HTTP_ACCEPT_LANGUAGE=language).json()


def outcomes(application):
    return {check["registry"]: (check["outcome"], check["code"]) for check in application["checks"]}


def test_a_citizen_who_passes_every_check_becomes_eligible_and_is_told_by_sms(channel, sandbox):
    person = sandbox.add()
    application = apply(channel, person)
    assert application["status"] == "consent_pending"
    application = consent(channel, sandbox, person, application)
    assert application["status"] == "eligible"
    assert set(outcomes(application).values()) == {("passed", None)}
    assert [c["registry"] for c in application["checks"]] == [
        "consent", "person", "licence_registry", "erap", "medical", "erdb", "driving_school", "exam_attempts"]
    assert [h["status"] for h in application["history"]] == ["consent_pending", "checks_running", "eligible"]
    assert any("every check passed" in sms["text"] for sms in sandbox.sms_for(person["phone"]))


@pytest.mark.parametrize(
    ("overrides", "service_fields", "code", "failed_registry"),
    [
        ({"birth_date": "2010-05-05"}, {}, "underage", "person"),
        ({"licence": {"number": "KZ123", "categories": ["B"], "issued_on": "2020-01-01", "expires_on": "2030-01-01",
                      "status": "valid"}}, {}, "licence_exists", "licence_registry"),
        ({"exam_ban": {"article": "608-6", "until": "2099-01-01"}}, {}, "exam_ban", "erap"),
        ({"deprivation": {"until": "2099-01-01"}}, {}, "licence_deprived", "erap"),
        ({"medical_073": None}, {}, "medical_certificate_missing", "medical"),
        ({"medical_073": {"valid_until": "2020-01-01", "categories": ["B"]}}, {}, "medical_certificate_missing",
         "medical"),
        ({"erdb": {"narcological": True, "psychiatric": False}}, {}, "medical_registry", "erdb"),
        ({"erdb": {"narcological": False, "psychiatric": True}}, {}, "medical_registry", "erdb"),
        ({"driving_school": []}, {}, "driving_school_certificate_missing", "driving_school"),
        ({}, {"service": "replacement", "replacement_reason": "loss"}, "licence_not_found", "licence_registry"),
    ],
)
def test_each_refusal_code_names_its_step(channel, sandbox, overrides, service_fields, code, failed_registry):
    person = sandbox.add(**overrides)
    application = apply(channel, person, **service_fields)
    application = consent(channel, sandbox, person, application)
    assert application["status"] == "refused"
    assert application["refusal"]["code"] == code
    assert outcomes(application)[failed_registry] == ("failed", code)
    assert "Step " in application["refusal"]["message"]
    assert "What you can do" in application["refusal"]["message"]


def test_a_lapsed_exam_ban_does_not_count(channel, sandbox):
    person = sandbox.add(exam_ban={"article": "613-9", "until": "2024-01-01"})
    assert consent(channel, sandbox, person, apply(channel, person))["status"] == "eligible"


def test_the_first_failed_step_in_the_algorithms_order_refuses_and_every_failure_shows(channel, sandbox):
    person = sandbox.add(medical_073=None, erdb={"narcological": True, "psychiatric": False}, driving_school=[])
    application = consent(channel, sandbox, person, apply(channel, person))
    assert application["refusal"]["code"] == "medical_certificate_missing"
    checks = outcomes(application)
    assert checks["medical"] == ("failed", "medical_certificate_missing")
    assert checks["erdb"] == ("failed", "medical_registry")
    assert checks["driving_school"] == ("failed", "driving_school_certificate_missing")


def test_health_registries_are_not_asked_about_someone_refused_in_phase_one(channel, sandbox):
    person = sandbox.add(exam_ban={"article": "608-7", "until": "2099-01-01"}, medical_073=None)
    application = consent(channel, sandbox, person, apply(channel, person))
    assert application["refusal"]["code"] == "exam_ban"
    checks = outcomes(application)
    assert {checks[r] for r in ("medical", "erdb", "driving_school", "exam_attempts")} == {("pending", None)}
    asked = {entry["registry"] for entry in sandbox.requests_for(person["iin"])}
    assert not asked & {"medical", "erdb", "driving_school", "exam_attempts"}


def test_nothing_but_consent_is_asked_before_consent_is_recorded(channel, sandbox):
    person = sandbox.add()
    application = apply(channel, person)
    sandbox.consent_code(person["phone"])  # the code has gone out: the consent service was asked
    assert {entry["registry"] for entry in sandbox.requests_for(person["iin"])} == {"consent"}
    log = PersonalDataAccess.objects.filter(application_id=application["id"])
    assert set(log.values_list("registry", flat=True)) == {"consent"}

    consent(channel, sandbox, person, application)
    after = sandbox.requests_for(person["iin"])
    consent_at = max(e["at"] for e in after if e["registry"] == "consent")
    assert all(e["at"] >= consent_at for e in after if e["registry"] not in ("consent", "sms"))
    assert {e["registry"] for e in after} >= {"person", "licence_registry", "erap", "medical"}


def test_an_unknown_iin_is_refused_within_seconds_without_a_code(channel, sandbox):
    from tests.factories import make_iin

    application = apply(channel, {"iin": make_iin()})
    application = channel.get(f"/api/v1/applications/{application['id']}").json()
    assert application["status"] == "refused"
    assert application["refusal"]["code"] == "person_not_found"
    assert outcomes(application)["consent"] == ("failed", "person_not_found")
    assert outcomes(application)["person"] == ("pending", None)


def test_the_citizen_gets_one_code_when_the_queued_task_and_the_sweep_both_ask(channel, sandbox, settings,
                                                                                 monkeypatch):
    import datetime

    from django.utils import timezone

    from applications import services

    monkeypatch.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)  # still queued
    person = sandbox.add()
    application = Application.objects.get(pk=apply(channel, person)["id"])
    Consent.objects.filter(application=application).update(asked_at=timezone.now())  # a worker is asking now
    assert services.request_consent(application_id=application.pk) == "skipped"  # the sweep's task
    assert not SandboxConsentRequest.objects.filter(iin=person["iin"]).exists()
    assert sandbox.sms_for(person["phone"]) == []

    stale = timezone.now() - datetime.timedelta(seconds=settings.CONSENT_REQUEST_LEASE_SECONDS + 1)
    Consent.objects.filter(application=application).update(asked_at=stale)  # that worker died mid-request
    assert services.request_consent(application_id=application.pk) == "code_sent"
    assert services.request_consent(application_id=application.pk) == "skipped"  # a redelivery
    assert SandboxConsentRequest.objects.filter(iin=person["iin"]).count() == 1
    assert len(sandbox.sms_for(person["phone"])) == 1


def test_with_the_broker_down_the_application_is_still_opened_and_the_sweep_asks(channel, sandbox):
    import datetime

    from django.utils import timezone
    from kombu.exceptions import OperationalError

    from applications.tasks import request_consent, sweep

    def broker_down(*args, **kwargs):
        raise OperationalError("broker down")

    person = sandbox.add()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(request_consent, "apply_async", broker_down)
        application = apply(channel, person)
    assert Consent.objects.get(application_id=application["id"]).state == Consent.State.REQUESTED
    Application.objects.filter(pk=application["id"]).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    assert sweep.apply().get()["consent_requests"] == 1
    assert Consent.objects.get(application_id=application["id"]).state == Consent.State.CODE_SENT
    assert consent(channel, sandbox, person, application)["status"] == "eligible"


def test_a_declined_consent_refuses_as_soon_as_the_decline_arrives(channel, sandbox):
    from tests.sandbox import wait_for

    person = sandbox.add(consent="deny")
    application = apply(channel, person)
    refused = wait_for(lambda: Application.objects.filter(pk=application["id"], status=Status.REFUSED).first(),
                       timeout=10, message="the decline")
    assert refused.refusal_code == "consent_failed"
    assert Consent.objects.get(application=refused).state == Consent.State.DECLINED
    assert sandbox.sms_for(person["phone"]) == [] or all(
        "code" not in sms["text"].lower() for sms in sandbox.sms_for(person["phone"])[1:])


def test_a_replayed_or_forged_decline_changes_nothing(channel, sandbox, live_server):
    import httpx

    person = sandbox.add()
    application = apply(channel, person)
    request_id = Consent.objects.get(application_id=application["id"]).request_id
    forged = httpx.post(f"{live_server.url}/api/v1/callbacks/consent",
                        json={"request_id": request_id, "status": "declined"},
                        headers={"X-Signature": "sha256=" + "0" * 64})
    assert forged.status_code == 401
    assert Application.objects.get(pk=application["id"]).status == Status.CONSENT_PENDING


def test_wrong_codes_count_down_and_the_fifth_refuses(channel, sandbox):
    person = sandbox.add()
    application = apply(channel, person)
    code = sandbox.consent_code(person["phone"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    url = f"/api/v1/applications/{application['id']}/consent"
    lefts = []
    for _ in range(5):
        response = channel.post(url, {"code": wrong}, format="json")
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "invalid_consent_code"
        lefts.append(response.json()["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0]
    application = channel.get(f"/api/v1/applications/{application['id']}").json()
    assert application["status"] == "refused"
    assert application["refusal"]["code"] == "consent_failed"
    assert channel.post(url, {"code": code}, format="json").status_code == 409


def test_an_expired_code_is_refused_and_a_resent_one_works(channel, sandbox, settings):
    from django.utils import timezone

    settings.CONSENT_RESEND_INTERVAL_SECONDS = 0
    person = sandbox.add()
    application = apply(channel, person)
    old_code = sandbox.consent_code(person["phone"])
    SandboxConsentRequest.objects.filter(iin=person["iin"]).update(
        code_expires_at=timezone.now() - timezone.timedelta(seconds=1))
    url = f"/api/v1/applications/{application['id']}/consent"
    response = channel.post(url, {"code": old_code}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "consent_code_expired")

    assert channel.post(f"{url}/resend").status_code == 202
    from tests.sandbox import wait_for

    new_code = wait_for(lambda: next((c for c in [sandbox.consent_code(person["phone"])] if c != old_code), None),
                        message="a new code")
    assert channel.post(url, {"code": old_code}, format="json").json()["code"] == "invalid_consent_code"
    assert channel.post(url, {"code": new_code}, format="json").json()["status"] == "eligible"


def test_resend_is_rate_limited(channel, sandbox, settings):
    settings.CONSENT_RESEND_INTERVAL_SECONDS = 60
    person = sandbox.add()
    application = apply(channel, person)
    sandbox.consent_code(person["phone"])
    response = channel.post(f"/api/v1/applications/{application['id']}/consent/resend")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_a_double_click_on_the_code_records_consent_once(channel, sandbox):
    person = sandbox.add()
    application = apply(channel, person)
    code = sandbox.consent_code(person["phone"])
    url = f"/api/v1/applications/{application['id']}/consent"
    first = channel.post(url, {"code": code}, format="json")
    second = channel.post(url, {"code": code}, format="json")
    assert first.status_code == second.status_code == 200
    history = [h["status"] for h in second.json()["history"]]
    assert history.count("checks_running") == 1


def test_withdrawing_consent_before_the_checks_cancels_and_stops_every_request(channel, sandbox):
    person = sandbox.add()
    application = apply(channel, person)
    sandbox.consent_code(person["phone"])
    response = channel.post(f"/api/v1/applications/{application['id']}/consent/withdraw")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert {e["registry"] for e in sandbox.requests_for(person["iin"])} == {"consent"}


def test_a_withdrawn_consent_stops_the_pipeline_and_the_registries_refuse_it(channel, sandbox):
    import httpx

    person = sandbox.add(faults={"medical": "error"})
    application = consent(channel, sandbox, person, apply(channel, person))
    assert application["status"] == "checks_running"
    channel.post(f"/api/v1/applications/{application['id']}/consent/withdraw")
    asked_before = len(sandbox.requests_for(person["iin"]))
    assert pipeline.run_checks(application["id"]) == pipeline.SKIPPED
    asked_after = sandbox.requests_for(person["iin"])
    assert [e for e in asked_after[asked_before:] if e["registry"] not in ("consent", "sms")] == []
    request_id = Consent.objects.get(application_id=application["id"]).request_id
    answer = httpx.post(f"{sandbox.base_url}/sandbox/registries/person/query",
                        json={"iin": person["iin"], "consent_request": request_id, "purpose": "x"})
    assert answer.status_code == 403


@pytest.mark.parametrize("fault", ["error", "timeout", "garbage"])
@pytest.mark.parametrize("registry", ["erap", "medical"])
def test_an_outage_never_passes_nor_refuses_and_is_retried_until_answered(channel, sandbox, fault, registry):
    person = sandbox.add(faults={registry: fault})
    application = consent(channel, sandbox, person, apply(channel, person))
    assert application["status"] == "checks_running"
    assert outcomes(application)[registry] == ("error", None)
    assert application["refusal"] is None
    check = Check.objects.get(application_id=application["id"], registry=registry)
    assert check.error_reason

    sandbox.update(person, faults={})
    assert pipeline.run_checks(application["id"]) == pipeline.ELIGIBLE
    assert Check.objects.get(pk=check.pk).outcome == Check.Outcome.PASSED


@pytest.mark.parametrize("registry", ["erap", "medical"])
def test_a_flaky_registry_is_answered_through_retries(channel, sandbox, registry):
    person = sandbox.add(faults={registry: "flaky"})
    application = consent(channel, sandbox, person, apply(channel, person))
    assert application["status"] == "eligible"
    flaky_calls = [e for e in sandbox.requests_for(person["iin"]) if e["registry"] == registry]
    assert len(flaky_calls) == 3


def test_a_replacement_for_loss_asks_only_phase_one_and_takes_the_licences_categories(channel, sandbox):
    licence = {"number": "KZ 00 123456", "categories": ["B", "C"], "issued_on": "2018-01-01",
               "expires_on": "2028-01-01", "status": "valid"}
    person = sandbox.add(licence=licence)
    application = apply(channel, person, service="replacement", categories=None, replacement_reason="loss")
    assert [c["registry"] for c in application["checks"]] == ["consent", "person", "licence_registry", "erap"]
    application = consent(channel, sandbox, person, application)
    assert application["status"] == "eligible"
    assert application["categories"] == ["B", "C"]


def test_a_replacement_by_expiry_needs_a_medical_certificate(channel, sandbox):
    licence = {"number": "KZ 00 654321", "categories": ["B"], "issued_on": "2014-01-01",
               "expires_on": "2024-01-01", "status": "expired"}
    person = sandbox.add(licence=licence, medical_073=None)
    application = apply(channel, person, service="replacement", categories=None, replacement_reason="expiry")
    assert "medical" in [c["registry"] for c in application["checks"]]
    application = consent(channel, sandbox, person, application)
    assert application["refusal"]["code"] == "medical_certificate_missing"


@pytest.mark.parametrize(
    ("language", "words"),
    [("ru", "Шаг 7"), ("kk", "7-қадам"), ("en", "Step 7")],
)
def test_the_refusal_is_in_the_requests_language(channel, sandbox, language, words):
    person = sandbox.add(medical_073=None)
    application = consent(channel, sandbox, person, apply(channel, person, language=language), language=language)
    assert words in application["refusal"]["message"]


def test_the_access_log_shows_every_registry_request_oldest_first(channel, sandbox):
    person = sandbox.add()
    application = consent(channel, sandbox, person, apply(channel, person))
    entries = channel.get(f"/api/v1/applications/{application['id']}/access-log").json()["results"]
    registries = [e["registry"] for e in entries if e["actor"]["kind"] == "registry"]
    assert registries[0] == "consent"
    assert set(registries) >= {"person", "licence_registry", "erap", "medical", "erdb", "driving_school",
                               "exam_attempts"}
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    assert all(e["purpose"] and e["what"] for e in entries)


def test_checks_keep_no_record_content(channel, sandbox):
    person = sandbox.add()
    application = consent(channel, sandbox, person, apply(channel, person))
    facts = {c.registry: c.facts for c in Check.objects.filter(application_id=application["id"])}
    assert "birth_date" not in facts["person"]
    assert set(facts["medical"]) <= {"valid_until"}
    assert facts["erdb"] == {}


@pytest.mark.parametrize(("language", "words"), [("en", "your application number is"), ("ru", "номер")])
def test_the_application_number_reaches_the_citizen_by_sms(channel, sandbox, language, words):
    from tests.factories import CentreFactory

    person = sandbox.add()
    application = consent(channel, sandbox, person, apply(channel, person, language=language), language=language)
    assert application["status"] == "eligible"
    response = channel.post(f"/api/v1/applications/{application['id']}/submit",
                            {"phone": person["phone"], "language": "kk", "pickup_tson": CentreFactory().code},
                            format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 200, response.content
    number = response.json()["number"]
    notices = [sms["text"] for sms in sandbox.sms_for(person["phone"]) if number in sms["text"]]
    assert len(notices) == 1
    assert words in notices[0].lower()


def _rechecked(application_id) -> None:
    """Every check but consent's back to pending, as just after consent (to run the whole pipeline again)."""
    Check.objects.filter(application_id=application_id).exclude(registry="consent").update(
        outcome=Check.Outcome.PENDING, code="", error_reason="", facts={}, attempts=0, checked_at=None)


def test_a_whole_run_takes_at_most_sixteen_statements_and_logs_every_request(channel, sandbox, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from applications.services import notices

    monkeypatch.setattr(notices, "notify_on_commit", lambda *args: None)  # the notice is a task of its own
    person = sandbox.add(faults={"erap": "error"})
    application = consent(channel, sandbox, person, apply(channel, person))
    assert application["status"] == "checks_running"
    sandbox.update(person, faults={})
    _rechecked(application["id"])
    logged = PersonalDataAccess.objects.filter(application_id=application["id"]).count()
    with CaptureQueriesContext(connection) as statements:
        assert pipeline.run_checks(application["id"]) == pipeline.ELIGIBLE
    # The live sandbox may share the connection (SQLite in memory): its own statements are not the pipeline's.
    own = [query["sql"] for query in statements.captured_queries if "registries_sandbox" not in query["sql"]]
    assert len(own) <= 16, "\n".join(own)  # BEGIN, COMMIT included (the move takes no savepoint); a batch counts once
    assert PersonalDataAccess.objects.filter(application_id=application["id"]).count() == logged + 7
    checks = Check.objects.filter(application_id=application["id"])
    assert {check.outcome for check in checks} == {Check.Outcome.PASSED}
    assert all(check.attempts >= 1 and check.checked_at for check in checks.exclude(registry="consent"))


def test_consent_withdrawn_while_phase_one_is_asked_stops_before_phase_two(channel, sandbox, monkeypatch):
    from applications import services

    person = sandbox.add(faults={"erap": "error"})
    application = consent(channel, sandbox, person, apply(channel, person))
    sandbox.update(person, faults={})
    _rechecked(application["id"])
    asked, real_ask = [], pipeline.ask

    def ask_then_withdraw(registries, query):
        asked.append(list(registries))
        answers = real_ask(registries, query)
        services.withdraw_consent(application=Application.objects.get(pk=application["id"]), actor=None)
        return answers

    monkeypatch.setattr(pipeline, "ask", ask_then_withdraw)
    assert pipeline.run_checks(application["id"]) == pipeline.SKIPPED
    assert asked == [["person", "licence_registry", "erap"]]
    assert Application.objects.get(pk=application["id"]).status == Status.CANCELLED
