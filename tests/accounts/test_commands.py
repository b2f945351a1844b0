from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIRequestFactory

from accounts.authentication import ApiKeyAuthentication
from accounts.models import ChannelApiKey, Organisation, Role, User
from applications.models import Centre

pytestmark = pytest.mark.django_db


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_create_api_client_prints_a_working_key_as_its_last_line():
    lines = run("create_api_client", "--channel", "bank", "--name", "Halyk Bank")
    key = lines[-1]
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Api-Key {key}")
    client, _ = ApiKeyAuthentication().authenticate(request)
    assert client.organisation.name == "Halyk Bank"
    assert client.channel == "bank"
    assert not ChannelApiKey.objects.filter(hashed_key__contains=key.split(".")[1]).exists()


def test_a_second_key_for_the_same_organisation_reuses_it():
    first = run("create_api_client", "--channel", "bank", "--name", "Kaspi")[-1]
    second = run("create_api_client", "--channel", "bank", "--name", "Kaspi")[-1]
    assert first != second
    assert Organisation.objects.filter(name="Kaspi").count() == 1
    assert ChannelApiKey.objects.filter(organisation__name="Kaspi").count() == 2


def test_create_api_client_refuses_a_channel_that_is_not_a_partner_channel():
    with pytest.raises(CommandError):
        run("create_api_client", "--channel", "tson_branch", "--name", "X")
    assert not Organisation.objects.exists()


@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.EXAMINER, Role.POLICE_OFFICER, Role.ADMIN])
def test_create_staff_user_prints_the_token_as_its_last_line(role):
    lines = run("create_staff_user", "--role", role, "--username", "aigerim", "--password", "s3cret-pass-phrase")
    user = User.objects.get(username="aigerim")
    assert user.role == role
    assert Token.objects.get(user=user).key == lines[-1]
    assert user.check_password("s3cret-pass-phrase")
    assert user.is_superuser == (role == Role.ADMIN)


def test_create_staff_user_without_a_password_generates_and_shows_one():
    lines = run("create_staff_user", "--role", "examiner", "--username", "serik")
    password = next(line.split(": ", 1)[1] for line in lines if line.startswith("Password: "))
    assert User.objects.get(username="serik").check_password(password)


def test_create_staff_user_refuses_an_existing_username_and_changes_nothing():
    run("create_staff_user", "--role", "examiner", "--username", "serik", "--password", "first-pass-phrase")
    with pytest.raises(CommandError):
        run("create_staff_user", "--role", "police_officer", "--username", "serik", "--password", "x")
    user = User.objects.get(username="serik")
    assert user.role == Role.EXAMINER and user.check_password("first-pass-phrase")


def test_load_demo_data_is_idempotent():
    run("load_demo_data")
    counts = (Centre.objects.count(), User.objects.count(), ChannelApiKey.objects.count(), Token.objects.count())
    run("load_demo_data")
    assert counts == (Centre.objects.count(), User.objects.count(), ChannelApiKey.objects.count(),
                      Token.objects.count())
    assert counts[0] >= 3
    assert set(User.objects.values_list("role", flat=True)) >= {"tson_operator", "examiner", "police_officer",
                                                                "admin"}


def test_the_demo_staff_sign_in_with_the_readme_passwords_and_the_demo_key_works():
    run("load_demo_data")
    assert User.objects.get(username="officer").check_password("demo-officer-2026")
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION="Api-Key demobank.kualik-demo-bank-api-key-0001")
    client, _ = ApiKeyAuthentication().authenticate(request)
    assert client.channel == "bank"


@override_settings(SANDBOX_MODE=False)
def test_load_demo_data_refuses_outside_sandbox_mode():
    with pytest.raises(CommandError):
        run("load_demo_data")
    assert not User.objects.exists()
