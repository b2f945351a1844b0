"""The examiner's pages (/staff/exams/) and the theory exam terminal."""

from django.urls import path  # noqa: F401

app_name = "exams_staff"

urlpatterns: list = []
