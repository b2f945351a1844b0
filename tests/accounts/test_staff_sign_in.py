"""Staff sign in on their own pages: a password, a TOTP code when STAFF_REQUIRE_OTP is on, lockout after failures."""

import ast
import base64
import datetime
import io
import pathlib
import re

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone, translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from accounts.models import Role, User
from accounts.services import create_staff_user
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def post_password(client, username, password=PASSWORD, ip="10.1.1.1", **extra):
    return client.post("/staff/signin/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def code_for(device: TOTPDevice, *, step_offset: int = 0) -> str:
    """The code the staff member's app shows now (or `step_offset` 30-second steps away)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=step_offset):06d}"


def wrong_code_for(device: TOTPDevice) -> str:
    right = {code_for(device, step_offset=offset) for offset in (-1, 0, 1)}
    return next(candidate for candidate in ("000000", "111111", "222222", "333333") if candidate not in right)


@pytest.fixture
def otp_required(settings):
    settings.STAFF_REQUIRE_OTP = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the tests below count lockouts, not the seconds between codes


def staff_with_device(role=Role.POLICE_OFFICER, username="a.nurlan") -> tuple[User, TOTPDevice]:
    user = StaffFactory(username=username, role=role)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


# --- Without a second factor (development) ------------------------------------------------------------------------

def test_a_staff_member_signs_in_with_username_and_password_when_otp_is_off(client):
    StaffFactory(username="a.operator", role=Role.TSON_OPERATOR)
    response = post_password(client, "a.operator")
    assert response.status_code == 302 and response["Location"] == "/staff/"
    page = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="username">a.operator<' in page and "TSON operator" in page


def test_a_wrong_password_is_refused_with_a_message_and_no_session(client):
    StaffFactory(username="a.operator")
    page = post_password(client, "a.operator", "wrong", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The username or the password is not right." in page
    assert "_auth_user_id" not in client.session


def test_a_citizen_account_with_a_password_cannot_use_the_staff_sign_in(client):
    UserFactory(username="iin-871008401427", role=Role.CITIZEN)
    page = post_password(client, "iin-871008401427", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The username or the password is not right." in page
    assert "_auth_user_id" not in client.session


def test_the_staff_pages_ask_to_sign_in_and_come_back(client):
    StaffFactory(username="a.operator")
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"] == "/staff/signin/?next=%2Fstaff%2F"
    response = client.post("/staff/signin/?next=/staff/", {"username": "a.operator", "password": PASSWORD,
                                                          "next": "/staff/"})
    assert response["Location"] == "/staff/"


def test_signing_out_ends_the_staff_session(client):
    StaffFactory(username="a.operator")
    post_password(client, "a.operator")
    assert client.post("/staff/signout/").status_code == 302
    assert client.get("/staff/").status_code == 302


# --- With STAFF_REQUIRE_OTP ----------------------------------------------------------------------------------------

def test_with_otp_required_the_password_alone_does_not_sign_in(client, otp_required):
    _user, device = staff_with_device()
    response = post_password(client, "a.nurlan")
    assert response.status_code == 302 and response["Location"] == "/staff/signin/code/"
    assert "_auth_user_id" not in client.session
    assert client.get("/staff/").status_code == 302


def test_with_otp_required_the_code_from_the_app_signs_in(client, otp_required):
    user, device = staff_with_device()
    post_password(client, "a.nurlan")
    response = client.post("/staff/signin/code/", {"otp_token": code_for(device)}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 302 and response["Location"] == "/staff/"
    assert client.session["_auth_user_id"] == str(user.pk)
    page = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Signed in with the authenticator app" in page


def test_a_wrong_authenticator_code_is_refused(client, otp_required):
    _user, device = staff_with_device()
    post_password(client, "a.nurlan")
    page = client.post("/staff/signin/code/", {"otp_token": wrong_code_for(device)}, REMOTE_ADDR="10.1.1.1",
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The code is not right." in page
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="a.nurlan").failures_since_start == 1


def test_the_code_step_without_a_right_password_goes_back_to_the_password(client, otp_required):
    _user, device = staff_with_device()
    response = client.post("/staff/signin/code/", {"otp_token": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/staff/signin/"
    assert "_auth_user_id" not in client.session


def test_the_password_step_is_forgotten_after_a_few_minutes(client, otp_required, settings, monkeypatch):
    _user, device = staff_with_device()
    post_password(client, "a.nurlan")
    session = client.session
    session["staff_sign_in"]["at"] -= settings.STAFF_OTP_STEP_MINUTES * 60 + 1
    session.save()
    response = client.post("/staff/signin/code/", {"otp_token": code_for(device)})
    assert response["Location"] == "/staff/signin/"


def test_a_new_staff_member_sets_up_the_authenticator_app_at_first_sign_in(client, otp_required):
    user, _token, _password = create_staff_user(role=Role.EXAMINER, username="b.examiner", password=PASSWORD)
    response = post_password(client, "b.examiner")
    assert response["Location"] == "/staff/signin/authenticator-app/"
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<svg" in page and 'data-testid="secret"' in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert base64.b32decode(secret) == device.bin_key
    response = client.post("/staff/signin/authenticator-app/", {"otp_token": code_for(device)})
    assert response["Location"] == "/staff/"
    device.refresh_from_db()
    user.refresh_from_db()
    assert device.confirmed and user.otp_enrolment_until is None
    assert client.session["_auth_user_id"] == str(user.pk)


def test_without_an_open_enrolment_window_the_staff_member_is_told_to_ask_an_administrator(client, otp_required):
    StaffFactory(username="c.officer", role=Role.POLICE_OFFICER)  # created in the admin: no window opened
    response = post_password(client, "c.officer")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Ask an administrator" in page and "<svg" not in page
    assert not TOTPDevice.objects.exists()


def test_an_administrator_lets_a_staff_member_set_up_a_new_app_and_the_old_one_stops(client, otp_required):
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    user, old_device = staff_with_device()
    client.force_login(admin)
    client.post("/admin/accounts/user/", {"action": "allow_authenticator_enrolment", "_selected_action": [user.pk]})
    client.logout()
    assert not TOTPDevice.objects.filter(pk=old_device.pk).exists()
    response = post_password(client, "a.nurlan")
    assert response["Location"] == "/staff/signin/authenticator-app/"


@pytest.mark.parametrize("otp", [False, True], ids=["without-otp", "with-otp"])
def test_the_demo_staff_sign_in_with_the_passwords_in_the_readme(client, settings, otp):
    settings.STAFF_REQUIRE_OTP = otp
    call_command("load_demo_data", stdout=io.StringIO())
    for username, password in (("operator", "demo-operator-2026"), ("examiner", "demo-examiner-2026"),
                               ("officer", "demo-officer-2026"), ("admin", "demo-admin-2026")):
        client.cookies.clear()
        response = post_password(client, username, password)
        assert response["Location"] == ("/staff/signin/authenticator-app/" if otp else "/staff/"), username
        if otp:
            assert client.get(response["Location"]).status_code == 200
            device = TOTPDevice.objects.get(user__username=username, confirmed=False)
            response = client.post(response["Location"], {"otp_token": code_for(device)})
            assert response["Location"] == "/staff/", username
        assert client.get("/staff/").status_code == 200


# --- Lockout (django-axes) -----------------------------------------------------------------------------------------

def test_a_username_is_locked_after_repeated_failures_even_with_the_right_password(client, settings):
    settings.STAFF_SIGN_IN_FAILURE_LIMIT = 3
    StaffFactory(username="a.operator")
    answers = [post_password(client, "a.operator", "wrong", ip=f"10.0.0.{n}").status_code for n in range(3)]
    assert answers == [200, 200, 429]
    response = post_password(client, "a.operator", ip="10.0.0.99", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429 and "Sign-in is locked for a while" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_lifts_after_the_cool_off(client, settings):
    settings.STAFF_SIGN_IN_FAILURE_LIMIT = 3
    StaffFactory(username="a.operator")
    for _ in range(3):
        post_password(client, "a.operator", "wrong")
    assert post_password(client, "a.operator").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - datetime.timedelta(minutes=settings.STAFF_LOCKOUT_MINUTES, seconds=1))
    response = post_password(client, "a.operator")
    assert response.status_code == 302 and response["Location"] == "/staff/"


def test_an_ip_is_locked_after_repeated_failures_on_any_usernames(client, settings):
    settings.STAFF_SIGN_IN_FAILURE_LIMIT = 3
    StaffFactory(username="a.operator")
    for name in ("x1", "x2", "x3"):
        post_password(client, name, "wrong", ip="10.9.9.9")
    assert post_password(client, "a.operator", ip="10.9.9.9").status_code == 429
    assert post_password(client, "a.operator", ip="10.8.8.8").status_code == 302


def test_wrong_authenticator_codes_lock_the_username_too(client, settings, otp_required):
    settings.STAFF_SIGN_IN_FAILURE_LIMIT = 3
    _user, device = staff_with_device()
    post_password(client, "a.nurlan")
    wrong = wrong_code_for(device)
    answers = [client.post("/staff/signin/code/", {"otp_token": wrong}, REMOTE_ADDR="10.1.1.1").status_code
               for _ in range(3)]
    assert answers == [200, 200, 429]
    response = client.post("/staff/signin/code/", {"otp_token": code_for(device)}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_a_successful_sign_in_clears_earlier_failures(client, settings):
    settings.STAFF_SIGN_IN_FAILURE_LIMIT = 3
    StaffFactory(username="a.operator")
    post_password(client, "a.operator", "wrong")
    post_password(client, "a.operator", "wrong")
    post_password(client, "a.operator")
    client.post("/staff/signout/")
    assert post_password(client, "a.operator", "wrong").status_code == 200


def test_the_admin_sign_in_still_works_and_is_locked_out_the_same_way(client, settings):
    settings.STAFF_SIGN_IN_FAILURE_LIMIT = 2
    UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD,
                                                           "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    client.logout()
    for _ in range(2):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_api_tokens_are_not_subject_to_the_sign_in_lockout(client, api_client, settings):
    settings.STAFF_SIGN_IN_FAILURE_LIMIT = 2
    user, token, _password = create_staff_user(role=Role.POLICE_OFFICER, username="d.officer", password=PASSWORD)
    for _ in range(2):
        post_password(client, "d.officer", "wrong", ip="127.0.0.1")
    response = api_client.get("/api/v1/applications", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200, response.content


# --- The home page ------------------------------------------------------------------------------------------------

def test_the_token_shown_is_the_staff_members_own(client):
    mine = StaffFactory(username="me", role=Role.EXAMINER)
    theirs = StaffFactory(username="them", role=Role.EXAMINER)
    my_token, their_token = Token.objects.create(user=mine), Token.objects.create(user=theirs)
    client.force_login(mine)
    page = client.get("/staff/").content.decode()
    assert re.search(r'data-testid="api-token">([0-9a-f]+)<', page).group(1) == my_token.key
    assert their_token.key not in page


def test_replacing_the_token_makes_a_new_one_and_the_old_one_stops(client, api_client):
    user, old, _password = create_staff_user(role=Role.POLICE_OFFICER, username="e.officer", password=PASSWORD)
    client.force_login(user)
    assert client.post("/staff/token/").status_code == 302
    new = Token.objects.get(user=user).key
    assert new != old and new in client.get("/staff/").content.decode()
    assert api_client.get("/api/v1/applications", HTTP_AUTHORIZATION=f"Token {old}").status_code == 401


def test_only_administrators_see_the_link_to_the_admin(client):
    client.force_login(UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True))
    assert 'href="/admin/"' in client.get("/staff/").content.decode()
    client.force_login(StaffFactory(username="a.operator"))
    page = client.get("/staff/").content.decode()
    assert 'href="/admin/"' not in page and 'href="/api/v1/schema/"' in page


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.EXAMINER, Role.POLICE_OFFICER, Role.ADMIN])
def test_each_role_has_a_home_page_in_each_language(client, role, language):
    user = StaffFactory(username=f"staff-{role}", role=role, first_name="Айгүл", last_name="Сейітова")
    Token.objects.create(user=user)
    client.force_login(user)
    response = client.get("/staff/", HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in page and page.count("<h1") == 1
    with translation.override(language):
        assert f'data-testid="role">{user.get_role_display()}<' in page
    assert "Айгүл Сейітова" in page and 'data-testid="duties"' in page


def test_a_signed_in_citizen_finds_no_staff_pages(client):
    client.force_login(UserFactory(username="iin-871008401427", role=Role.CITIZEN, iin="871008401427"))
    for path in ("/staff/", "/staff/signin/", "/staff/signin/code/", "/staff/signin/authenticator-app/"):
        assert client.get(path).status_code == 404, path
    assert client.post("/staff/token/").status_code == 404
    assert client.post("/staff/signout/").status_code == 404
    assert "_auth_user_id" in client.session  # the citizen's portal session is left alone


def test_a_signed_in_staff_member_finds_no_citizen_pages(client):
    client.force_login(StaffFactory(username="a.operator"))
    assert client.get("/my/applications/").status_code == 404


def test_accounts_imports_no_workflow_app():
    workflow = {"applications", "exams", "reviews"}
    root = pathlib.Path(__file__).resolve().parents[2] / "accounts"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert name.split(".")[0] not in workflow, f"{path.relative_to(root.parent)} imports {name}"
