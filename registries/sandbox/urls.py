"""The sandbox's registry endpoints (PROTOCOL.md), mounted at `sandbox/registries/` only in sandbox mode."""

from django.urls import path

from . import payments, views

app_name = "registry_sandbox"

urlpatterns = [
    path("consent/requests", views.consent_requests, name="consent-requests"),
    path("consent/requests/<uuid:request_id>/confirm", views.consent_confirm, name="consent-confirm"),
    path("consent/requests/<uuid:request_id>/resend", views.consent_resend, name="consent-resend"),
    path("consent/requests/<uuid:request_id>/withdraw", views.consent_withdraw, name="consent-withdraw"),
    path("sms/send", views.sms_send, name="sms-send"),
    path("exam_attempts/results", views.exam_results, name="exam-results"),
    path("licence_registry/licences", views.licence_issued, name="licence-issued"),
    path("payment/payments", payments.create_payment, name="payment-create"),
    path("_log", views.call_log, name="call-log"),
    path("<str:registry>/query", views.registry_query, name="query"),
]
