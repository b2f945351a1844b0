"""The examiner's pages (/staff/exams/) and the theory exam terminal."""

from django.urls import path

from . import staff_views

app_name = "exams_staff"

urlpatterns = [
    path("", staff_views.day_page, name="day"),
    path("slots/new/", staff_views.new_slot, name="slot-new"),
    path("bookings/<int:booking_id>/open/", staff_views.open_theory_exam, name="open"),
    path("bookings/<int:booking_id>/sheet/", staff_views.practical_sheet, name="sheet"),
    path("bookings/<int:booking_id>/sheet/result/", staff_views.practical_sheet_result, name="sheet-result"),
    # The terminal's cookie is limited to this path and those under it.
    path("terminal/<uuid:session_id>/", staff_views.terminal_question, name="terminal"),
    path("terminal/<uuid:session_id>/finish/", staff_views.terminal_finish, name="terminal-finish"),
    path("terminal/<uuid:session_id>/result/", staff_views.terminal_result, name="terminal-result"),
]
