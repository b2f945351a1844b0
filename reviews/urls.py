from django.urls import path

from . import api

urlpatterns = [
    path("review-queue", api.ReviewQueue.as_view(), name="review-queue"),
    path("refusal-reasons", api.RefusalReasons.as_view(), name="refusal-reasons"),
    path("applications/<uuid:pk>/claim", api.Claim.as_view(), name="application-claim"),
    path("applications/<uuid:pk>/decision", api.Decision.as_view(), name="application-decision"),
    path("applications/<uuid:pk>/print", api.Print.as_view(), name="application-print"),
    path("applications/<uuid:pk>/reprint", api.Reprint.as_view(), name="application-reprint"),
]
