"""The licence in API v1 (shared/api-v1.md; issue 11): printing, a reprint, the card as PDF, the hand-over at the
TSON, the public verification of a card's code and the published keys.

Printing asks the person registry for the holder's names under the application's consent, so every test that
prints runs against the live registry sandbox (transactional, with the seeded policy kept by serialized_rollback):
the application's consent is a granted consent of the sandbox's consent service that lists `person`. Tests that
never reach the registry (a role outside its rights, a wrong status) run in a transaction.
"""

import base64
import dataclasses
import datetime
import random
import re
import zlib

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from applications import verification
from applications.models import (
    Application,
    CardPrint,
    Consent,
    Licence,
    LicenceNumberCounter,
    PhotoSource,
    StatusChange,
)
from applications.workflow import move_application
from registries.sandbox.models import SandboxConsentRequest
from tests.applications.test_formalization_api import caller, client_for, in_formalization, staff_client
from tests.factories import OrganisationFactory
from tests.helpers import assert_problem, race

pytestmark = pytest.mark.django_db

ONLINE = pytest.mark.django_db(transaction=True, serialized_rollback=True)
NUMBER_FORMAT = r"KZ\d{8}"
CONSENTED_REGISTRIES = ["person", "licence_registry", "erap", "medical", "erdb", "driving_school", "exam_attempts"]
LICENCE_KEYS = {"number", "categories", "issued_on", "expires_on", "status", "verification_code"}
VERIFY_URL = "/api/v1/licences/verify"
KEYS_URL = "/api/v1/licences/keys"


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Jobs queued after each commit (notices, the licence registry's record), recorded instead of run."""
    jobs = []
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: jobs.append((task_name, args)))
    return jobs


# --- callers --------------------------------------------------------------------------------------------------


def police() -> APIClient:
    return staff_client(Role.POLICE_OFFICER)


def operator() -> APIClient:
    return staff_client(Role.TSON_OPERATOR)


def public() -> APIClient:
    return APIClient()


# --- the world ------------------------------------------------------------------------------------------------


def grant_consent(application: Application) -> Consent:
    """A consent granted in the sandbox's consent service, covering the person registry, held by the application."""
    request = SandboxConsentRequest.objects.create(iin=application.iin, status="granted",
                                                   registries=CONSENTED_REGISTRIES, channel=application.channel,
                                                   application=str(application.pk), purpose="eligibility_check")
    Consent.objects.filter(application=application).delete()
    return Consent.objects.create(application=application, request_id=str(request.pk), state=Consent.State.GRANTED,
                                  channel=application.channel, registries=CONSENTED_REGISTRIES,
                                  granted_at=timezone.now())


def under_review(**fields) -> Application:
    """Fee paid and photo taken: waiting for the police, with the consent the checks ran under."""
    application = in_formalization(**fields)
    now = timezone.now()
    Application.objects.filter(pk=application.pk).update(fee_paid_at=now, photo_source=PhotoSource.TSON,
                                                         photo_captured_at=now)
    grant_consent(application)
    move_application(application_id=application.pk, transition="complete_formalization")
    return Application.objects.get(pk=application.pk)


def approved(person: dict | None = None, **fields) -> Application:
    """Approved by the police, waiting for printing; `person`: the sandbox citizen it is for."""
    if person is not None:
        fields["iin"] = person["iin"]
    application = under_review(**fields)
    return move_application(application_id=application.pk, transition="approve")


def print_url(application) -> str:
    return f"/api/v1/applications/{application.pk}/print"


def reprint_url(application) -> str:
    return f"/api/v1/applications/{application.pk}/reprint"


def issue_url(application) -> str:
    return f"/api/v1/applications/{application.pk}/issue"


def card_url(number: str) -> str:
    return f"/api/v1/licences/{number}/card.pdf"


def print_card(application, client=None):
    return (client or police()).post(print_url(application), format="json")


def printed_licence(application, client=None) -> dict:
    """Print it; the `licence` member of the Application answered."""
    response = print_card(application, client)
    assert response.status_code == 200, response.content
    return response.json()["licence"]


def printed(sandbox, **fields) -> tuple[Application, dict]:
    """An application printed through the API (its card waits at the pickup TSON), and its `licence`."""
    application = approved(sandbox.add(), **fields)
    licence = printed_licence(application)
    return Application.objects.get(pk=application.pk), licence


