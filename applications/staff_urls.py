"""The TSON operator's desk (/staff/desk/): find an application, take the fee, capture the photo; the photo view."""

from django.urls import path

from . import staff_views

app_name = "desk"

urlpatterns = [
    path("", staff_views.find, name="find"),
    path("applications/<uuid:application_id>/", staff_views.application_page, name="application"),
    path("applications/<uuid:application_id>/fee/", staff_views.take_fee, name="fee"),
    path("applications/<uuid:application_id>/photo/", staff_views.take_photo, name="take-photo"),
    path("applications/<uuid:application_id>/photo.jpg", staff_views.photo, name="photo"),
]
