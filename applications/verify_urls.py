"""The public verify page, mounted at /verify/ (config.urls): scan or paste a card's QR code."""

from django.urls import path

from . import verify_views

app_name = "verify"

urlpatterns = [
    path("", verify_views.verify_page, name="page"),
]