def reprint(application, body, client=None):
    return (client or police()).post(reprint_url(application), body, format="json")


def hand_over(application, body, client=None):
    return (client or operator()).post(issue_url(application), body, format="json")


def verify_code(code) -> dict:
    response = public().get(VERIFY_URL, {"code": code})
    assert response.status_code == 200, response.content
    return response.json()


def serial(number: str) -> int:
    return int(number[2:])


def status_of(application) -> str:
    return Application.objects.values_list("status", flat=True).get(pk=application.pk)


def application_json(application) -> dict:
    response = client_for(application.organisation).get(f"/api/v1/applications/{application.pk}")
    assert response.status_code == 200, response.content
    return response.json()


def outsider(who: str, application) -> APIClient:
    """`owner`: the application's own channel (a bank key); else a staff member of that role."""
    return caller(who, application)


# --- forging codes --------------------------------------------------------------------------------------------


def cose_parts(code: str) -> list:
    message = cbor2.loads(zlib.decompress(base45.b45decode(code[len(verification.PREFIX):])))
    return list(message.value)


def pack(parts: list) -> str:
    message = cbor2.dumps(cbor2.CBORTag(verification.COSE_SIGN1_TAG, parts))
    return verification.PREFIX + base45.b45encode(zlib.compress(message, 9)).decode()


def flip_one_character(code: str) -> str:
    """A character of the Base45 body changed to another of the alphabet (the prefix untouched)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    position = len(verification.PREFIX) + (len(code) - len(verification.PREFIX)) // 2
    current = code[position]
    replacement = alphabet[(alphabet.index(current) + 1) % len(alphabet)]
    return code[:position] + replacement + code[position + 1:]


def payload_with(code: str, **licence_changes) -> bytes:
    """The code's CBOR payload with members of the licence claim changed (`n`: number, `c`: categories, ...)."""
    claims = cbor2.loads(cose_parts(code)[2])
    claims[verification.CLAIM_LICENCE].update(licence_changes)
    return cbor2.dumps(claims)


def signed_by_another_key(code: str, *, key_id: str | None = None, **licence_changes) -> str:
    """Another payload, signed by a key the authority never published, under the published key id (or `key_id`)."""
    rogue = Ed25519PrivateKey.generate()
    key_id = key_id or settings.LICENCE_SIGNING_KEY_ID
    protected = cbor2.dumps({verification.HEADER_ALG: verification.ALG_EDDSA,
                             verification.HEADER_KID: key_id.encode()})
    payload = payload_with(code, **licence_changes)
    signature = rogue.sign(verification._sig_structure(protected, payload))
    return pack([protected, {}, payload, signature])


def payload_swapped(code: str, **licence_changes) -> str:
    """The genuine signature kept, the payload it signed changed."""
    protected, unprotected, _payload, signature = cose_parts(code)
    return pack([protected, unprotected, payload_with(code, **licence_changes), signature])


def jwk_public_key(jwk: dict) -> Ed25519PublicKey:
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


# --- print ----------------------------------------------------------------------------------------------------


@ONLINE
def test_print_answers_200_with_the_licence_numbered_dated_and_signed(sandbox):
    application = approved(sandbox.add(), categories=["B"])
    response = print_card(application)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (str(application.pk), "printed")
    licence = body["licence"]
    assert set(licence) >= LICENCE_KEYS
    today = timezone.localdate()
    assert re.fullmatch(NUMBER_FORMAT, licence["number"]), licence["number"]
    assert licence["categories"] == ["B"]
    assert licence["issued_on"] == today.isoformat()
    assert licence["expires_on"] == (today + relativedelta(years=10) - datetime.timedelta(days=1)).isoformat()
    assert licence["status"] == "valid"
    assert licence["verification_code"].startswith("KZDL1:")
    stored = Licence.objects.get(application=application)
    assert (stored.number, stored.iin) == (licence["number"], application.iin)
    assert StatusChange.objects.filter(application=application, to_status="printed").count() == 1


@ONLINE
def test_two_prints_give_two_different_increasing_numbers(sandbox):
    first, second = approved(sandbox.add()), approved(sandbox.add())
    first_number = printed_licence(first)["number"]
    second_number = printed_licence(second)["number"]
    assert first_number != second_number
    assert serial(second_number) > serial(first_number)


