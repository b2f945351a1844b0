"""The performance dashboard (/staff/performance/) and its tables as CSV, with the same filters."""

from django.urls import path

from . import views

app_name = "performance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<slug:table>.csv", views.table_csv, name="csv"),
]
