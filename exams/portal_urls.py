"""The citizen's exam pages on the portal (slot picker, booking, rescheduling, cancelling, results)."""

from django.urls import path  # noqa: F401

app_name = "exams_portal"

urlpatterns: list = []
