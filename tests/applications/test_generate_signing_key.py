import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from applications import verification


def run(*args) -> list[str]:
    out = StringIO()
    call_command("generate_signing_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_generated_key_signs_codes_that_verify_with_its_published_public_half(settings):
    lines = run("--id", "kz-2027-01")
    signing = json.loads(lines[-1])
    public = json.loads(lines[1])
    settings.LICENCE_SIGNING_KEYS = signing
    settings.LICENCE_SIGNING_KEY_ID = "kz-2027-01"
    seal = verification.LicenceSeal(number="KZ00000001", categories=["B"], issued_on=datetime.date(2027, 1, 1),
                                    expires_on=datetime.date(2037, 1, 1), surname="Test", initials="T.",
                                    issuer="KZ", key_id="kz-2027-01")
    code = verification.sign(seal)
    # Retired: only the public half is left, and the code printed with it still verifies.
    settings.LICENCE_SIGNING_KEYS = {}
    settings.LICENCE_VERIFICATION_KEYS = public
    assert verification.verify(code).number == "KZ00000001"
    assert [key["kid"] for key in verification.jwks()["keys"]] == ["kz-2027-01"]


def test_each_run_makes_a_new_key():
    assert run("--id", "kz-a")[-1] != run("--id", "kz-a")[-1]


def test_pem_alone_is_a_private_key():
    lines = run("--id", "kz-a", "--pem")
    assert lines[0] == "-----BEGIN PRIVATE KEY-----" and lines[-1] == "-----END PRIVATE KEY-----"


def test_a_development_key_id_is_refused():
    with pytest.raises(CommandError, match="dev-"):
        run("--id", "dev-2027")