@ONLINE
def test_a_cancelled_or_refused_application_never_consumes_a_licence_number(sandbox):
    first = approved(sandbox.add())
    first_number = printed_licence(first)["number"]

    cancelled = in_formalization(iin=sandbox.add()["iin"])
    move_application(application_id=cancelled.pk, transition="cancel")
    refused = under_review(iin=sandbox.add()["iin"])
    move_application(application_id=refused.pk, transition="refuse_by_officer", reason_code="other_legal_grounds",
                     comment="Refused in a test.")
    counter_before = LicenceNumberCounter.objects.get(name="licence").last_value
    for application in (cancelled, refused):
        assert_problem(print_card(application), 409, "wrong_status")
    assert LicenceNumberCounter.objects.get(name="licence").last_value == counter_before
    assert not Licence.objects.filter(application__in=[cancelled, refused]).exists()

    next_number = printed_licence(approved(sandbox.add()))["number"]
    assert serial(next_number) == serial(first_number) + 1


@pytest.mark.parametrize("status", ["under_review", "formalization"])
def test_print_before_approval_is_409_wrong_status(status):
    application = under_review() if status == "under_review" else in_formalization()
    body = assert_problem(print_card(application), 409, "wrong_status")
    assert body.get("current_status") in (None, status)
    assert status_of(application) == status
    assert not Licence.objects.filter(application=application).exists()


@pytest.mark.parametrize("who", ["owner", "tson_operator", "examiner"])
def test_print_by_a_caller_outside_its_rights_is_404(who):
    application = approved()
    assert_problem(print_card(application, outsider(who, application)), 404, "not_found")
    assert status_of(application) == "approved"
    assert not Licence.objects.filter(application=application).exists()


@ONLINE
def test_print_when_the_person_registry_fails_is_503_and_prints_nothing(sandbox):
    application = approved(sandbox.add(faults={"person": "error"}))
    counter = LicenceNumberCounter.objects.filter(name="licence").values_list("last_value", flat=True).first()
    assert_problem(print_card(application), 503, "registry_unavailable")
    assert status_of(application) == "approved"
    assert not Licence.objects.filter(application=application).exists()
    assert not CardPrint.objects.filter(licence__application=application).exists()
    assert LicenceNumberCounter.objects.filter(name="licence").values_list(
        "last_value", flat=True).first() == counter
    assert application_json(application)["licence"] is None


@ONLINE
def test_the_licence_member_appears_after_print_for_the_owning_bank(sandbox):
    application = approved(sandbox.add())
    before = application_json(application)  # read (and remembered) before printing
    assert (before["status"], before["licence"]) == ("approved", None)
    licence = printed_licence(application)
    after = application_json(application)
    assert after["status"] == "printed"
    assert after["licence"] == licence


# --- reprint --------------------------------------------------------------------------------------------------


@ONLINE
def test_a_reprint_without_a_reason_is_400_missing_field(sandbox):
    application, licence = printed(sandbox)
    body = assert_problem(reprint(application, {}), 400, "missing_field")
    assert "reason" in body["errors"]
    assert CardPrint.objects.filter(licence__application=application).count() == 1
    assert application_json(application)["licence"]["verification_code"] == licence["verification_code"]




@ONLINE
def test_a_reprint_keeps_the_licence_number(sandbox):
    application, licence = printed(sandbox)
    response = reprint(application, {"reason": "The card was spoiled in the printer."})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "printed"
    assert response.json()["licence"]["number"] == licence["number"]
    assert Licence.objects.filter(application=application).count() == 1
    cards = CardPrint.objects.filter(licence__application=application)
    assert cards.count() == 2
    assert cards.get(superseded_at__isnull=True).reprint_reason == "The card was spoiled in the printer."


@ONLINE
def test_a_reprint_gives_the_card_a_new_verification_code(sandbox):
    application, licence = printed(sandbox)
    again = reprint(application, {"reason": "The card was spoiled in the printer."}).json()["licence"]
    assert again["verification_code"].startswith("KZDL1:")
    assert again["verification_code"] != licence["verification_code"]


@ONLINE
def test_after_a_reprint_the_old_code_verifies_as_replaced(sandbox):
    application, licence = printed(sandbox)
    assert reprint(application, {"reason": "Misprinted."}).status_code == 200
    old = verify_code(licence["verification_code"])
    assert (old["valid"], old["status"], old["number"]) == (False, "replaced", licence["number"])


