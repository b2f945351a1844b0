"""The settings' promises: production passes the deploy check, migrations match the models, staff need 2FA."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_GATEWAY = {
    "PUBLIC_BASE_URL": "https://kualik.example.kz",
    "REGISTRY_BASE_URL": "https://shep-adapter.example.kz/registries",
    "REGISTRY_CALLBACK_SECRET": secrets.token_urlsafe(32),
}


def manage(*args, settings="config.settings.production", extra_env=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBUG", "SANDBOX_MODE", "STAFF_REQUIRE_OTP", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update({
        "DJANGO_SETTINGS_MODULE": settings,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "kualik.example.kz",
        "DATABASE_URL": env.get("DATABASE_URL", "sqlite:////tmp/kualik-settings-test.sqlite3"),
        **PRODUCTION_GATEWAY,
    })
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_settings_pass_the_deploy_check_with_no_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", *PRODUCTION_GATEWAY])
def test_production_settings_refuse_to_start_without_secrets(missing):
    env = {k: v for k, v in os.environ.items() if k != missing}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": "x" * 60,
                "ALLOWED_HOSTS": "kualik.example.kz", "DATABASE_URL": "sqlite:////tmp/x.sqlite3",
                **PRODUCTION_GATEWAY})
    env.pop(missing)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_turns_sandbox_and_debug_off_and_requires_a_second_factor():
    script = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SANDBOX_MODE, s.STAFF_REQUIRE_OTP, s.SESSION_COOKIE_SECURE)"
    )
    result = manage("shell", "-v", "0", "-c", script, extra_env={"DEBUG": "1", "SANDBOX_MODE": "1"})
    assert result.stdout.split() == ["False", "False", "True", "True"], result.stderr


def test_the_admin_asks_for_a_one_time_code_in_production():
    script = (
        "from django.test import Client; "
        "r = Client().get('/admin/login/', secure=True, HTTP_HOST='kualik.example.kz'); "
        "print(r.status_code, 'otp_token' in r.content.decode())"
    )
    result = manage("shell", "-v", "0", "-c", script)
    assert result.stdout.split() == ["200", "True"], result.stdout + result.stderr


def test_migrations_match_the_models():
    result = manage("makemigrations", "--check", "--dry-run", settings="config.settings.test")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_committed_openapi_schema_matches_the_code(tmp_path):
    """docs/openapi.yaml is the published contract: regenerate it with `make schema` when the API changes."""
    generated = tmp_path / "openapi.yaml"
    result = manage("spectacular", "--file", str(generated), "--validate", "--fail-on-warn",
                    settings="config.settings.base", extra_env={"SANDBOX_MODE": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    committed = (ROOT / "docs" / "openapi.yaml").read_text()
    assert generated.read_text() == committed, "docs/openapi.yaml is out of date: run `make schema`"
