"""The sandbox's API extras, mounted at `api/v1/sandbox/` only in sandbox mode."""

from django.urls import path

from . import api

app_name = "sandbox_api"

urlpatterns = [
    path("sms", api.SmsOutboxView.as_view(), name="sms-outbox"),
]
