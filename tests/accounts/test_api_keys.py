import pytest
from django.db import connection
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.test import APIRequestFactory

from accounts.authentication import ApiKeyAuthentication, StaffTokenAuthentication
from accounts.models import ChannelApiKey, ChannelClient, Role
from tests.factories import OrganisationFactory, StaffFactory, UserFactory, api_key_for

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()


def request_with(header):
    return factory.get("/api/v1/applications", HTTP_AUTHORIZATION=header)


def every_stored_text():
    """Every text value of every column of the API key table, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ChannelApiKey._meta.db_table}")
        return [str(value) for row in cursor.fetchall() for value in row]


def test_the_key_is_stored_only_as_a_hash():
    key = api_key_for(OrganisationFactory())
    prefix, _, secret = key.partition(".")
    stored = every_stored_text()
    assert all(secret not in value for value in stored)
    assert all(key not in value for value in stored)
    api_key = ChannelApiKey.objects.get(prefix=prefix)
    assert api_key.hashed_key.startswith("sha512$$")


def test_a_valid_key_authenticates_as_its_organisation():
    organisation = OrganisationFactory(channel="driving_school")
    key = api_key_for(organisation)
    client, _auth = ApiKeyAuthentication().authenticate(request_with(f"Api-Key {key}"))
    assert isinstance(client, ChannelClient)
    assert client.organisation == organisation
    assert client.channel == "driving_school"
    assert client.is_authenticated


@pytest.mark.parametrize("mangle", [lambda k: k + "x", lambda k: k[:-1], lambda k: "zzzzzzzz." + k.split(".")[1]])
def test_an_altered_key_is_refused(mangle):
    key = api_key_for(OrganisationFactory())
    with pytest.raises(exceptions.AuthenticationFailed):
        ApiKeyAuthentication().authenticate(request_with(f"Api-Key {mangle(key)}"))


def test_a_revoked_key_is_refused():
    key = api_key_for(OrganisationFactory())
    ChannelApiKey.objects.filter(prefix=key.split(".")[0]).update(revoked=True)
    with pytest.raises(exceptions.AuthenticationFailed):
        ApiKeyAuthentication().authenticate(request_with(f"Api-Key {key}"))


def test_a_key_of_a_deactivated_organisation_is_refused():
    organisation = OrganisationFactory()
    key = api_key_for(organisation)
    organisation.is_active = False
    organisation.save()
    with pytest.raises(exceptions.AuthenticationFailed):
        ApiKeyAuthentication().authenticate(request_with(f"Api-Key {key}"))


def test_other_schemes_are_left_to_the_other_authenticators():
    assert ApiKeyAuthentication().authenticate(request_with("Token abc")) is None
    assert ApiKeyAuthentication().authenticate(factory.get("/")) is None


def test_a_staff_token_authenticates_staff_only():
    officer = StaffFactory(role=Role.POLICE_OFFICER)
    token = Token.objects.create(user=officer)
    user, _ = StaffTokenAuthentication().authenticate(request_with(f"Token {token.key}"))
    assert user == officer

    citizen_token = Token.objects.create(user=UserFactory(role=Role.CITIZEN))
    with pytest.raises(exceptions.AuthenticationFailed):
        StaffTokenAuthentication().authenticate(request_with(f"Token {citizen_token.key}"))


def test_an_inactive_staff_members_token_is_refused():
    officer = StaffFactory(role=Role.POLICE_OFFICER, is_active=False)
    token = Token.objects.create(user=officer)
    with pytest.raises(exceptions.AuthenticationFailed):
        StaffTokenAuthentication().authenticate(request_with(f"Token {token.key}"))


def test_remembered_keys_are_forgotten_when_revoked(settings):
    settings.API_KEY_CACHE_SECONDS = 300
    key = api_key_for(OrganisationFactory())
    assert ApiKeyAuthentication().authenticate(request_with(f"Api-Key {key}"))
    api_key = ChannelApiKey.objects.get(prefix=key.split(".")[0])
    api_key.revoked = True
    api_key.save()
    with pytest.raises(exceptions.AuthenticationFailed):
        ApiKeyAuthentication().authenticate(request_with(f"Api-Key {key}"))


def test_a_remembered_key_still_checks_the_secret(settings):
    settings.API_KEY_CACHE_SECONDS = 300
    key = api_key_for(OrganisationFactory())
    ApiKeyAuthentication().authenticate(request_with(f"Api-Key {key}"))
    with pytest.raises(exceptions.AuthenticationFailed):
        ApiKeyAuthentication().authenticate(request_with(f"Api-Key {key}x"))
