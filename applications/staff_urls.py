"""The TSON operator's desk (/staff/desk/): find an application, take the fee, capture the photo; the photo view."""

from django.urls import path  # noqa: F401

app_name = "desk"

urlpatterns: list = []
