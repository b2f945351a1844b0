"""Each of the three services from the first request to the card in hand (`issued`), through the API only, on
PostgreSQL with a real Celery worker on Redis and the registries played by the live sandbox; each journey ends with
the access log that the channel following the application reads. Then the verify endpoint following a licence's
status: valid, superseded by a reprint, replaced by a replacement handed over, expired, revoked.

The first licence reuses the approval journey of test_journey_to_approval (creation to `approved`) and goes on to
printing and the hand-over; a replacement runs fully online (the registry's photo, no exams); a foreign-licence
exchange is taken at a TSON desk by an operator."""

import datetime
import re
import uuid

import httpx
import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from applications.models import Application, Check, Consent, ForeignLicenceCountry, Licence, Registry
from registries.sandbox.models import SandboxLicence
from tests.applications.test_journey_to_approval import (
    CHECK_REGISTRIES,
    WORKER_DEADLINE,
    access_log,
    client_with,
    journey_to_approval,
    jpeg,
    ok,
    post,
    read,
    staff,
    wait_for_status,
)
from tests.factories import CentreFactory, OrganisationFactory, api_key_for
from tests.sandbox import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The checks each service runs (the contract's check table): a replacement for a loss skips the medical ones.
REPLACEMENT_REGISTRIES = ("consent", "person", "licence_registry", "erap")
FOREIGN_EXCHANGE_REGISTRIES = ("consent", "person", "licence_registry", "erap", "medical", "erdb", "exam_attempts")


class AccessLogIncomplete(AssertionError):
    """The access log lacks a read of the print or photo step, or a registry request of printing or hand-over."""


# --- steps shared by the journeys ------------------------------------------------------------------------------


def pickup_centre() -> str:
    return CentreFactory(code="journeys-tson", name="Journeys TSON", address="Астана, Тест көшесі 4",
                         offers_exams=False, offers_tson=True).code


def bank_client() -> APIClient:
    return client_with(f"Api-Key {api_key_for(OrganisationFactory(channel='bank'))}")


def verify(code: str) -> dict:
    """The public verify endpoint, as anyone scanning the card's QR asks it (no credentials)."""
    return ok(APIClient().get("/api/v1/licences/verify", {"code": code}))


class CodeSentSandbox:
    """The test's sandbox for journey_to_approval, whose consent code is handed over only once the application
    knows it was sent: the sandbox's SMS can arrive a moment before the worker records it, and a code confirmed in
    that moment answers `409 wrong_status` ("not sent yet"), as a citizen never could type it."""

    def __init__(self, sandbox):
        self._sandbox, self._iins = sandbox, {}

    def __getattr__(self, name):
        return getattr(self._sandbox, name)

    def add(self, **overrides) -> dict:
        person = self._sandbox.add(**overrides)
        self._iins[person["phone"]] = person["iin"]
        return person

    def consent_code(self, phone: str, *, wait: float = 10) -> str:
        code = self._sandbox.consent_code(phone, wait=wait)
        wait_for(lambda: Consent.objects.filter(application__iin=self._iins[phone],
                                                application__status="consent_pending")
                 .exclude(state=Consent.State.REQUESTED).exists(),
                 timeout=wait, interval=0.05, message="the application to know that the consent code was sent")
        return code


# A consent code: the only 6-digit number of its SMS. Not one inside an application number (`DL-2026-000123`) or a
# receipt: the person of a second application has the notices of the first on the same phone.
CONSENT_CODE = re.compile(r"(?<![\d-])(\d{6})(?![\d-])")


def consent_and_checks(sandbox, channel: APIClient, created: dict, person: dict,
                       registries: tuple[str, ...]) -> dict:
    """The citizen's code from the SMS outbox confirms consent; the worker runs the checks, all of which pass."""
    application_id = created["id"]
    # Once the application knows that the code went out (till then, `409`), the SMS is in the outbox.
    wait_for(lambda: read(channel, application_id)["consent"]["state"] != "requested", timeout=WORKER_DEADLINE,
             interval=0.05, message="the consent code to be sent")
    since = datetime.datetime.fromisoformat(created["created_at"])
    codes = [found.group(1) for message in sandbox.sms_for(person["phone"])
             if datetime.datetime.fromisoformat(message["sent_at"]) >= since
             and (found := CONSENT_CODE.search(message["text"]))]
    assert codes, sandbox.sms_for(person["phone"])
    consented = post(channel, f"/api/v1/applications/{application_id}/consent", {"code": codes[0]})  # newest
    assert consented["status"] in ("checks_running", "eligible")
    eligible = wait_for_status(channel, application_id, "eligible")
    assert {check["registry"]: check["outcome"] for check in eligible["checks"]} == dict.fromkeys(registries,
                                                                                                   "passed")
    return eligible


def review_and_approve(police: APIClient, application_id: str) -> dict:
    queue = ok(police.get("/api/v1/review-queue"))
    assert application_id in [listed["id"] for listed in queue["results"]]
    post(police, f"/api/v1/applications/{application_id}/claim")
    decided = post(police, f"/api/v1/applications/{application_id}/decision", {"decision": "approve"})
    assert decided["status"] == "approved"
    return decided


def print_card(police: APIClient, channel: APIClient, application_id: str, categories: list[str]) -> dict:
    """The police print the approved application's card; the channel then reads the licence on the Application."""
    printed = post(police, f"/api/v1/applications/{application_id}/print")
    assert printed["status"] == "printed"
    licence = read(channel, application_id)["licence"]
    assert licence == printed["licence"]
    assert licence["number"] and licence["verification_code"]
    assert licence["categories"] == categories
    assert licence["status"] == "valid"
    issued_on = datetime.date.fromisoformat(licence["issued_on"])
    assert issued_on == timezone.localdate()
    assert datetime.date.fromisoformat(licence["expires_on"]) > issued_on
    answer = verify(licence["verification_code"])
    assert (answer["valid"], answer["status"], answer["number"]) == (True, "valid", licence["number"])
    assert answer["categories"] == categories
    return licence


def hand_over(operator: APIClient, channel: APIClient, application_id: str) -> dict:
    """At the pickup TSON: the operator finds the application (a logged read), checks the identity document and
    hands the card over."""
    assert ok(operator.get(f"/api/v1/applications/{application_id}"))["status"] == "printed"
    issued = post(operator, f"/api/v1/applications/{application_id}/issue", {"identity_checked": True})
    assert issued["status"] == "issued"
    final = read(channel, application_id)
    assert final["status"] == "issued"
    assert [change["status"] for change in final["history"][-3:]] == ["approved", "printed", "issued"]
    return final


def recorded_in_licence_registry(number: str) -> SandboxLicence:
    """The worker tells the licence registry of the licence handed over (the sandbox keeps what it was told)."""
    return wait_for(lambda: SandboxLicence.objects.filter(number=number).first(), timeout=WORKER_DEADLINE,
                    interval=0.1, message=f"the licence registry to record {number}")


def at(entry_or_change: dict) -> datetime.datetime:
    return datetime.datetime.fromisoformat(entry_or_change["at"])


def entered(application: dict, status: str) -> datetime.datetime:
    return next(at(change) for change in application["history"] if change["status"] == status)


def assert_access_log(reader: APIClient, application: dict, *, check_registries: tuple[str, ...],
                      operator_reads_before_photo: int | None) -> list[dict]:
    """What the channel following the application reads at the end: every registry request (the checks, the SMS,
    the person registry asked for the card's fields at printing, the licence registry told of the licence handed
    over), and each staff read: the police's (the queue, the claim, printing), the operator's (the photo taken at the
    desk, the hand-over). `operator_reads_before_photo`: how often the operator read the application at the desk
    while it waited for the photo (None: no photo taken at a desk)."""
    application_id = application["id"]
    recorded_in_licence_registry(application["licence"]["number"])  # the worker's report is done
    entries = access_log(reader, application_id)
    assert entries
    assert [entry["at"] for entry in entries] == sorted(entry["at"] for entry in entries)
    assert all(entry["purpose"] and entry["what"] for entry in entries)
    approved_at, printed_at, issued_at = (entered(application, status) for status in ("approved", "printed",
                                                                                        "issued"))

    registry_requests = [entry for entry in entries if entry["actor"]["kind"] == "registry"]
    assert {entry["registry"] for entry in registry_requests} >= {*check_registries, "sms"}
    staff_reads = [entry for entry in entries if entry["actor"]["kind"] == "staff"]
    assert {entry["actor"]["role"] for entry in staff_reads} == {"tson_operator", "police_officer"}
    assert all(entry["purpose"] == "Handling the application" for entry in staff_reads)
    police = [entry for entry in staff_reads if entry["actor"]["role"] == "police_officer"]
    operator = [entry for entry in staff_reads if entry["actor"]["role"] == "tson_operator"]
    assert len([entry for entry in police if at(entry) <= approved_at]) >= 2  # the queue, the claim
    assert any(printed_at <= at(entry) <= issued_at for entry in operator)  # found at the desk for the hand-over

    # The photo and print steps' reads, and the registry requests of printing and the hand-over: each one missing
    # is named.
    missing = []
    if operator_reads_before_photo is not None:
        # The photo upload answers the whole application to the operator: a read of it, beside any GET before it.
        formalization_at, review_at = entered(application, "formalization"), entered(application, "under_review")
        if len([entry for entry in operator if formalization_at <= at(entry) <= review_at]) \
                <= operator_reads_before_photo:
            missing.append("the operator's photo upload, which answers the application")
    # Printing: the card's fields (names, birth, residence) come from the person registry, a request about the
    # citizen like the checks'.
    if not any(entry["registry"] == "person" and approved_at <= at(entry) <= printed_at
               for entry in registry_requests):
        missing.append("the person registry asked for the card's fields at printing")
    # Printing answers the whole application (and its licence) to the officer: a read of it, like the claim.
    if not any(approved_at <= at(entry) <= printed_at for entry in police):
        missing.append("the officer's print, which answers the application")
    # The hand-over: the licence registry told of the new licence (with the IIN), as exam results are reported.
    if not any(entry["registry"] == "licence_registry" and at(entry) >= issued_at for entry in registry_requests):
        missing.append("the licence registry told of the licence handed over")
    if missing:
        raise AccessLogIncomplete(missing, [(entry["at"], entry["actor"]["kind"], entry["actor"]["role"],
                                             entry["registry"], entry["purpose"]) for entry in entries])
    return entries


# --- the journeys -----------------------------------------------------------------------------------------------


def first_licence_to_issued(sandbox) -> tuple[dict, dict, APIClient]:
    """A bank's first licence, creation to `issued`: the approval journey, printing, the hand-over. Returns the
    person, the final application and the bank."""
    journey = journey_to_approval(CodeSentSandbox(sandbox))
    bank, application_id = journey.bank, journey.application["id"]
    police, _officer = staff(Role.POLICE_OFFICER)
    operator, _operator_user = staff(Role.TSON_OPERATOR)
    licence = print_card(police, bank, application_id, ["B"])
    final = hand_over(operator, bank, application_id)
    assert final["licence"] == licence  # still valid, the same card
    assert final["service"] == "first_issue"
    return journey.person, final, bank


def test_a_first_licence_goes_through_the_api_from_creation_to_issued(sandbox, celery_worker, live_server):
    person, final, bank = first_licence_to_issued(sandbox)
    assert [change["status"] for change in final["history"]] == [
        "consent_pending", "checks_running", "eligible", "theory_exam", "practical_exam", "formalization",
        "under_review", "approved", "printed", "issued"]
    assert final["photo"] == {"captured": True, "source": "tson"}
    licence = final["licence"]
    assert Licence.objects.get(number=licence["number"]).iin == person["iin"]
    # The licence registry now knows the licence (no replacement: it replaces nothing).
    assert recorded_in_licence_registry(licence["number"]).replaces == ""
    assert verify(licence["verification_code"])["valid"] is True

    assert_access_log(bank, final, check_registries=CHECK_REGISTRIES,
                      operator_reads_before_photo=1)  # the approval journey finds it, then takes the photo


def replacement_to_printed(sandbox, bank: APIClient, person: dict, *, pickup_tson: str) -> tuple[str, dict]:
    """A replacement for a loss with no categories named, fully online: checks, submit (the registry's photo), the
    fee online, straight to review, approval, printing. Its id and the new licence."""
    police, _officer = staff(Role.POLICE_OFFICER)
    created = post(bank, "/api/v1/applications", {"service": "replacement", "iin": person["iin"],
                                                  "replacement_reason": "loss"}, status=201)
    application_id = created["id"]
    assert (created["status"], created["service"], created["replacement_reason"]) == (
        "consent_pending", "replacement", "loss")
    assert created["exams"] is None
    eligible = consent_and_checks(sandbox, bank, created, person, REPLACEMENT_REGISTRIES)
    held = person["licence"]["categories"] if person["licence"] else None
    if held is not None:
        assert eligible["categories"] == held  # none named: those of the licence held

    submitted = post(bank, f"/api/v1/applications/{application_id}/submit",
                     {"phone": person["phone"], "language": "kk", "pickup_tson": pickup_tson})
    assert submitted["status"] == "formalization"  # no exams
    assert submitted["number"]
    assert submitted["photo"] == {"captured": True, "source": "registry"}
    assert submitted["exams"] is None

    payment = post(bank, f"/api/v1/applications/{application_id}/payments", status=201)
    paid = httpx.post(payment["pay_url"], json={"outcome": "success"}, timeout=15)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    in_review = read(bank, application_id)
    assert in_review["status"] == "under_review"  # paid, with the registry's photo: straight to the police
    assert in_review["fee"]["paid"] is True

    review_and_approve(police, application_id)
    return application_id, print_card(police, bank, application_id, eligible["categories"])


def replacement_to_issued(sandbox, bank: APIClient, person: dict, *, pickup_tson: str) -> dict:
    """The replacement printed, then handed over at the pickup TSON."""
    application_id, _licence = replacement_to_printed(sandbox, bank, person, pickup_tson=pickup_tson)
    operator, _operator_user = staff(Role.TSON_OPERATOR)
    final = hand_over(operator, bank, application_id)
    assert [change["status"] for change in final["history"]] == [
        "consent_pending", "checks_running", "eligible", "formalization", "under_review", "approved", "printed",
        "issued"]
    return final


def test_a_replacement_runs_fully_online_to_issued_and_the_registry_then_knows_the_new_licence(
        sandbox, celery_worker, live_server):
    old_number = f"KZ{uuid.uuid4().int % 10**9:09d}"
    person = sandbox.add(photo="photo.jpg", licence={
        "number": old_number, "categories": ["A", "B"], "issued_on": "2018-03-01", "expires_on": "2028-02-29",
        "status": "valid"})
    bank = bank_client()
    final = replacement_to_issued(sandbox, bank, person, pickup_tson=pickup_centre())
    licence = final["licence"]
    assert licence["categories"] == ["A", "B"]
    assert licence["number"] != old_number
    assert verify(licence["verification_code"]) == {
        "valid": True, "status": "valid", "number": licence["number"], "categories": ["A", "B"],
        "expires_on": licence["expires_on"], "holder": {"surname": person["surname"], "initials": "Т.Т."}}
    assert Licence.objects.get(number=licence["number"]).replaces_number == old_number

    # The old licence was the registry's, not ours (no code of ours for it): the licence registry is told that the
    # new licence replaces it, so that a second replacement for the same person finds the new number.
    recorded = recorded_in_licence_registry(licence["number"])
    assert (recorded.iin, recorded.replaces) == (person["iin"], old_number)
    second = post(bank, "/api/v1/applications", {"service": "replacement", "iin": person["iin"],
                                                 "replacement_reason": "damage"}, status=201)
    consent_and_checks(sandbox, bank, second, person, REPLACEMENT_REGISTRIES)
    facts = Check.objects.get(application_id=second["id"], registry=Registry.LICENCE_REGISTRY).facts
    assert (facts["number"], facts["categories"], facts["status"]) == (licence["number"], ["A", "B"], "valid")
    assert post(bank, f"/api/v1/applications/{second['id']}/cancel")["status"] == "cancelled"

    assert_access_log(bank, final, check_registries=REPLACEMENT_REGISTRIES,
                      operator_reads_before_photo=None)  # the registry's photo


def test_a_foreign_licence_is_exchanged_at_the_desk_from_creation_to_issued(sandbox, celery_worker, live_server):
    ForeignLicenceCountry.objects.update_or_create(country="DE", defaults={"theory_exam_required": False})
    person = sandbox.add()
    operator, _operator_user = staff(Role.TSON_OPERATOR)
    police, _officer = staff(Role.POLICE_OFFICER)
    pickup_tson = pickup_centre()
    foreign_licence = {"country": "DE", "number": "B072RRE2I55", "categories": ["B"], "valid_until": "2031-05-01"}

    created = post(operator, "/api/v1/applications", {"service": "foreign_exchange", "iin": person["iin"],
                                                      "categories": ["B"], "foreign_licence": foreign_licence},
                   status=201)
    application_id = created["id"]
    assert (created["status"], created["channel"], created["service"]) == (
        "consent_pending", "tson_branch", "foreign_exchange")
    assert created["foreign_licence"] == foreign_licence
    # The citizen reads out the code that reached their phone; the operator enters it.
    consent_and_checks(sandbox, operator, created, person, FOREIGN_EXCHANGE_REGISTRIES)

    submitted = post(operator, f"/api/v1/applications/{application_id}/submit",
                     {"phone": person["phone"], "language": "ru", "pickup_tson": pickup_tson})
    assert submitted["status"] == "formalization"  # Germany: no theory exam
    assert submitted["number"]
    assert submitted["photo"] == {"captured": False, "source": None}

    # The fee at the desk, then the photo: on to the police by itself.
    paid = post(operator, f"/api/v1/applications/{application_id}/payments/desk", {"receipt": "TSON-2026-000417"})
    assert paid["status"] == "paid"
    with_photo = ok(operator.put(f"/api/v1/applications/{application_id}/photo", {"photo": jpeg()},
                                 format="multipart"))
    assert with_photo["photo"] == {"captured": True, "source": "tson"}
    assert with_photo["status"] == "under_review"

    review_and_approve(police, application_id)
    print_card(police, operator, application_id, ["B"])
    final = hand_over(operator, operator, application_id)
    assert [change["status"] for change in final["history"]] == [
        "consent_pending", "checks_running", "eligible", "formalization", "under_review", "approved", "printed",
        "issued"]
    assert final["foreign_licence"] == foreign_licence
    assert recorded_in_licence_registry(final["licence"]["number"]).iin == person["iin"]

    # The operator follows a TSON branch's application as its channel: it reads the access log.
    assert_access_log(operator, final, check_registries=FOREIGN_EXCHANGE_REGISTRIES,
                      operator_reads_before_photo=0)


# --- the verify endpoint follows the licence ------------------------------------------------------------------


def first_licence_printed(sandbox) -> tuple[dict, str, APIClient, dict]:
    """A bank's first licence to `printed`: the person, the application's id, the bank, the licence."""
    journey = journey_to_approval(CodeSentSandbox(sandbox))
    police, _officer = staff(Role.POLICE_OFFICER)
    licence = print_card(police, journey.bank, journey.application["id"], ["B"])
    return journey.person, journey.application["id"], journey.bank, licence


def assert_verifies(code: str, status: str, number: str) -> dict:
    answer = verify(code)
    assert (answer["valid"], answer["status"], answer["number"]) == (status == "valid", status, number), answer
    return answer


def test_the_verify_endpoint_shows_a_licence_replaced_expired_and_revoked(sandbox, celery_worker, live_server):
    person, first_id, bank, old = first_licence_printed(sandbox)
    operator, _operator_user = staff(Role.TSON_OPERATOR)
    assert_verifies(old["verification_code"], "valid", old["number"])
    hand_over(operator, bank, first_id)
    assert_verifies(old["verification_code"], "valid", old["number"])
    recorded_in_licence_registry(old["number"])  # so that a replacement finds the licence we issued
    sandbox.update(person, photo="photo.jpg")  # the person registry holds the photo: the replacement is all online

    # A replacement for the licence we issued: until its card is handed over the old card stays valid; then the old
    # card's code answers replaced, the new one valid.
    replacement_id, new = replacement_to_printed(sandbox, bank, person, pickup_tson=pickup_centre())
    assert_verifies(old["verification_code"], "valid", old["number"])
    assert_verifies(new["verification_code"], "valid", new["number"])
    replacement = hand_over(operator, bank, replacement_id)
    assert replacement["licence"] == new
    assert new["number"] != old["number"]
    assert new["categories"] == old["categories"]  # none named: those of the licence held
    assert Licence.objects.get(number=new["number"]).replaces_number == old["number"]
    assert_verifies(old["verification_code"], "replaced", old["number"])
    assert read(bank, first_id)["licence"]["status"] == "replaced"
    assert_verifies(new["verification_code"], "valid", new["number"])
    assert recorded_in_licence_registry(new["number"]).replaces == old["number"]

    # The new licence's expiry passes: on its last day it is valid, the day after its code answers expired.
    expires_on = datetime.date.fromisoformat(new["expires_on"])
    noon = datetime.time(12, tzinfo=timezone.get_current_timezone())
    with time_machine.travel(datetime.datetime.combine(expires_on, noon), tick=True):
        assert_verifies(new["verification_code"], "valid", new["number"])
    with time_machine.travel(datetime.datetime.combine(expires_on + datetime.timedelta(days=1), noon), tick=True):
        assert_verifies(new["verification_code"], "expired", new["number"])
        assert_verifies(old["verification_code"], "replaced", old["number"])  # replaced stays replaced
    assert_verifies(new["verification_code"], "valid", new["number"])  # back to today

    # Revoked by the authority (outside this service): its code answers revoked.
    Licence.objects.filter(number=new["number"]).update(status=Licence.State.REVOKED,
                                                        status_changed_at=timezone.now())
    assert_verifies(new["verification_code"], "revoked", new["number"])
    assert_verifies(old["verification_code"], "replaced", old["number"])
    assert Application.objects.get(pk=replacement["id"]).status == "issued"


def test_the_verify_endpoint_shows_a_reprinted_cards_earlier_code_replaced_and_the_new_one_valid(
        sandbox, celery_worker, live_server):
    _person, application_id, bank, spoiled = first_licence_printed(sandbox)
    police, _officer = staff(Role.POLICE_OFFICER)
    operator, _operator_user = staff(Role.TSON_OPERATOR)

    # A spoiled card printed again: the same licence and number, a new card with a code of its own.
    reprinted = post(police, f"/api/v1/applications/{application_id}/reprint", {"reason": "The card was misprinted."})
    card = reprinted["licence"]
    assert {**card, "verification_code": None} == {**spoiled, "verification_code": None}
    assert read(bank, application_id)["licence"] == card
    assert card["verification_code"] != spoiled["verification_code"]
    assert_verifies(spoiled["verification_code"], "replaced", spoiled["number"])
    assert_verifies(card["verification_code"], "valid", card["number"])

    # Handed over: the card in hand verifies, the spoiled one still does not.
    final = hand_over(operator, bank, application_id)
    assert final["licence"] == card
    assert_verifies(card["verification_code"], "valid", card["number"])
    assert_verifies(spoiled["verification_code"], "replaced", spoiled["number"])
