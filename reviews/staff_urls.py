"""The police officer's pages (/staff/review/): the queue, the application, the decision."""

from django.urls import path  # noqa: F401

app_name = "review"

urlpatterns: list = []
