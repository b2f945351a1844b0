"""The police officer's pages (/staff/review/): the queue, the application, the decision."""

from django.urls import path

from . import staff_views

app_name = "review"

urlpatterns = [
    path("", staff_views.queue, name="queue"),
    path("applications/<uuid:pk>/", staff_views.application_page, name="application"),
    path("applications/<uuid:pk>/release/", staff_views.release, name="release"),
]
