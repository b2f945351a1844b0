"""DRF authentication: `Api-Key <key>` for partner channels, `Token <token>` for staff."""

import threading

from cachetools import TLRUCache
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import STAFF_ROLES, ChannelApiKey, ChannelClient

# Keys by prefix, remembered per process for API_KEY_CACHE_SECONDS: a channel polling its applications should not
# cost a database read for its key on every request. Revoking a key in this process forgets it at once (signal
# in accounts.apps); other processes stop accepting it within API_KEY_CACHE_SECONDS.
# The time to live is read when a key is remembered, so that operators (and tests) may change it.
_keys: TLRUCache = TLRUCache(maxsize=10_000, ttu=lambda _prefix, _key, now: now + settings.API_KEY_CACHE_SECONDS)
_keys_lock = threading.Lock()


def _usable_key(prefix: str) -> ChannelApiKey | None:
    with _keys_lock:
        api_key = _keys.get(prefix)
    if api_key is None:
        api_key = ChannelApiKey.objects.get_usable_keys().filter(prefix=prefix).first()
        if api_key is not None and settings.API_KEY_CACHE_SECONDS > 0:
            with _keys_lock:
                _keys[prefix] = api_key
    return api_key


def forget_keys(**kwargs) -> None:
    with _keys_lock:
        _keys.clear()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _sep, key = header.partition(" ")
        if scheme != self.keyword:
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed(_("The API key is missing."))
        api_key = _usable_key(key.partition(".")[0])
        if api_key is None or not api_key.is_valid(key) or api_key.has_expired or not api_key.organisation.is_active:
            raise exceptions.AuthenticationFailed(_("The API key is not valid."))
        return ChannelClient(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


class StaffTokenAuthentication(authentication.TokenAuthentication):
    """DRF tokens, accepted only for active users in a staff role."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if user.role not in STAFF_ROLES:
            raise exceptions.AuthenticationFailed(_("This token is not for a staff account."))
        return user, token


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes `Authorization: Api-Key <key>`."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`: a partner channel's key (create_api_client)."}


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.StaffTokenAuthentication"
    name = "StaffToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <token>`: a staff member's token (create_staff_user)."}
