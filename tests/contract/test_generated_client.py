"""A client generated from the committed schema runs a bank's whole intake flow, typed, against the live server."""

import os
import subprocess
import sys

import pytest

from tests.contract.conftest import BIN, ROOT, SCHEMA

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FLOW = ROOT / "tests" / "contract" / "bank_flow.py"


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory):
    """openapi-python-client's package for docs/openapi.yaml, as an integrator would generate it."""
    where = tmp_path_factory.mktemp("client")
    config = where / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the package is only imported and type-checked
    result = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", SCHEMA, "--meta", "none", "--config", config,
         "--output-path", where / "kualik_client"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr  # nothing left out
    return where


def test_the_flow_and_the_generated_client_pass_mypy_strict(generated_client):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version", "3.11",
         "--cache-dir", os.devnull, FLOW, generated_client / "kualik_client"],
        capture_output=True, text=True, timeout=300, cwd=generated_client,
        env={**os.environ, "MYPYPATH": str(generated_client)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_bank_runs_the_intake_flow_with_the_generated_client(generated_client, live_server, sandbox, bank_key,
                                                               pickup_tson):
    person = sandbox.add()
    result = subprocess.run(
        [sys.executable, FLOW, "--base-url", live_server.url, "--api-key", bank_key, "--iin", person["iin"],
         "--phone", person["phone"], "--pickup-tson", pickup_tson],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(generated_client)})
    assert result.returncode == 0, result.stdout + result.stderr
    number = result.stdout.split()[-1]
    from applications.models import Application

    assert Application.objects.get(iin=person["iin"]).number == number
