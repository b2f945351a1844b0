"""The sandbox's payment provider (PROTOCOL.md, "payment").

Two sides, as a real provider has them:
- the provider's API, `POST {base}/payment/payments`, where Kuälik creates a payment (mounted with the other
  registries, so the sandbox's latency, error rate and the person's `payment` fault apply);
- the provider's pay page, `/sandbox/pay/<provider_reference>`, where a person pays or declines (GET, a form) and a
  program does the same with `POST {"outcome": "success" | "decline"}` (the contract's `POST <pay_url>`).
A decision is taken once; then the provider sends its signed callback to the payment's `callback_url`, synchronously,
so a test that POSTs to the pay URL finds the callback already delivered.
"""

import json
import logging
import uuid

import httpx
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from ..clients.payment import signed_headers
from .models import PaymentStatus, SandboxPayment, local_iso
from .views import BadRequest, iin_of, read_body, required_text, sandbox_endpoint, serve

logger = logging.getLogger(__name__)

PAY_PATH = "/sandbox/pay/"
OUTCOMES = {"success": PaymentStatus.PAID, "decline": PaymentStatus.DECLINED}
CALLBACK_TIMEOUT_SECONDS = 5
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def pay_url(payment: SandboxPayment) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{PAY_PATH}{payment.provider_reference}"


def payment_answer(payment: SandboxPayment) -> dict:
    return {"provider_reference": str(payment.provider_reference), "pay_url": pay_url(payment),
            "status": payment.status}


# ---------------------------------------------------------------------------------------------------------------
# The provider's API


def amount_of(body: dict) -> int:
    amount = body.get("amount_kzt")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise BadRequest(_("The field “amount_kzt” must be a whole number greater than zero."))
    return amount


def url_of(body: dict, field: str) -> str:
    url = required_text(body, field)
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        raise BadRequest(_("The field “%(field)s” must be an http or https URL.") % {"field": field})
    return url


@sandbox_endpoint
@require_POST
def create_payment(request: HttpRequest) -> HttpResponse:
    """A new pending payment; the same `reference` again is the same payment (a retried create), whatever it holds."""
    body = read_body(request)
    iin = iin_of(body)
    fields = {
        "iin": iin,
        "amount_kzt": amount_of(body),
        "description": required_text(body, "description")[:500],
        "callback_url": url_of(body, "callback_url"),
        "return_url": url_of(body, "return_url"),
    }
    reference = required_text(body, "reference")
    if len(reference) > 100:
        raise BadRequest(_("The field “reference” must be at most 100 characters long."))

    def answer() -> JsonResponse:
        # get_or_create survives two creates at once: the loser's insert fails on the unique reference and it reads.
        payment, _created = SandboxPayment.objects.get_or_create(reference=reference, defaults=fields)
        return JsonResponse(payment_answer(payment))

    return serve(registry="payment", endpoint="payments", iin=iin, consent_request=None, answer=answer)


# ---------------------------------------------------------------------------------------------------------------
# The pay page


@csrf_exempt  # the sandbox plays a provider's own site; its form posts back to it
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, provider_reference: uuid.UUID) -> HttpResponse:
    if request.method == "GET":
        payment = SandboxPayment.objects.filter(pk=provider_reference).first()
        if payment is None:
            raise Http404
        return render(request, "sandbox/pay.html", {"payment": payment, "amount": tenge(payment.amount_kzt)})
    from_form = request.content_type in FORM_TYPES
    try:
        outcome = request.POST.get("outcome") if from_form else read_body(request).get("outcome")
        if outcome not in OUTCOMES:
            raise BadRequest(_("The field “outcome” must be success or decline."))
    except BadRequest as error:
        return JsonResponse({"error": "bad_request", "detail": str(error)}, status=400)
    payment, decided = decide(provider_reference, OUTCOMES[outcome])
    if payment is None:
        return JsonResponse({"error": "not_found"}, status=404)
    # Decided now: the provider tells Kuälik. Decided before: the state as it is, and nothing is sent again.
    callback_status = send_callback(payment) if decided else None
    if from_form:
        return HttpResponseRedirect(payment.return_url)
    return JsonResponse({"status": payment.status, "callback_status": callback_status})


def tenge(amount: int) -> str:
    """5406 → "5 406" (a no-break space between thousands, as amounts are written in kk and ru)."""
    return f"{amount:,}".replace(",", "\u00a0")


def decide(provider_reference: uuid.UUID, status: PaymentStatus) -> tuple[SandboxPayment | None, bool]:
    """Pending → paid or declined, once: the conditional update lets only one of two concurrent decisions win."""
    won = SandboxPayment.objects.filter(pk=provider_reference, status=PaymentStatus.PENDING).update(
        status=status, decided_at=timezone.now())
    payment = SandboxPayment.objects.filter(pk=provider_reference).first()
    return payment, bool(won) and payment is not None


def callback_body(payment: SandboxPayment) -> bytes:
    return json.dumps({
        "reference": payment.reference,
        "provider_reference": str(payment.provider_reference),
        "status": payment.status,
        "amount_kzt": payment.amount_kzt,
        "at": local_iso(payment.decided_at),
    }).encode()


def send_callback(payment: SandboxPayment) -> int | None:
    """POST the signed decision to the payment's callback URL; its HTTP status, or None when it did not arrive."""
    body = callback_body(payment)
    headers = {"Content-Type": "application/json",
               **signed_headers(body, secret=settings.REGISTRY_CALLBACK_SECRET)}
    try:
        response = httpx.post(payment.callback_url, content=body, headers=headers, timeout=CALLBACK_TIMEOUT_SECONDS)
    except httpx.HTTPError:
        logger.warning("sandbox payment: the callback for %s to %s failed", payment.reference, payment.callback_url,
                       exc_info=True)
        return None
    if not 200 <= response.status_code < 300:
        logger.warning("sandbox payment: the callback for %s answered HTTP %s", payment.reference,
                       response.status_code)
    return response.status_code
