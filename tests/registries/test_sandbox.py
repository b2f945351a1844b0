"""The registry sandbox over real HTTP: the live server answers as PROTOCOL.md says, from the fixture file."""

import datetime
import hashlib
import hmac
import json
import os
import re
import threading
import time
import uuid

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from applications.iin import birth_date_from_iin, iin_check_digit, is_valid_iin
from registries.sandbox.fixtures import FixtureError, load_fixture, parse_fixture
from registries.sandbox.models import ConsentStatus, SandboxConsentRequest, SandboxSms

from .sandbox_urls import RECEIVED_CALLBACKS

# serialized_rollback: a transactional test flushes the tables, and the seeded policy rows must come back.
pytestmark = [
    pytest.mark.urls("tests.registries.sandbox_urls"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ALL_REGISTRIES = ["person", "licence_registry", "erap", "medical", "erdb", "driving_school", "exam_attempts"]

# Demo citizens (registries/sandbox/README.md).
ALL_PASS_B = "871008404075"
ALL_PASS_B_PHONE = "+77010000001"
ALL_PASS_BC = "900417304147"
CONSENT_DENY = "950223404217"
VALID_LICENCE = "820730304280"
EXAM_BAN = "930808304495"
NARCOLOGICAL = "841010304916"
CONSENT_ERROR = "860722305897"
SMS_ERROR = "930327405960"
SMS_ERROR_PHONE = "+77010000028"
FAULTS = {
    ("erap", "error"): "800311305336",
    ("erap", "timeout"): "830619405401",
    ("erap", "garbage"): "941121305473",
    ("erap", "flaky"): "970909405545",
    ("medical", "error"): "811201305610",
    ("medical", "timeout"): "901020405681",
    ("medical", "garbage"): "870515305754",
    ("medical", "flaky"): "950828405829",
}

SIX_DIGITS = re.compile(r"(?<!\d)\d{6}(?!\d)")
SANDBOX_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}")


def valid_iin(first_eleven: str) -> str:
    return first_eleven + str(iin_check_digit(first_eleven))


UNKNOWN = valid_iin("01020350000")  # a valid IIN that no fixture holds


@pytest.fixture(autouse=True)
def fresh_sandbox_state():
    """Flaky counters and call logs live in the cache, callbacks in a list: each test starts from nothing."""
    cache.clear()
    RECEIVED_CALLBACKS.clear()
    yield
    cache.clear()


@pytest.fixture
def base(live_server) -> str:
    return f"{live_server.url}/sandbox/registries"


@pytest.fixture
def http():
    with httpx.Client(timeout=5) as client:
        yield client


def request_consent(http, base, iin, *, registries=None, language="en", callback_url=None,
                    application=None) -> httpx.Response:
    return http.post(f"{base}/consent/requests", json={
        "iin": iin, "application": application or str(uuid.uuid4()), "channel": "portal", "purpose": "first_issue",
        "registries": registries or ALL_REGISTRIES, "language": language, "callback_url": callback_url,
    })


def latest_code(phone: str) -> str:
    text = SandboxSms.objects.filter(phone=phone).order_by("-sent_at", "-id").values_list("text", flat=True).first()
    codes = SIX_DIGITS.findall(text)
    assert len(codes) == 1, text
    return codes[0]


def phone_of(iin: str) -> str:
    return load_fixture().citizens_by_iin[iin]["phone"]


def confirm(http, base, request_id, code) -> dict:
    response = http.post(f"{base}/consent/requests/{request_id}/confirm", json={"code": code})
    assert response.status_code == 200
    return response.json()


def granted_consent(http, base, iin, *, registries=None) -> str:
    answer = request_consent(http, base, iin, registries=registries).json()
    assert answer["status"] == "code_sent"
    assert confirm(http, base, answer["request_id"], latest_code(phone_of(iin))) == {"status": "granted"}
    return answer["request_id"]


def query(http, base, registry, iin, consent_request, **kwargs) -> httpx.Response:
    body = {"iin": iin, "consent_request": consent_request, "purpose": "first_issue", "categories": ["B"]}
    return http.post(f"{base}/{registry}/query", json=body, **kwargs)


def consent_in_db(iin, *, status=ConsentStatus.GRANTED, registries=None) -> str:
    """A consent made directly: the only way to ask about a person the consent service does not know."""
    consent = SandboxConsentRequest.objects.create(
        iin=iin, application="KZ-2026-000001", channel="portal", purpose="first_issue",
        registries=registries or ALL_REGISTRIES, language="en", status=status,
    )
    return str(consent.id)


# ---------------------------------------------------------------------------------------------------------------
# The demo fixture


def test_every_demo_citizen_has_a_valid_iin_matching_birth_date_a_distinct_phone_and_a_note():
    citizens = json.loads(load_fixture_text())["citizens"]
    assert len(citizens) >= 28
    for citizen in citizens:
        assert is_valid_iin(citizen["iin"]), citizen["iin"]
        assert birth_date_from_iin(citizen["iin"]).isoformat() == citizen["birth_date"], citizen["iin"]
        assert re.fullmatch(r"\+7701000\d{4}", citizen["phone"])
        assert citizen["_note"].strip()
    assert len({c["phone"] for c in citizens}) == len(citizens)
    assert len({c["iin"] for c in citizens}) == len(citizens)
    faults = {(registry, kind) for c in citizens for registry, kind in c["faults"].items()}
    assert set(FAULTS) | {("consent", "error"), ("sms", "error")} <= faults


def load_fixture_text() -> str:
    from django.conf import settings

    with open(settings.REGISTRY_SANDBOX_FIXTURES, encoding="utf-8") as handle:
        return handle.read()


# ---------------------------------------------------------------------------------------------------------------
# Person queries


KNOWN_ANSWERS = [
    ("person", ALL_PASS_B, {"found": True, "person": {
        "surname": "Сейтқали", "given_names": "Айгерім", "patronymic": "Бекқызы", "birth_date": "1987-10-08",
        "birth_place": "Алматы", "address": "Алматы, Абай даңғылы 10", "phone": "+77010000001", "photo": False,
    }}),
    ("licence_registry", VALID_LICENCE, {"found": True, "licence": {
        "number": "KZ00000004", "categories": ["B"], "issued_on": "2019-03-14", "expires_on": "2029-03-14",
        "status": "valid",
    }}),
    ("licence_registry", ALL_PASS_B, {"found": True, "licence": None}),
    ("erap", EXAM_BAN, {"found": True, "exam_ban": {"article": "608-6", "until": "2027-12-31"}, "deprivation": None}),
    ("medical", ALL_PASS_B, {"found": True, "certificate": {
        "form": "073/у", "valid_until": "2027-06-01", "categories": ["B"],
    }}),
    ("erdb", NARCOLOGICAL, {"found": True, "narcological": True, "psychiatric": False}),
    ("driving_school", ALL_PASS_BC, {"found": True, "certificates": [
        {"certificate": "AS-2026-0002", "category": "B", "school": "Demo driving school"},
        {"certificate": "AS-2026-0102", "category": "C", "school": "Demo driving school"},
    ]}),
    ("exam_attempts", ALL_PASS_BC, {"found": True, "theory": 1, "practical": 0, "last_failed_on": "2026-09-14"}),
]


@pytest.mark.parametrize(("registry", "iin", "expected"), KNOWN_ANSWERS)
def test_a_registry_answers_a_known_person_from_the_fixture(http, base, registry, iin, expected):
    consent = granted_consent(http, base, iin)
    response = query(http, base, registry, iin, consent)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == expected


UNKNOWN_ANSWERS = {
    "person": {"found": False, "person": None},
    "licence_registry": {"found": False, "licence": None},
    "erap": {"found": False, "exam_ban": None, "deprivation": None},
    "medical": {"found": False, "certificate": None},
    "erdb": {"found": False, "narcological": None, "psychiatric": None},
    "driving_school": {"found": False, "certificates": []},
    "exam_attempts": {"found": False, "theory": None, "practical": None, "last_failed_on": None},
}


@pytest.mark.parametrize("registry", ALL_REGISTRIES)
def test_a_registry_answers_found_false_for_a_person_not_in_the_fixture(http, base, registry):
    consent = consent_in_db(UNKNOWN)
    response = query(http, base, registry, UNKNOWN, consent)
    assert response.status_code == 200
    assert response.json() == UNKNOWN_ANSWERS[registry]


def test_the_person_registry_says_whether_a_photo_is_on_file(http, base, tmp_path, settings):
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    fixture = {"citizens": [minimal_citizen(ALL_PASS_B, photo="photo.jpg")]}
    settings.REGISTRY_SANDBOX_FIXTURES = write_fixture(tmp_path, fixture)
    consent = consent_in_db(ALL_PASS_B)
    assert query(http, base, "person", ALL_PASS_B, consent).json()["person"]["photo"] is True


@pytest.mark.parametrize("consent_request", [None, "", "not-a-uuid", str(uuid.uuid4())])
def test_a_query_without_a_granted_consent_answers_403_consent_required(http, base, consent_request):
    response = query(http, base, "person", ALL_PASS_B, consent_request)
    assert response.status_code == 403
    assert response.json() == {"error": "consent_required"}


def test_a_consent_of_another_person_does_not_open_a_query(http, base):
    others = granted_consent(http, base, ALL_PASS_BC)
    response = query(http, base, "person", ALL_PASS_B, others)
    assert response.status_code == 403
    assert response.json() == {"error": "consent_required"}


def test_a_consent_that_does_not_list_the_registry_does_not_open_it(http, base):
    consent = granted_consent(http, base, ALL_PASS_B, registries=["person"])
    assert query(http, base, "person", ALL_PASS_B, consent).status_code == 200
    response = query(http, base, "medical", ALL_PASS_B, consent)
    assert response.status_code == 403
    assert response.json() == {"error": "consent_required"}


def test_a_consent_awaiting_its_code_does_not_open_a_query(http, base):
    pending = request_consent(http, base, ALL_PASS_B).json()["request_id"]
    assert query(http, base, "person", ALL_PASS_B, pending).status_code == 403


def test_an_unknown_registry_answers_404(http, base):
    assert query(http, base, "tax", ALL_PASS_B, None).status_code == 404


@pytest.mark.parametrize(
    ("content", "detail_mentions"),
    [(b"{not json", "JSON"), (b"[1, 2]", "object"), (b'{"purpose": "x"}', "iin"), (b'{"iin": "123"}', "iin")],
)
def test_a_malformed_query_answers_400_bad_request(http, base, content, detail_mentions):
    response = http.post(f"{base}/person/query", content=content,
                         headers={"Content-Type": "application/json", "Accept-Language": "en"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert detail_mentions in response.json()["detail"]


def test_a_query_must_be_a_post(http, base):
    assert http.get(f"{base}/person/query").status_code == 405


# ---------------------------------------------------------------------------------------------------------------
# Consent


def test_a_granting_citizen_gets_a_6_digit_code_by_sms_and_the_code_grants(http, base):
    before = timezone.now()
    response = request_consent(http, base, ALL_PASS_B)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "code_sent"
    expires_at = datetime.datetime.fromisoformat(answer["expires_at"])
    assert before + datetime.timedelta(seconds=299) <= expires_at <= timezone.now() + datetime.timedelta(seconds=301)

    sms = SandboxSms.objects.get(phone=ALL_PASS_B_PHONE)
    code = latest_code(ALL_PASS_B_PHONE)
    assert sms.text == f"Kuälik: your consent code is {code}. It is valid for 5 minutes. Do not share it."
    stored = SandboxConsentRequest.objects.get(pk=answer["request_id"])
    assert stored.status == ConsentStatus.CODE_SENT
    assert stored.attempts_left == 5
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    assert stored.registries == ALL_REGISTRIES

    assert confirm(http, base, answer["request_id"], code) == {"status": "granted"}
    stored.refresh_from_db()
    assert stored.status == ConsentStatus.GRANTED
    assert stored.decided_at is not None


def test_an_unknown_person_is_unknown_to_the_consent_service_and_gets_no_sms(http, base):
    response = request_consent(http, base, UNKNOWN)
    assert response.json() == {"status": "person_not_found"}
    assert SandboxSms.objects.count() == 0
    assert SandboxConsentRequest.objects.count() == 0


def test_the_same_application_asking_again_gets_its_open_request_and_no_second_code(http, base):
    application = str(uuid.uuid4())
    first = request_consent(http, base, ALL_PASS_B, application=application).json()
    again = request_consent(http, base, ALL_PASS_B, application=application).json()
    assert again == first
    assert SandboxSms.objects.filter(phone=phone_of(ALL_PASS_B)).count() == 1
    other = request_consent(http, base, ALL_PASS_B).json()  # another application is another request
    assert other["request_id"] != first["request_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"registries": []}, "registries"), ({"registries": ["tax"]}, "tax"), ({"language": "de"}, "language"),
     ({"application": None}, "application")],
)
def test_a_malformed_consent_request_answers_400(http, base, change, field):
    body = {"iin": ALL_PASS_B, "application": "A-1", "channel": "portal", "purpose": "first_issue",
            "registries": ["person"], "language": "en", "callback_url": None, **change}
    response = http.post(f"{base}/consent/requests", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert field in response.json()["detail"]


def test_wrong_codes_count_down_to_zero_and_then_the_request_is_locked(http, base):
    answer = request_consent(http, base, ALL_PASS_B).json()
    right = latest_code(ALL_PASS_B_PHONE)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    countdown = [confirm(http, base, answer["request_id"], wrong) for _ in range(5)]
    assert countdown == [{"status": "invalid_code", "attempts_left": n} for n in (4, 3, 2, 1, 0)]
    assert confirm(http, base, answer["request_id"], right) == {"status": "locked"}
    assert SandboxConsentRequest.objects.get(pk=answer["request_id"]).status == ConsentStatus.LOCKED


def test_an_expired_code_answers_expired_and_a_resend_issues_a_live_one(http, base):
    request_id = request_consent(http, base, ALL_PASS_B).json()["request_id"]
    old = latest_code(ALL_PASS_B_PHONE)
    SandboxConsentRequest.objects.filter(pk=request_id).update(
        code_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert confirm(http, base, request_id, old) == {"status": "expired"}
    assert SandboxConsentRequest.objects.get(pk=request_id).attempts_left == 5

    resent = http.post(f"{base}/consent/requests/{request_id}/resend", json={}).json()
    assert resent["status"] == "code_sent"
    assert datetime.datetime.fromisoformat(resent["expires_at"]) > timezone.now() + datetime.timedelta(seconds=290)
    new = latest_code(ALL_PASS_B_PHONE)
    assert confirm(http, base, request_id, new) == {"status": "granted"}


def test_an_expired_code_is_expired_after_five_minutes_by_the_clock(http, base):
    import time_machine

    request_id = request_consent(http, base, ALL_PASS_B).json()["request_id"]
    code = latest_code(ALL_PASS_B_PHONE)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=301), tick=True):
        assert confirm(http, base, request_id, code) == {"status": "expired"}


def test_a_resend_kills_the_old_code_and_does_not_reset_the_tries(http, base):
    request_id = request_consent(http, base, ALL_PASS_B).json()["request_id"]
    old = latest_code(ALL_PASS_B_PHONE)
    resent = http.post(f"{base}/consent/requests/{request_id}/resend", json={})
    assert resent.json()["status"] == "code_sent"
    assert SandboxSms.objects.filter(phone=ALL_PASS_B_PHONE).count() == 2
    new = latest_code(ALL_PASS_B_PHONE)
    if new != old:  # one chance in a million that the new code repeats the old
        assert confirm(http, base, request_id, old) == {"status": "invalid_code", "attempts_left": 4}
        assert confirm(http, base, request_id, new) == {"status": "granted"}


def test_a_resend_without_an_awaited_code_answers_the_status(http, base):
    request_id = granted_consent(http, base, ALL_PASS_B)
    response = http.post(f"{base}/consent/requests/{request_id}/resend", json={})
    assert response.json() == {"status": "granted"}
    assert SandboxSms.objects.filter(phone=ALL_PASS_B_PHONE).count() == 1


def test_a_withdrawn_consent_no_longer_opens_queries(http, base):
    request_id = granted_consent(http, base, ALL_PASS_B)
    assert query(http, base, "erap", ALL_PASS_B, request_id).status_code == 200
    withdrawn = http.post(f"{base}/consent/requests/{request_id}/withdraw", json={})
    assert withdrawn.json() == {"status": "withdrawn"}
    response = query(http, base, "erap", ALL_PASS_B, request_id)
    assert response.status_code == 403
    assert response.json() == {"error": "consent_required"}
    assert confirm(http, base, request_id, "000000") == {"status": "withdrawn"}


def test_an_unknown_consent_request_answers_404(http, base):
    response = http.post(f"{base}/consent/requests/{uuid.uuid4()}/confirm", json={"code": "123456"})
    assert response.status_code == 404


def test_a_confirm_without_a_code_answers_400(http, base):
    request_id = request_consent(http, base, ALL_PASS_B).json()["request_id"]
    response = http.post(f"{base}/consent/requests/{request_id}/confirm", json={})
    assert response.status_code == 400
    assert "code" in response.json()["detail"]


def test_a_declining_citizen_is_reported_by_a_signed_callback_within_the_delay(http, base, live_server, settings):
    settings.REGISTRY_SANDBOX_DECLINE_DELAY_MS = 200
    started = time.monotonic()
    answer = request_consent(
        http, base, CONSENT_DENY, callback_url=f"{live_server.url}/test-callbacks/consent"
    ).json()
    assert answer == {"status": "decision_pending", "request_id": answer["request_id"]}
    assert SandboxSms.objects.count() == 0

    while not RECEIVED_CALLBACKS and time.monotonic() - started < 5:
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert len(RECEIVED_CALLBACKS) == 1
    assert 0.2 <= elapsed < 2
    callback = RECEIVED_CALLBACKS[0]
    expected = hmac.new(settings.REGISTRY_CALLBACK_SECRET.encode(), callback["body"], hashlib.sha256).hexdigest()
    assert callback["signature"] == f"sha256={expected}"
    body = json.loads(callback["body"])
    assert body["request_id"] == answer["request_id"]
    assert body["status"] == "declined"
    assert SANDBOX_TIME.fullmatch(body["at"])
    assert SandboxConsentRequest.objects.get(pk=answer["request_id"]).status == ConsentStatus.DECLINED
    assert confirm(http, base, answer["request_id"], "123456") == {"status": "declined"}


def test_a_consent_withdrawn_before_the_decline_sends_no_callback(http, base, live_server, settings):
    settings.REGISTRY_SANDBOX_DECLINE_DELAY_MS = 200
    answer = request_consent(http, base, CONSENT_DENY, callback_url=f"{live_server.url}/test-callbacks/consent")
    request_id = answer.json()["request_id"]
    http.post(f"{base}/consent/requests/{request_id}/withdraw", json={})
    time.sleep(0.6)
    assert RECEIVED_CALLBACKS == []
    assert SandboxConsentRequest.objects.get(pk=request_id).status == ConsentStatus.WITHDRAWN


@pytest.mark.postgres
def test_concurrent_wrong_codes_spend_each_try_once(http, base):
    request_id = request_consent(http, base, ALL_PASS_B).json()["request_id"]
    right = latest_code(ALL_PASS_B_PHONE)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    barrier = threading.Barrier(10)
    answers = []

    def try_wrong_code():
        with httpx.Client(timeout=10) as client:
            barrier.wait()
            answers.append(confirm(client, base, request_id, wrong))

    threads = [threading.Thread(target=try_wrong_code) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    invalid = sorted(a["attempts_left"] for a in answers if a["status"] == "invalid_code")
    assert invalid == [0, 1, 2, 3, 4]
    assert [a for a in answers if a["status"] != "invalid_code"] == [{"status": "locked"}] * 5


# ---------------------------------------------------------------------------------------------------------------
# Faults


@pytest.mark.parametrize("registry", ["erap", "medical"])
def test_an_error_fault_answers_500(http, base, registry):
    iin = FAULTS[(registry, "error")]
    consent = granted_consent(http, base, iin)
    assert query(http, base, registry, iin, consent).status_code == 500
    assert query(http, base, "person", iin, consent).status_code == 200  # only that registry misbehaves


@pytest.mark.parametrize("registry", ["erap", "medical"])
def test_a_garbage_fault_answers_200_with_a_body_that_is_not_json(http, base, registry):
    iin = FAULTS[(registry, "garbage")]
    response = query(http, base, registry, iin, granted_consent(http, base, iin))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


@pytest.mark.parametrize("registry", ["erap", "medical"])
def test_a_flaky_fault_answers_503_twice_then_normally(http, base, registry):
    iin = FAULTS[(registry, "flaky")]
    consent = granted_consent(http, base, iin)
    statuses = [query(http, base, registry, iin, consent).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert query(http, base, registry, iin, consent).json()["found"] is True


@pytest.mark.parametrize("registry", ["erap", "medical"])
def test_a_timeout_fault_answers_after_the_clients_timeout(http, base, registry, settings):
    settings.REGISTRY_SANDBOX_TIMEOUT_SECONDS = 1.5
    iin = FAULTS[(registry, "timeout")]
    consent = granted_consent(http, base, iin)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        query(http, base, registry, iin, consent, timeout=0.5)
    assert time.monotonic() - started < 1.4
    settings.REGISTRY_SANDBOX_TIMEOUT_SECONDS = 0.2
    time.sleep(1.2)  # let the sleeping request finish before the database is flushed
    assert query(http, base, registry, iin, consent, timeout=5).json()["found"] is True


def test_a_consent_fault_strikes_the_consent_service(http, base):
    assert request_consent(http, base, CONSENT_ERROR).status_code == 500
    assert SandboxSms.objects.count() == 0


def test_a_consent_fault_strikes_confirm_resend_and_withdraw_of_that_persons_request(http, base):
    request_id = consent_in_db(CONSENT_ERROR, status=ConsentStatus.CODE_SENT)
    for action, body in (("confirm", {"code": "123456"}), ("resend", {}), ("withdraw", {})):
        assert http.post(f"{base}/consent/requests/{request_id}/{action}", json=body).status_code == 500


def test_an_sms_fault_strikes_messages_by_iin_and_by_phone(http, base):
    by_iin = http.post(f"{base}/sms/send", json={"iin": SMS_ERROR, "phone": None, "text": "Hello"})
    by_phone = http.post(f"{base}/sms/send", json={"iin": None, "phone": SMS_ERROR_PHONE, "text": "Hello"})
    assert (by_iin.status_code, by_phone.status_code) == (500, 500)
    assert SandboxSms.objects.count() == 0


def test_latency_is_added_to_every_answer(http, base, settings):
    settings.REGISTRY_SANDBOX_LATENCY_MS = 300
    for call in (
        lambda: query(http, base, "person", ALL_PASS_B, None),
        lambda: request_consent(http, base, UNKNOWN),
        lambda: http.post(f"{base}/sms/send", json={"phone": "+77079999999", "text": "Hi"}),
    ):
        started = time.monotonic()
        call()
        assert time.monotonic() - started >= 0.3


def test_an_error_rate_of_one_answers_every_call_503(http, base, settings):
    settings.REGISTRY_SANDBOX_ERROR_RATE = 1.0
    assert query(http, base, "person", ALL_PASS_B, None).status_code == 503
    assert request_consent(http, base, ALL_PASS_B).status_code == 503
    assert http.post(f"{base}/sms/send", json={"phone": "+77079999999", "text": "Hi"}).status_code == 503
    assert SandboxSms.objects.count() == 0


# ---------------------------------------------------------------------------------------------------------------
# SMS gateway


def test_an_sms_by_phone_is_queued_in_the_outbox(http, base):
    response = http.post(f"{base}/sms/send", json={"phone": "+77079999999", "iin": None, "text": "Сәлем"})
    assert response.status_code == 200
    message_id = response.json()["message_id"]
    assert response.json() == {"status": "queued", "message_id": message_id}
    assert SandboxSms.objects.get(pk=message_id).text == "Сәлем"


def test_an_sms_by_iin_goes_to_the_phone_the_gateway_holds(http, base):
    response = http.post(f"{base}/sms/send", json={"iin": ALL_PASS_B, "phone": None, "text": "Decision made"})
    assert response.json()["status"] == "queued"
    assert SandboxSms.objects.get().phone == ALL_PASS_B_PHONE


def test_an_sms_to_an_unknown_iin_answers_unknown_recipient(http, base):
    response = http.post(f"{base}/sms/send", json={"iin": UNKNOWN, "phone": None, "text": "Hello"})
    assert response.json() == {"status": "unknown_recipient"}
    assert SandboxSms.objects.count() == 0


def test_an_sms_without_a_recipient_answers_400(http, base):
    response = http.post(f"{base}/sms/send", json={"iin": None, "phone": None, "text": "Hello"})
    assert response.status_code == 400


# ---------------------------------------------------------------------------------------------------------------
# The call log


def test_the_call_log_lists_every_call_for_an_iin_oldest_first(http, base):
    query(http, base, "erap", ALL_PASS_B, None)  # refused: no consent yet, but received
    consent = granted_consent(http, base, ALL_PASS_B, registries=["erap"])
    query(http, base, "erap", ALL_PASS_B, consent)
    query(http, base, "person", ALL_PASS_BC, None)  # someone else's

    response = http.get(f"{base}/_log", params={"iin": ALL_PASS_B})
    assert response.status_code == 200
    log = response.json()
    assert [(e["registry"], e["endpoint"], e["consent_request"]) for e in log] == [
        ("erap", "query", None),
        ("consent", "requests", None),
        ("consent", "confirm", consent),
        ("erap", "query", consent),
    ]
    assert all(SANDBOX_TIME.fullmatch(entry["at"]) for entry in log)
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)


def test_the_call_log_needs_an_iin(http, base):
    assert http.get(f"{base}/_log").status_code == 400


# ---------------------------------------------------------------------------------------------------------------
# The SMS outbox API


def test_the_outbox_api_lists_a_phones_sms_newest_first_with_a_cursor(live_server, http):
    phone = "+77015550000"
    first = (timezone.now() - datetime.timedelta(hours=1)).replace(microsecond=0)
    SandboxSms.objects.bulk_create(
        SandboxSms(phone=phone, text=f"message {n}", sent_at=first + datetime.timedelta(seconds=n, milliseconds=481))
        for n in range(51)
    )
    SandboxSms.objects.create(phone="+77015559999", text="someone else's")
    url = f"{live_server.url}/api/v1/sandbox/sms"

    page = http.get(url, params={"phone": phone})
    assert page.status_code == 200
    assert set(page.json()) == {"next", "results"}
    results = page.json()["results"]
    assert [r["text"] for r in results] == [f"message {n}" for n in range(50, 0, -1)]
    assert SANDBOX_TIME.fullmatch(results[0]["sent_at"])
    assert results[0]["sent_at"].split(".")[1].startswith("481")
    assert page.json()["next"]

    last = http.get(page.json()["next"]).json()
    assert last == {"next": None, "results": [{"text": "message 0", "sent_at": last["results"][0]["sent_at"]}]}


def test_the_outbox_api_accepts_an_unencoded_plus(live_server, http):
    SandboxSms.objects.create(phone="+77015550000", text="hello")
    page = http.get(f"{live_server.url}/api/v1/sandbox/sms?phone=+77015550000")
    assert [r["text"] for r in page.json()["results"]] == ["hello"]


def test_the_outbox_api_without_a_phone_answers_a_400_problem(live_server, http):
    response = http.get(f"{live_server.url}/api/v1/sandbox/sms", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("errors", "detail")} == {
        "type": "about:blank", "title": "Bad Request", "status": 400, "code": "missing_field",
    }
    assert list(body["errors"]) == ["phone"] and body["errors"]["phone"]


# ---------------------------------------------------------------------------------------------------------------
# A fixture of the test's own


def minimal_citizen(iin, **fields) -> dict:
    return {"iin": iin, "surname": "Төлеуов", "given_names": "Арман", "birth_date": "2010-05-05",
            "phone": "+77015551234", "consent": "grant", **fields}


def write_fixture(tmp_path, document) -> str:
    path = tmp_path / "citizens.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_a_custom_fixture_file_replaces_the_demo_citizens(http, base, tmp_path, settings):
    minor = valid_iin("10050550001")
    settings.REGISTRY_SANDBOX_FIXTURES = write_fixture(tmp_path, {"citizens": [minimal_citizen(minor)]})

    assert request_consent(http, base, ALL_PASS_B).json() == {"status": "person_not_found"}
    consent = granted_consent(http, base, minor)
    person = query(http, base, "person", minor, consent).json()
    assert person["person"]["birth_date"] == "2010-05-05"
    assert query(http, base, "medical", minor, consent).json() == {"found": True, "certificate": None}
    assert query(http, base, "erdb", minor, consent).json() == {
        "found": True, "narcological": False, "psychiatric": False,
    }


def test_an_edited_fixture_file_is_picked_up(http, base, tmp_path, settings):
    iin = valid_iin("10050550001")
    path = write_fixture(tmp_path, {"citizens": [minimal_citizen(iin)]})
    settings.REGISTRY_SANDBOX_FIXTURES = path
    consent = consent_in_db(iin)
    assert query(http, base, "person", iin, consent).json()["person"]["surname"] == "Төлеуов"

    write_fixture(tmp_path, {"citizens": [minimal_citizen(iin, surname="Сәрсенов")]})
    later = time.time() + 5
    os.utime(path, (later, later))
    assert query(http, base, "person", iin, consent).json()["person"]["surname"] == "Сәрсенов"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"medical_073": {"valid_until": "2027-13-01", "categories": ["B"]}}, "citizens[0].medical_073.valid_until"),
        ({"consent": "maybe"}, "citizens[0].consent"),
        ({"favourite_colour": "blue"}, "citizens[0].favourite_colour"),
        ({"faults": {"erap": "sometimes"}}, "citizens[0].faults.erap"),
        ({"iin": "12345"}, "citizens[0].iin"),
        ({"licence": {"number": "KZ1", "categories": ["B"], "issued_on": "2020-01-01"}},
         "citizens[0].licence.expires_on"),
    ],
)
def test_an_invalid_fixture_names_the_field(change, message):
    document = {"citizens": [{**minimal_citizen(valid_iin("10050550001")), **change}]}
    with pytest.raises(FixtureError, match=re.escape(message)):
        parse_fixture(json.dumps(document))


def test_the_fixture_ignores_notes_and_defaults_absent_records():
    document = {"_note": "file", "citizens": [{**minimal_citizen(valid_iin("10050550001")), "_note": "a minor"}]}
    citizen = next(iter(parse_fixture(json.dumps(document)).citizens_by_iin.values()))
    assert "_note" not in citizen
    assert citizen["licence"] is None and citizen["driving_school"] == [] and citizen["faults"] == {}
    assert citizen["exam_attempts"] == {"theory": 0, "practical": 0, "last_failed_on": None}


def test_a_missing_fixture_file_is_a_clear_error(tmp_path, settings):
    settings.REGISTRY_SANDBOX_FIXTURES = str(tmp_path / "absent.json")
    with pytest.raises(FixtureError, match="absent.json"):
        load_fixture()
