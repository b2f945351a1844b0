from django.urls import path

from . import api

urlpatterns = [
    path("applications", api.ApplicationListCreate.as_view(), name="application-list"),
    path("applications/<uuid:pk>", api.ApplicationDetail.as_view(), name="application-detail"),
    path("applications/<uuid:pk>/consent", api.ConsentConfirm.as_view(), name="application-consent"),
    path("applications/<uuid:pk>/consent/resend", api.ConsentResend.as_view(), name="application-consent-resend"),
    path("applications/<uuid:pk>/consent/withdraw", api.ConsentWithdraw.as_view(),
         name="application-consent-withdraw"),
    path("applications/<uuid:pk>/submit", api.ApplicationSubmit.as_view(), name="application-submit"),
    path("applications/<uuid:pk>/cancel", api.ApplicationCancel.as_view(), name="application-cancel"),
    path("centres", api.CentreList.as_view(), name="centre-list"),
    path("applications/<uuid:pk>/access-log", api.AccessLog.as_view(), name="application-access-log"),
    path("callbacks/consent", api.ConsentCallback.as_view(), name="consent-callback"),
    path("applications/<uuid:pk>/payments", api.PaymentCreate.as_view(), name="application-payments"),
    path("applications/<uuid:pk>/payments/desk", api.PaymentDesk.as_view(), name="application-payment-desk"),
    path("applications/<uuid:pk>/payments/<uuid:payment_id>/receipt.pdf", api.PaymentReceipt.as_view(),
         name="application-payment-receipt"),
    path("applications/<uuid:pk>/photo", api.PhotoUpload.as_view(), name="application-photo"),
    path("callbacks/payment", api.PaymentCallback.as_view(), name="payment-callback"),
    path("applications/<uuid:pk>/issue", api.HandOver.as_view(), name="application-issue"),
    path("licences/verify", api.LicenceVerify.as_view(), name="licence-verify"),
    path("licences/keys", api.LicenceKeys.as_view(), name="licence-keys"),
    path("licences/<str:number>/card.pdf", api.LicenceCard.as_view(), name="licence-card"),
]
