"""The sandbox's SMS outbox over the API, so a demo or an end-to-end test can read the code the citizen received.

Open to anyone (it exists only in sandbox mode) and cursor-paginated, newest first: the outbox of a busy demo phone
grows while it is read, and a cursor does not skip or repeat messages the way page numbers would.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from config.api import CursorPagination, problem, problem_responses

from .models import SandboxSms, local_iso


class SmsOutboxPagination(CursorPagination):
    ordering = ("-sent_at", "-id")


class SandboxTimeField(serializers.DateTimeField):
    """Local time with milliseconds and the offset, as every sandbox time is written."""

    def to_representation(self, value) -> str:
        return local_iso(value)


class SandboxSmsSerializer(serializers.ModelSerializer):
    sent_at = SandboxTimeField(read_only=True)

    class Meta:
        model = SandboxSms
        fields = ("text", "sent_at")


def phone_from_query(value: str) -> str:
    """The phone as asked; an unencoded `+` arrives as a space, so `?phone=+7...` typed by hand still works."""
    phone = value.strip()
    return f"+{phone}" if phone.isdigit() else phone


@extend_schema(
    parameters=[OpenApiParameter("phone", {"type": "string", "pattern": r"^\+7\d{10}$"}, required=True,
                                 description="+7 and 10 digits")],
    responses={200: SandboxSmsSerializer(many=True), **problem_responses(
        "missing_field", "validation_error", authenticated=False, throttled=False)})
class SmsOutboxView(ListAPIView):
    """The SMS the sandbox gateway has sent to one phone, newest first."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []  # a development tool that tests poll
    serializer_class = SandboxSmsSerializer
    pagination_class = SmsOutboxPagination

    def list(self, request, *args, **kwargs) -> Response:
        if not phone_from_query(request.query_params.get("phone", "")):
            return problem("missing_field", _("A required field is missing."), status_code=400,
                           errors={"phone": [_("This query parameter is required.")]})
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return SandboxSms.objects.filter(phone=phone_from_query(self.request.query_params.get("phone", "")))
