"""The clients and the gateway against the live sandbox: an outage is always "unavailable", never a verdict."""

import threading

import pytest

from registries import gateway
from registries.clients import PERSON_CLIENTS, PersonQuery, consent_client, sms_client
from registries.results import Outcome

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def granted_consent(sandbox, person) -> str:
    answer = consent_client.request(iin=person["iin"], application="test", channel="bank",
                                    purpose="eligibility_check", registries=list(PERSON_CLIENTS), language="en",
                                    callback_url=None)
    assert answer.status == "code_sent"
    assert consent_client.confirm(request_id=answer.request_id,
                                  code=sandbox.consent_code(person["phone"])).status == "granted"
    return answer.request_id


@pytest.mark.parametrize("registry", sorted(PERSON_CLIENTS))
@pytest.mark.parametrize("fault", ["error", "timeout", "garbage"])
def test_every_fault_of_every_registry_is_unavailable(sandbox, registry, fault):
    person = sandbox.add(faults={registry: fault})
    request_id = granted_consent(sandbox, person)
    answer = PERSON_CLIENTS[registry].check(PersonQuery(iin=person["iin"], consent_request=request_id,
                                                        categories=("B",)))
    assert answer.outcome == Outcome.UNAVAILABLE
    assert answer.code is None
    assert answer.reason in {"http_500", "timeout", "unparseable"}


@pytest.mark.parametrize("registry", sorted(PERSON_CLIENTS))
def test_a_query_without_consent_is_unavailable_not_a_verdict(sandbox, registry):
    person = sandbox.add()
    answer = PERSON_CLIENTS[registry].check(PersonQuery(iin=person["iin"], consent_request="none"))
    assert answer.outcome == Outcome.UNAVAILABLE
    assert answer.reason == "http_403"


def test_an_unreachable_registry_is_unavailable(settings):
    settings.REGISTRY_BASE_URL = "http://127.0.0.1:9/registries"  # the discard port: nothing listens
    settings.REGISTRY_URLS = {}
    settings.REGISTRY_RETRY_BACKOFF_SECONDS = 0.01
    gateway._breakers.clear()
    answer = PERSON_CLIENTS["erap"].check(PersonQuery(iin="871008401427", consent_request="x"))
    assert (answer.outcome, answer.reason) == (Outcome.UNAVAILABLE, "transport:ConnectError")
    gateway._breakers.clear()


def test_the_breaker_opens_after_repeated_failures_and_stops_calling(sandbox, settings):
    settings.CIRCUIT_BREAKER_FAIL_MAX = 3
    gateway._breakers.clear()
    person = sandbox.add(faults={"erdb": "error"})
    request_id = granted_consent(sandbox, person)
    query = PersonQuery(iin=person["iin"], consent_request=request_id)
    reasons = [PERSON_CLIENTS["erdb"].check(query).reason for _ in range(5)]
    assert reasons[:2] == ["http_500", "http_500"]
    assert reasons[-1] == "circuit_open"
    calls = [e for e in sandbox.requests_for(person["iin"]) if e["registry"] == "erdb"]
    assert len(calls) == 3
    # Other registries are not affected by erdb's open breaker.
    assert PERSON_CLIENTS["erap"].check(query).outcome == Outcome.PASSED


@pytest.mark.redis
def test_the_breaker_state_is_shared_through_redis(sandbox, settings):
    settings.CIRCUIT_BREAKER_FAIL_MAX = 2
    gateway._breakers.clear()
    person = sandbox.add(faults={"medical": "error"})
    request_id = granted_consent(sandbox, person)
    query = PersonQuery(iin=person["iin"], consent_request=request_id, categories=("B",))
    for _ in range(2):
        PERSON_CLIENTS["medical"].check(query)
    gateway._breakers.clear()  # as if another process: only Redis remembers
    assert PERSON_CLIENTS["medical"].check(query).reason == "circuit_open"


def test_a_full_bulkhead_answers_unavailable_at_once(sandbox, settings):
    settings.REGISTRY_BULKHEAD_SIZE = 1
    settings.REGISTRY_BULKHEAD_WAIT_SECONDS = 0.05
    settings.REGISTRY_SANDBOX_LATENCY_MS = 400
    gateway._bulkheads.clear()
    person = sandbox.add()
    request_id = granted_consent(sandbox, person)
    query = PersonQuery(iin=person["iin"], consent_request=request_id)
    results = []
    slow = threading.Thread(target=lambda: results.append(PERSON_CLIENTS["person"].check(query)))
    slow.start()
    import time

    time.sleep(0.1)
    crowded = PERSON_CLIENTS["person"].check(query)
    other = PERSON_CLIENTS["erap"].check(query)  # a different compartment
    slow.join()
    gateway._bulkheads.clear()
    assert crowded.reason == "bulkhead_full"
    assert other.outcome == Outcome.PASSED
    assert results[0].outcome == Outcome.PASSED


def test_the_sms_gateway_finds_the_phone_from_the_iin(sandbox):
    person = sandbox.add()
    assert sms_client.send(iin=person["iin"], text="Kuälik test notice").outcome == Outcome.PASSED
    assert sandbox.sms_for(person["phone"])[0]["text"] == "Kuälik test notice"


def test_an_sms_gateway_outage_is_unavailable(sandbox):
    person = sandbox.add(faults={"sms": "error"})
    assert sms_client.send(iin=person["iin"], text="x").outcome == Outcome.UNAVAILABLE


def test_the_consent_service_being_down_is_unavailable(sandbox):
    person = sandbox.add(faults={"consent": "error"})
    answer = consent_client.request(iin=person["iin"], application="t", channel="bank", purpose="x",
                                    registries=["person"], language="en", callback_url=None)
    assert answer.unavailable


def test_a_consent_request_is_not_retried_after_a_timeout(sandbox):
    person = sandbox.add(faults={"consent": "timeout"})
    answer = consent_client.request(iin=person["iin"], application="t", channel="bank", purpose="x",
                                    registries=["person"], language="en", callback_url=None)
    assert (answer.status, answer.reason) == ("unavailable", "timeout")
    assert len([e for e in sandbox.requests_for(person["iin"]) if e["registry"] == "consent"]) == 1


@pytest.mark.parametrize("registry", sorted(PERSON_CLIENTS))
@pytest.mark.parametrize("body", [{"found": True, "unexpected": 1}, {"found": "yes"}, {}])
def test_a_json_answer_off_the_protocol_is_unavailable_not_a_verdict(monkeypatch, registry, body):
    monkeypatch.setattr(gateway, "post", lambda registry, path, payload, **kw: body)
    answer = PERSON_CLIENTS[registry].check(PersonQuery(iin="871008401427", consent_request="x", categories=("B",)))
    assert (answer.outcome, answer.reason) == (Outcome.UNAVAILABLE, "unexpected_answer")
