from django.urls import path

from accounts import views as sign_in_views

from . import verify_views, views

app_name = "portal"

urlpatterns = [
    path("signin/", sign_in_views.sign_in, name="sign-in"),
    path("signin/code/", sign_in_views.sign_in_code, name="sign-in-code"),
    path("signout/", sign_in_views.sign_out, name="sign-out"),
    path("apply/<slug:service>/", views.apply_start, name="apply"),
    path("apply/<slug:service>/check/", views.apply_check, name="apply-check"),
    path("my/applications/", views.my_applications, name="applications"),
    path("my/applications/<uuid:pk>/", views.application_detail, name="application"),
    path("my/applications/<uuid:pk>/consent/", views.consent, name="consent"),
    path("my/applications/<uuid:pk>/form/", views.application_form, name="form"),
    path("my/applications/<uuid:pk>/cancel/", views.cancel, name="cancel"),
    path("my/applications/<uuid:pk>/withdraw-consent/", views.withdraw_consent, name="withdraw-consent"),
    path("my/applications/<uuid:pk>/fee/", views.fee, name="fee"),
    path("my/applications/<uuid:pk>/fee/pay/", views.fee_pay, name="fee-pay"),
    path("my/applications/<uuid:pk>/payments/<uuid:payment_pk>/receipt.pdf", views.payment_receipt,
         name="payment-receipt"),
    path("my/applications/<uuid:pk>/photo/", views.photo_instructions, name="photo"),
    path("my/applications/<uuid:pk>/card.pdf", verify_views.card_pdf, name="card-pdf"),
    path("my/access-log/", views.access_log, name="access-log"),
]
