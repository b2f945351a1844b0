"""The citizen's exam pages on the portal (slot picker, booking, rescheduling, cancelling, results)."""

from django.urls import path

from . import views

app_name = "exams_portal"

urlpatterns = [
    path("my/applications/<uuid:pk>/exams/<slug:kind>/", views.choose_slot, name="choose"),
    path("my/applications/<uuid:pk>/exams/bookings/<int:booking_id>/", views.booking_made, name="booking"),
    path("my/applications/<uuid:pk>/exams/bookings/<int:booking_id>/cancel/", views.cancel_booking, name="cancel"),
]
