"""schemathesis, as an outside tester, against the live server's published schema: a bounded, seeded run.

It reads `/api/v1/schema/` from the live server and calls every operation with generated requests (valid and
invalid), as a bank and as a TSON operator, with IINs the sandbox knows and a real application for the paths that
name one. Any server error, undocumented status, wrong content type or body that does not match the schema fails.
"""

import json
import os
import subprocess
import uuid

import pytest

from tests.contract.conftest import BIN

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SEED = 20261128
MAX_EXAMPLES = 12


def run_schemathesis(live_server, tmp_path, *, authorization: str, application_id: str, iins: list[str]):
    config = tmp_path / "schemathesis.toml"
    config.write_text("\n".join([
        f"seed = {SEED}",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "[dictionaries.iins]",
        f"values = {json.dumps(iins)}",
        "[parameters]",
        f'"path.id" = "{application_id}"',
        '"body.iin" = { dictionary = "iins", probability = 0.8 }',
        "",
    ]))
    report = tmp_path / "report.json"
    result = subprocess.run(
        [BIN / "st", "--config-file", config, "run", f"{live_server.url}/api/v1/schema/", "--checks", CHECKS,
         "--phases", "examples,coverage,fuzzing", "--mode", "all", "--workers", "1",
         "--header", f"Authorization: {authorization}", "--request-timeout", "30", "--max-response-time", "15",
         "--no-color", "--report", "json", "--report-json-path", report],
        capture_output=True, text=True, timeout=420, cwd=tmp_path,  # its cache of crashes stays out of the repo
        env={**os.environ, "NO_COLOR": "1"})
    if os.environ.get("SHOW_SCHEMATHESIS"):
        print(result.stdout)
    return result


@pytest.fixture
def sandbox_iins(sandbox):
    return [sandbox.add()["iin"] for _ in range(6)]


def open_application(client, iin):
    response = client.post("/api/v1/applications", {"service": "first_issue", "iin": iin, "categories": ["B"]},
                           format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_schemathesis_finds_nothing_as_a_bank(live_server, sandbox, sandbox_iins, bank_key, pickup_tson, tmp_path):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {bank_key}")
    application_id = open_application(client, sandbox_iins[0])
    result = run_schemathesis(live_server, tmp_path, authorization=f"Api-Key {bank_key}",
                              application_id=application_id, iins=sandbox_iins[1:])
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "passed" in result.stdout


def test_schemathesis_finds_nothing_as_a_tson_operator(live_server, sandbox, sandbox_iins, tmp_path):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from accounts.models import Role
    from tests.factories import StaffFactory

    token = Token.objects.create(user=StaffFactory(role=Role.TSON_OPERATOR)).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post("/api/v1/applications", {
        "service": "foreign_exchange", "iin": sandbox_iins[0], "categories": ["B"],
        "foreign_licence": {"country": "DE", "number": "X1", "categories": ["B"], "valid_until": "2030-01-01"}},
        format="json")
    assert response.status_code == 201, response.content
    result = run_schemathesis(live_server, tmp_path, authorization=f"Token {token}",
                              application_id=response.json()["id"], iins=sandbox_iins[1:])
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "passed" in result.stdout


def test_schemathesis_finds_nothing_as_an_examiner(live_server, sandbox, sandbox_iins, tmp_path):
    """Slots created with generated bodies, a centre's bookings of a day, results for generated booking ids."""
    from rest_framework.authtoken.models import Token

    from accounts.models import Role
    from tests.factories import CentreFactory, StaffFactory

    CentreFactory(code="exam-centre", offers_exams=True)
    token = Token.objects.create(user=StaffFactory(role=Role.EXAMINER)).key
    result = run_schemathesis(live_server, tmp_path, authorization=f"Token {token}",
                              application_id=str(uuid.uuid4()), iins=sandbox_iins)
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "passed" in result.stdout


def test_schemathesis_finds_nothing_as_a_police_officer(live_server, sandbox, sandbox_iins, tmp_path):
    """The review queue with generated filters, claims and decisions with generated bodies, the refusal catalogue."""
    from rest_framework.authtoken.models import Token

    from accounts.models import Role
    from tests.factories import StaffFactory

    token = Token.objects.create(user=StaffFactory(role=Role.POLICE_OFFICER)).key
    result = run_schemathesis(live_server, tmp_path, authorization=f"Token {token}",
                              application_id=str(uuid.uuid4()), iins=sandbox_iins)
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "passed" in result.stdout
