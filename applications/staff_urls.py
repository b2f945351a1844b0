"""The TSON operator's desk (/staff/desk/): find an application, take the fee, capture the photo, hand over the
card; the photo view; and the foreign-licence exchange taken at the desk."""

from django.urls import path

from . import desk_views, staff_views

app_name = "desk"

urlpatterns = [
    path("", staff_views.find, name="find"),
    path("applications/<uuid:application_id>/", staff_views.application_page, name="application"),
    path("applications/<uuid:application_id>/fee/", staff_views.take_fee, name="fee"),
    path("applications/<uuid:application_id>/photo/", staff_views.take_photo, name="take-photo"),
    path("applications/<uuid:application_id>/photo.jpg", staff_views.photo, name="photo"),
    path("applications/<uuid:application_id>/handover/", desk_views.hand_over, name="handover"),
    path("exchange/new/", desk_views.exchange_new, name="exchange-new"),
    path("exchange/<uuid:application_id>/", desk_views.exchange, name="exchange"),
    path("exchange/<uuid:application_id>/consent/", desk_views.exchange_consent, name="exchange-consent"),
]
