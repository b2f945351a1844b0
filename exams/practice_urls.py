"""Practice mode on the portal (/practice/): any visitor, untimed, nothing stored."""

from django.urls import path  # noqa: F401

app_name = "practice"

urlpatterns: list = []
