"""Error pages in the portal's look and language, problem+json under /api/ whatever DEBUG says, and the security
headers every page carries (Content-Security-Policy, Permissions-Policy)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)

pytestmark = pytest.mark.django_db


def assert_problem_404(response):
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found"
    assert set(body) == {"type", "title", "status", "detail", "code"}
    assert body["status"] == 404


def test_an_unknown_page_answers_the_portals_own_404_in_the_visitors_language(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="brand"' in page and page.count("<h1") == 1
    assert '<html lang="ru">' in page


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/applications/not-a-uuid", "/api/", "/api/v2/x"])
def test_every_unknown_path_under_the_api_is_problem_json_whatever_debug_says(settings, path, debug):
    settings.DEBUG = debug
    assert_problem_404(Client().get(path))


@pytest.mark.urls("tests.config.urls_for_tests")
def test_a_failure_shows_the_portals_own_500_page():
    client = Client(raise_request_exception=False)
    response = client.get("/test-only/fails", HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'class="brand"' in page and page.count("<h1") == 1
    assert "Traceback" not in page and "RuntimeError" not in page


@pytest.mark.urls("tests.config.urls_for_tests")
def test_a_failure_under_the_api_is_problem_json():
    response = Client(raise_request_exception=False).get("/api/v1/test-only/fails")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "server_error"


def test_development_settings_show_the_portals_404_not_djangos_debug_page():
    script = (
        "from django.test import Client; r = Client().get('/no-such-page/', HTTP_HOST='127.0.0.1'); "
        "a = Client().get('/api/v1/applications/not-a-uuid', HTTP_HOST='127.0.0.1'); "
        "print(r.status_code, 'class=\"brand\"' in r.content.decode(), 'URLconf' in r.content.decode(), "
        "a.status_code, a['Content-Type'])"
    )
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "DJANGO_SETTINGS_MODULE": "config.settings.development",
           "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:////tmp/kualik-pages-test.sqlite3")}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["404", "True", "False", "404", "application/problem+json"], result.stderr


def test_pages_carry_a_content_security_policy_with_no_inline_code(client):
    response = client.get("/")
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    page = response.content.decode()
    assert INLINE_SCRIPT.findall(page) == []
    assert INLINE_STYLE.findall(page) == []
    assert 'name="htmx-config"' in page  # htmx would otherwise inject its indicator styles inline


def test_the_admin_works_under_the_content_security_policy(admin_client):
    for path in ("/admin/login/", "/admin/", "/admin/applications/centre/add/"):
        response = admin_client.get(path, follow=True)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" in response
        assert INLINE_SCRIPT.findall(response.content.decode()) == [], path


def test_no_page_may_use_the_camera_unless_it_opts_in(client):
    assert "camera=()" in client.get("/")["Permissions-Policy"]
    assert "camera=()" in client.get("/api/v1/centres")["Permissions-Policy"]


@pytest.mark.urls("tests.config.urls_for_tests")
def test_the_photo_page_may_ask_for_this_sites_camera_only(client):
    policy = [part.strip() for part in client.get("/test-only/photo")["Permissions-Policy"].split(",")]
    assert "camera=(self)" in policy
    assert "microphone=()" in policy and "geolocation=()" in policy
