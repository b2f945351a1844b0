"""DRF authentication: `Api-Key <key>` for partner channels, `Token <token>` for staff."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import STAFF_ROLES, ChannelApiKey, ChannelClient


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
        try:
            api_key = ChannelApiKey.objects.get_from_key(key)
        except ChannelApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("The API key is not valid.")) from None
        if api_key.has_expired or not api_key.organisation.is_active:
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
