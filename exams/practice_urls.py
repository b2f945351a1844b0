"""Practice mode on the portal (/practice/): any visitor, untimed, nothing stored."""

from django.urls import path

from . import practice_views

app_name = "practice"

urlpatterns = [
    path("", practice_views.start, name="start"),
    path("question/", practice_views.question, name="question"),
    path("check/", practice_views.check, name="check"),
]
