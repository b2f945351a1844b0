from django.urls import path

from . import api

urlpatterns = [
    path("exam-slots", api.ExamSlotListCreate.as_view(), name="exam-slot-list"),
    path("exam-slots/<int:pk>", api.ExamSlotDetail.as_view(), name="exam-slot-detail"),
    path("applications/<uuid:pk>/bookings", api.BookingCreate.as_view(), name="application-bookings"),
    path("applications/<uuid:pk>/bookings/<int:booking_id>", api.BookingDetail.as_view(),
         name="application-booking"),
    path("applications/<uuid:pk>/bookings/<int:booking_id>/reschedule", api.BookingReschedule.as_view(),
         name="application-booking-reschedule"),
    path("bookings", api.CentreBookings.as_view(), name="centre-bookings"),
    path("bookings/<int:booking_id>/result", api.BookingResult.as_view(), name="booking-result"),
]
