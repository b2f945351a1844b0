"""The police officer's pages (/staff/review/): the queue, the application, the decision, and the print queue."""

from django.urls import path

from . import print_views, staff_views

app_name = "review"

urlpatterns = [
    path("", staff_views.queue, name="queue"),
    path("applications/<uuid:pk>/", staff_views.application_page, name="application"),
    path("applications/<uuid:pk>/release/", staff_views.release, name="release"),
    path("print/", print_views.print_queue, name="print-queue"),
    path("print/batch/", print_views.print_batch, name="print-batch"),
    path("print/<uuid:pk>/reprint/", print_views.reprint, name="reprint"),
    path("licences/<str:number>/card.pdf", print_views.card_pdf, name="card-pdf"),
]
