"""Fixtures for testing the published schema from outside: a live server with the sandbox, a bank's key, a citizen."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "openapi.yaml"
BIN = Path(sys.executable).parent


@pytest.fixture
def bank_key():
    from tests.factories import OrganisationFactory, api_key_for

    return api_key_for(OrganisationFactory(channel="bank"))


@pytest.fixture
def pickup_tson():
    from tests.factories import CentreFactory

    return CentreFactory(code="contract-tson", offers_tson=True).code