@ONLINE
def test_after_a_reprint_the_new_code_verifies_as_valid(sandbox):
    application, licence = printed(sandbox)
    again = reprint(application, {"reason": "Misprinted."}).json()["licence"]
    new = verify_code(again["verification_code"])
    assert (new["valid"], new["status"], new["number"]) == (True, "valid", licence["number"])


# --- hand-over ------------------------------------------------------------------------------------------------


@ONLINE
def test_the_hand_over_with_the_identity_checked_answers_200_issued(sandbox):
    application, licence = printed(sandbox)
    response = hand_over(application, {"identity_checked": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (str(application.pk), "issued")
    assert body["licence"]["number"] == licence["number"]
    assert body["licence"]["status"] == "valid"
    assert status_of(application) == "issued"
    assert [entry["status"] for entry in body["history"]][-2:] == ["printed", "issued"]


@ONLINE
@pytest.mark.parametrize(("body", "code"), [({"identity_checked": False}, "validation_error"),
                                            ({}, "missing_field")], ids=["false", "missing"])
def test_the_hand_over_without_the_identity_checked_is_400(sandbox, body, code):
    application, _licence = printed(sandbox)
    problem = assert_problem(hand_over(application, body), 400, code)
    assert "identity_checked" in problem.get("errors", {})
    assert status_of(application) == "printed"


@pytest.mark.parametrize("status", ["approved", "under_review"])
def test_the_hand_over_before_printing_is_409_wrong_status(status):
    application = approved() if status == "approved" else under_review()
    assert_problem(hand_over(application, {"identity_checked": True}), 409, "wrong_status")
    assert status_of(application) == status


@ONLINE
@pytest.mark.parametrize("who", ["owner", "police_officer", "examiner"])
def test_the_hand_over_by_a_caller_outside_its_rights_is_404(sandbox, who):
    application, _licence = printed(sandbox)
    assert_problem(hand_over(application, {"identity_checked": True}, outsider(who, application)), 404,
                   "not_found")
    assert status_of(application) == "printed"


# --- verify ---------------------------------------------------------------------------------------------------


@ONLINE
def test_verify_is_public_and_a_genuine_code_answers_the_contracts_shape(sandbox):
    application, licence = printed(sandbox)
    response = APIClient().get(VERIFY_URL, {"code": licence["verification_code"]})  # no credentials at all
    assert response.status_code == 200, response.content
    assert response.json() == {"valid": True, "status": "valid", "number": licence["number"],
                               "categories": licence["categories"], "expires_on": licence["expires_on"],
                               "holder": {"surname": "Тестов", "initials": "Т.Т."}}


@ONLINE
@pytest.mark.parametrize("forgery", ["one_character_flipped", "another_payload_signed_by_another_key",
                                     "signed_by_an_unpublished_key_id", "payload_changed_signature_kept"])
def test_verify_answers_valid_false_for_a_forged_or_altered_code(sandbox, forgery):
    _application, licence = printed(sandbox)
    genuine = licence["verification_code"]
    code = {
        "one_character_flipped": lambda: flip_one_character(genuine),
        "another_payload_signed_by_another_key": lambda: signed_by_another_key(genuine, c=["A", "B", "C", "D"]),
        "signed_by_an_unpublished_key_id": lambda: signed_by_another_key(genuine, key_id="rogue-2026"),
        "payload_changed_signature_kept": lambda: payload_swapped(genuine, c=["A", "B", "C", "D"]),
    }[forgery]()
    assert code != genuine
    assert verify_code(code) == {"valid": False}


@pytest.mark.parametrize("code", ["garbage", "KZDL1:", "KZDL1:!!!!", "KZDL2:6BFOXN", "KZDL1:" + "A" * 120],
                         ids=["garbage", "prefix_only", "not_base45", "unknown_version", "base45_not_cose"])
def test_verify_answers_valid_false_for_garbage(code):
    assert verify_code(code) == {"valid": False}


def test_verify_with_an_empty_code_is_400_missing_field():
    """A blank value is a missing field, as everywhere in the API."""
    assert_problem(public().get(VERIFY_URL, {"code": ""}), 400, "missing_field")


def test_verify_without_a_code_is_400_missing_field():
    body = assert_problem(public().get(VERIFY_URL), 400, "missing_field")
    assert "code" in body["errors"]


@ONLINE
def test_a_code_of_a_licence_that_does_not_exist_here_answers_valid_false(sandbox):
    _application, licence = printed(sandbox)
    genuine_seal = verification.verify(licence["verification_code"])
    code = verification.sign(dataclasses.replace(genuine_seal, number="KZ99999999"))  # signed by the real key
    assert verify_code(code) == {"valid": False}


# --- the published keys ---------------------------------------------------------------------------------------


def test_the_jwks_lists_the_signing_key():
    response = public().get(KEYS_URL)
    assert response.status_code == 200, response.content
    keys = response.json()["keys"]
    signing = [key for key in keys if key["kid"] == settings.LICENCE_SIGNING_KEY_ID]
    assert len(signing) == 1, keys
    assert (signing[0]["kty"], signing[0]["crv"]) == ("OKP", "Ed25519")
    assert len(base64.urlsafe_b64decode(signing[0]["x"] + "=" * (-len(signing[0]["x"]) % 4))) == 32
    assert not any("d" in key for key in keys)  # public keys only


def test_the_well_known_url_redirects_to_the_jwks():
    response = public().get("/.well-known/kualik-licence-keys.json")
    assert response.status_code in (301, 302, 307, 308)
    assert response["Location"].endswith(KEYS_URL)
    followed = public().get("/.well-known/kualik-licence-keys.json", follow=True)
    assert followed.status_code == 200
    assert followed.json() == public().get(KEYS_URL).json()


@ONLINE
def test_a_printed_code_verifies_offline_with_only_the_published_key(sandbox):
    _application, licence = printed(sandbox)
    keys = {jwk["kid"]: jwk_public_key(jwk) for jwk in public().get(KEYS_URL).json()["keys"]}
    seal = verification.verify(licence["verification_code"], keys=keys)
    assert (seal.number, seal.categories, seal.expires_on.isoformat()) == (
        licence["number"], licence["categories"], licence["expires_on"])
    assert seal.key_id == settings.LICENCE_SIGNING_KEY_ID
    with pytest.raises(verification.InvalidCode):
        verification.verify(licence["verification_code"],
                            keys={settings.LICENCE_SIGNING_KEY_ID: Ed25519PrivateKey.generate().public_key()})


# --- the card as PDF ------------------------------------------------------------------------------------------


@ONLINE
@pytest.mark.parametrize("who", ["police_officer", "owner"])
def test_the_card_pdf_is_served_to_the_police_and_the_owning_channel(sandbox, who):
    application, licence = printed(sandbox)
    response = outsider(who, application).get(card_url(licence["number"]))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/pdf")
    assert bytes(response.content if not response.streaming else b"".join(response.streaming_content)).startswith(
        b"%PDF")


@ONLINE
def test_the_card_pdf_of_another_organisations_licence_is_404(sandbox):
    _application, licence = printed(sandbox)
    assert_problem(client_for(OrganisationFactory()).get(card_url(licence["number"])), 404, "not_found")


def test_the_card_pdf_of_an_unknown_number_is_404():
    assert_problem(police().get(card_url(f"KZ{random.randint(90_000_000, 99_999_999)}")), 404, "not_found")


# --- two prints at once ---------------------------------------------------------------------------------------


@pytest.mark.postgres
@ONLINE
def test_two_prints_of_the_same_application_at_once_give_one_licence(sandbox):
    application = approved(sandbox.add())
    counter = LicenceNumberCounter.objects.filter(name="licence").values_list("last_value", flat=True).first() or 0
    clients = [police(), police()]
    outcomes = race([lambda client=client: print_card(application, client) for client in clients])
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert sorted(outcome.status_code for outcome in outcomes) == [200, 409], [o.content for o in outcomes]
    winner = next(outcome for outcome in outcomes if outcome.status_code == 200)
    assert_problem(next(outcome for outcome in outcomes if outcome.status_code == 409), 409, "wrong_status")
    assert Licence.objects.filter(application=application).count() == 1
    assert CardPrint.objects.filter(licence__application=application).count() == 1
    assert Licence.objects.get(application=application).number == winner.json()["licence"]["number"]
    assert LicenceNumberCounter.objects.get(name="licence").last_value == counter + 1
    assert StatusChange.objects.filter(application=application, to_status="printed").count() == 1
