"""Baselines for bench/api.py, mounted in sandbox mode only (never in production)."""

from django.db import transaction
from django.http import JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import SandboxSms


def bare(request):
    """A bare Django view behind the same middleware."""
    return JsonResponse({"ok": True})


@extend_schema(exclude=True)
class OneRowWrite(APIView):
    """The floor under any create: a channel client's authenticated, throttled JSON POST that writes one row in a
    transaction with the ORM and answers 201."""

    def get(self, request):
        """The floor under any read through DRF: the same authentication and rate limit, nothing read."""
        return Response({"ok": True})

    def post(self, request):
        with transaction.atomic():
            SandboxSms.objects.create(phone="+70000000000", text=str(request.data)[:200])
        return Response({"ok": True}, status=201)
