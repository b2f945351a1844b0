"""The exam system's result endpoint in the sandbox, over real HTTP: `POST {base}/exam_attempts/results` records
each result reported to it (once per reference), and later `exam_attempts` answers count the reported failures."""

import datetime
import re
import uuid

import httpx
import pytest

from registries.clients import PERSON_CLIENTS, PersonQuery, exam_results_client
from registries.results import Outcome
from registries.sandbox.models import SandboxExamResult, SandboxSms
from tests.factories import make_iin

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def base(sandbox) -> str:
    return f"{sandbox.base_url}/sandbox/registries"


def result(**changes) -> dict:
    body = {"iin": "871008401427", "kind": "theory", "passed": False, "score": 27,
            "at": "2026-03-03T10:30:00.000+05:00", "reference": f"test-{uuid.uuid4()}"}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def report(http, base, body) -> httpx.Response:
    return http.post(f"{base}/exam_attempts/results", json=body)


def granted_consent(http, base, person) -> str:
    answer = http.post(f"{base}/consent/requests", json={
        "iin": person["iin"], "application": str(uuid.uuid4()), "channel": "portal", "purpose": "first_issue",
        "registries": ["exam_attempts"], "language": "en", "callback_url": None}).json()
    assert answer["status"] == "code_sent"
    text = SandboxSms.objects.filter(phone=person["phone"]).order_by("-sent_at").values_list("text", flat=True)[0]
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", text).group(1)
    assert http.post(f"{base}/consent/requests/{answer['request_id']}/confirm",
                     json={"code": code}).json() == {"status": "granted"}
    return answer["request_id"]


def attempts_query(http, base, person, consent_request) -> httpx.Response:
    return http.post(f"{base}/exam_attempts/query", json={"iin": person["iin"], "consent_request": consent_request,
                                                           "purpose": "first_issue", "categories": ["B"]})


def test_a_result_is_recorded(http, base):
    body = result(kind="practical", passed=True, score=40)

    response = report(http, base, body)

    assert response.status_code == 200
    assert response.json() == {"status": "recorded", "reference": body["reference"]}
    recorded = SandboxExamResult.objects.get(reference=body["reference"])
    assert (recorded.iin, recorded.kind, recorded.passed, recorded.score) == ("871008401427", "practical", True, 40)
    assert recorded.at == datetime.datetime(2026, 3, 3, 5, 30, tzinfo=datetime.UTC)


def test_a_result_without_a_score_is_recorded(http, base):
    body = result(score=None)

    assert report(http, base, body).status_code == 200
    assert SandboxExamResult.objects.get(reference=body["reference"]).score is None


def test_the_same_reference_twice_is_recorded_once(http, base):
    body = result()

    first, second = report(http, base, body), report(http, base, body)

    assert first.status_code == second.status_code == 200
    assert second.json() == {"status": "recorded", "reference": body["reference"]}
    assert SandboxExamResult.objects.filter(reference=body["reference"]).count() == 1


def test_a_repeated_reference_keeps_the_first_result(http, base):
    body = result(passed=False, score=20)
    report(http, base, body)

    report(http, base, {**body, "passed": True, "score": 39})

    recorded = SandboxExamResult.objects.get(reference=body["reference"])
    assert (recorded.passed, recorded.score) == (False, 20)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"iin": ...}, "iin"),
        ({"iin": "12345"}, "iin"),
        ({"iin": 871008401427}, "iin"),
        ({"kind": "oral"}, "kind"),
        ({"kind": ...}, "kind"),
        ({"passed": "false"}, "passed"),
        ({"passed": 0}, "passed"),
        ({"passed": None}, "passed"),
        ({"score": "27"}, "score"),
        ({"score": True}, "score"),
        ({"at": "2026-03-03T10:30:00"}, "at"),
        ({"at": "yesterday"}, "at"),
        ({"at": ...}, "at"),
        ({"reference": ...}, "reference"),
    ],
    ids=["missing-iin", "short-iin", "numeric-iin", "bad-kind", "missing-kind", "passed-string", "passed-number",
         "passed-null", "score-string", "score-boolean", "at-without-offset", "at-not-a-time", "missing-at",
         "missing-reference"],
)
def test_a_bad_body_answers_400_and_records_nothing(http, base, changes, field):
    response = report(http, base, result(**changes))

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert field in response.json()["detail"]
    assert not SandboxExamResult.objects.exists()


