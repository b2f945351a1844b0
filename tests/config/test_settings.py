"""The settings' promises: production passes the deploy check and refuses to start half-configured, development
lives in its own module, migrations match the models, staff need 2FA."""

import json
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
# Nothing is asked of these servers at start-up: the settings only need the addresses.
PRODUCTION_SERVICES = {
    "REDIS_URL": "redis://redis.example.kz:6379/0",
    "CELERY_BROKER_URL": "redis://redis.example.kz:6379/1",
}

def _signing_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()).decode()


PRODUCTION_SIGNING = {"LICENCE_SIGNING_KEYS": json.dumps({"kz-2026-1": _signing_key()}),
                      "LICENCE_SIGNING_KEY_ID": "kz-2026-1"}
# Every variable production refuses to start without; the README's Production section names each.
REQUIRED_IN_PRODUCTION = ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", *PRODUCTION_SERVICES, *PRODUCTION_GATEWAY,
                          *PRODUCTION_SIGNING]
# Variables of this test run that must not leak into a subprocess's settings.
NOT_INHERITED = ("DEBUG", "SANDBOX_MODE", "LICENCE_SIGNING_KEYS", "LICENCE_SIGNING_KEY_ID",
                 "STAFF_REQUIRE_OTP", "DJANGO_ALLOW_ASYNC_UNSAFE", "CELERY_TASK_ALWAYS_EAGER",
                 "DJANGO_SETTINGS_MODULE", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


def production_env(extra_env=None, *, settings="config.settings.production") -> dict:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update({
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "kualik.example.kz",
        "DATABASE_URL": env.get("DATABASE_URL", "sqlite:////tmp/kualik-settings-test.sqlite3"),
        **PRODUCTION_SERVICES,
        **PRODUCTION_GATEWAY,
        **PRODUCTION_SIGNING,
    })
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = settings
    env.update(extra_env or {})
    return env


def manage(*args, settings="config.settings.production", extra_env=None):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env=production_env(extra_env, settings=settings), timeout=120)


def python(script: str, env: dict):
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_settings_pass_the_deploy_check_with_no_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", REQUIRED_IN_PRODUCTION)
def test_production_settings_refuse_to_start_half_configured(missing):
    env = production_env()
    env.pop(missing)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert missing in result.stderr


def test_the_readme_names_every_variable_production_requires():
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("\nProduction: "):].split("\n\n")[0]
    assert [name for name in REQUIRED_IN_PRODUCTION if f"`{name}`" not in production] == []


def test_production_never_runs_tasks_in_the_request_and_caches_in_redis():
    script = (
        "from django.conf import settings as s; "
        "print(s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'])"
    )
    result = manage("shell", "-v", "0", "-c", script, extra_env={"CELERY_TASK_ALWAYS_EAGER": "1"})
    assert result.stdout.split() == ["False", "django_redis.cache.RedisCache", PRODUCTION_SERVICES["REDIS_URL"]], (
        result.stderr)


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery"])
def test_the_servers_entry_points_default_to_production(module):
    script = f"import os, {module}; from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"
    result = python(script, production_env(settings=None))
    assert result.stdout.split() == ["config.settings.production", "False"], result.stderr


def test_the_base_settings_hold_no_development_defaults():
    script = (
        "from config.settings import base; "
        "names = ['SECRET_KEY', 'ALLOWED_HOSTS', 'DATABASES', 'CACHES', 'CELERY_BROKER_URL', 'REDIS_URL', "
        "'PUBLIC_BASE_URL', 'REGISTRY_BASE_URL', 'REGISTRY_CALLBACK_SECRET']; "
        "print([n for n in names if hasattr(base, n)], base.DEBUG, base.SANDBOX_MODE, base.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = python(script, {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")})
    assert result.stdout.split() == ["[]", "False", "False", "False"], result.stderr


def test_manage_py_and_make_run_use_the_development_settings():
    script = "from django.conf import settings as s; print(s.SETTINGS_MODULE, s.SANDBOX_MODE)"
    result = manage("shell", "-v", "0", "-c", script, settings=None)
    assert result.stdout.split() == ["config.settings.development", "True"], result.stderr
    makefile = (ROOT / "Makefile").read_text()
    assert "export DJANGO_SETTINGS_MODULE ?= config.settings.development" in makefile


def test_development_without_services_queues_tasks_in_a_folder_for_a_real_worker(tmp_path):
    script = (
        "from django.conf import settings as s; "
        "print(s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'], "
        "s.CACHES['default']['BACKEND'])"
    )
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "DJANGO_SETTINGS_MODULE": "config.settings.development", "CELERY_BROKER_FOLDER": str(tmp_path)}
    result = python(script, env)
    assert result.stdout.split() == ["False", "filesystem://localhost/", str(tmp_path / "in"),
                                     "django.core.cache.backends.locmem.LocMemCache"], result.stderr


def test_development_with_a_redis_broker_and_no_redis_url_caches_in_the_brokers_redis():
    script = "from django.conf import settings as s; print(s.CACHES['default']['LOCATION'], s.REDIS_URL)"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "DJANGO_SETTINGS_MODULE": "config.settings.development", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9"}
    assert python(script, env).stdout.split() == ["redis://127.0.0.1:6379/9"] * 2  # the breakers' too


def test_the_procfile_serves_the_web_with_gunicorn():
    processes = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert processes["web"].startswith(".venv/bin/gunicorn config.wsgi ")
    assert set(processes) == {"web", "worker", "beat"}


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
                    settings="config.settings.development", extra_env={"SANDBOX_MODE": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    committed = (ROOT / "docs" / "openapi.yaml").read_text()
    assert generated.read_text() == committed, "docs/openapi.yaml is out of date: run `make schema`"
