"""The sandbox payment provider's page for people (and the contract's `POST <pay_url>` for programs), mounted at
`sandbox/pay/` only in sandbox mode."""

from django.urls import path

from . import payments

app_name = "sandbox_pay"

urlpatterns = [
    path("<uuid:provider_reference>", payments.pay, name="pay"),
]