def test_a_body_that_is_not_a_json_object_answers_400(http, base):
    response = http.post(f"{base}/exam_attempts/results", content=b"[1, 2]",
                         headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert not SandboxExamResult.objects.exists()


def test_get_is_not_allowed(http, base):
    assert http.get(f"{base}/exam_attempts/results").status_code == 405


def test_the_exam_attempts_answer_includes_the_reported_failures(http, base, sandbox):
    person = sandbox.add(exam_attempts={"theory": 1, "practical": 0, "last_failed_on": "2026-01-20"})
    consent_request = granted_consent(http, base, person)
    before = attempts_query(http, base, person, consent_request)
    assert before.json() == {"found": True, "theory": 1, "practical": 0, "last_failed_on": "2026-01-20"}

    for body in (result(iin=person["iin"], kind="theory", passed=False, at="2026-03-03T10:30:00.000+05:00"),
                 result(iin=person["iin"], kind="practical", passed=False, at="2026-04-10T09:00:00.000+05:00"),
                 result(iin=person["iin"], kind="practical", passed=True, at="2026-04-20T09:00:00.000+05:00")):
        assert report(http, base, body).status_code == 200
    after = attempts_query(http, base, person, consent_request)

    # The failures count; the pass does not; the last failure's day is the exam system's local day.
    assert after.status_code == 200
    assert after.json() == {"found": True, "theory": 2, "practical": 1, "last_failed_on": "2026-04-10"}


def test_a_failure_reported_twice_counts_once(http, base, sandbox):
    person = sandbox.add()
    body = result(iin=person["iin"], passed=False)
    report(http, base, body)
    report(http, base, body)

    answer = attempts_query(http, base, person, granted_consent(http, base, person)).json()

    assert (answer["theory"], answer["last_failed_on"]) == (1, "2026-03-03")


def test_reported_results_of_another_person_do_not_count(http, base, sandbox):
    person = sandbox.add()
    report(http, base, result(iin=make_iin(), passed=False))

    answer = attempts_query(http, base, person, granted_consent(http, base, person)).json()

    assert (answer["theory"], answer["practical"], answer["last_failed_on"]) == (0, 0, None)


def test_the_exam_attempts_query_needs_consent_even_after_a_report(http, base, sandbox):
    person = sandbox.add()
    report(http, base, result(iin=person["iin"]))

    assert attempts_query(http, base, person, str(uuid.uuid4())).status_code == 403


def test_the_client_reports_and_the_client_reads_the_count_back(sandbox):
    """The production clients over the same path: the report, then the exam_attempts check that feeds the rules."""
    person = sandbox.add(exam_attempts={"theory": 0, "practical": 2, "last_failed_on": "2026-02-01"})

    answer = exam_results_client.report(iin=person["iin"], kind="practical", passed=False, score=140,
                                        at="2026-03-05T11:00:00.000+05:00", reference=f"test-{uuid.uuid4()}")
    with httpx.Client(timeout=10) as http:
        consent_request = granted_consent(http, f"{sandbox.base_url}/sandbox/registries", person)
    check = PERSON_CLIENTS["exam_attempts"].check(PersonQuery(iin=person["iin"], consent_request=consent_request))

    assert answer.outcome == Outcome.PASSED
    assert check.outcome == Outcome.PASSED
    assert check.facts == {"theory": 0, "practical": 3, "last_failed_on": "2026-03-05"}


def test_the_client_reports_an_exam_system_error_as_unavailable(sandbox):
    person = sandbox.add(faults={"exam_attempts": "error"})

    answer = exam_results_client.report(iin=person["iin"], kind="theory", passed=False, score=10,
                                        at="2026-03-05T11:00:00.000+05:00", reference=f"test-{uuid.uuid4()}")

    assert answer.outcome == Outcome.UNAVAILABLE
    assert not SandboxExamResult.objects.filter(iin=person["iin"]).exists()
