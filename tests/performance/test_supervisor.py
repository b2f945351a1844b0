"""The supervisor role: a staff role made by the staff command, loaded with the demo staff, signed in like the rest."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import STAFF_ROLES, Role, User

pytestmark = pytest.mark.django_db


def test_create_staff_user_makes_a_supervisor():
    out = StringIO()
    call_command("create_staff_user", "--role", "supervisor", "--username", "s.dana", "--password",
                 "a-long-pass-phrase-2026", stdout=out)
    user = User.objects.get(username="s.dana")
    assert user.role == Role.SUPERVISOR and user.is_staff_role and Role.SUPERVISOR in STAFF_ROLES
    assert not user.is_staff  # the Django admin stays for administrators


def test_the_demo_supervisor_signs_in_with_the_readme_password_and_finds_the_dashboard(client):
    call_command("load_demo_data", stdout=StringIO())
    assert User.objects.get(username="supervisor").role == Role.SUPERVISOR
    response = client.post("/staff/signin/", {"username": "supervisor", "password": "demo-supervisor-2026"})
    assert response.status_code == 302 and response["Location"] == "/staff/"
    home = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/staff/performance/"' in home and 'data-testid="duties"' in home
    assert client.get("/staff/performance/").status_code == 200
