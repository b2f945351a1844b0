"""Formalisation (step 15): the state fee, online or at the TSON desk, and the photo. When both are in, whichever
came last, the application goes to the police by itself, once (under the application's lock).
"""

import hashlib
import hmac
import logging
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed
from PIL import Image, UnidentifiedImageError

from registries.clients import payment_client
from registries.clients.payment import sign_callback
from registries.results import Outcome

from .. import representation_cache
from ..errors import ApplicationError, ApplicationErrorCode, WrongStatus
from ..models import (
    Application,
    CallbackNonce,
    Check,
    Payment,
    Photo,
    PhotoSource,
    Registry,
    Service,
    ServicePolicy,
    Status,
)
from ..workflow import lock, move_application, notify_on_commit

logger = logging.getLogger(__name__)

CALLBACK_MAX_AGE_SECONDS = 300
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
PHOTO_MIN_WIDTH, PHOTO_MIN_HEIGHT = 413, 531
# A few megabytes of JPEG can decode to gigabytes: nothing larger than this is decoded.
PHOTO_MAX_PIXELS = 40_000_000


def _complete_if_ready(application: Application, actor) -> Application:
    """Fee and photo both in: on to the police. Called under the application's lock, so it happens once."""
    if application.status == Status.FORMALIZATION and can_proceed(application.complete_formalization):
        return move_application(application=application, transition="complete_formalization", actor=actor)
    return application


def _in_formalization(application: Application, step: str) -> None:
    if application.status != Status.FORMALIZATION:
        raise WrongStatus(application, step)


# ---------------------------------------------------------------------------------------------------------------
# The state fee


def _fee_paid_error(application: Application) -> ApplicationError:
    return WrongStatus(application, "pay", _("The state fee is already paid."))


def create_payment(*, application: Application, actor=None) -> Payment:
    """An online payment of today's fee. Asked twice (at once, too), the pending payment is the same one.

    The payment row is committed first (the application's lock and a partial unique constraint make it one), then
    the provider is asked outside any transaction, by the payment's id, which it dedupes on: no lock is held while
    the provider answers, and a crash between the two leaves a pending payment that the next ask completes.
    """
    with transaction.atomic():
        application = lock(application.pk).application
        _in_formalization(application, "pay")
        if application.fee_paid_at is not None:
            raise _fee_paid_error(application)
        payment = Payment.objects.filter(application=application, status=Payment.State.PENDING).first()
        if payment is None:
            payment = Payment.objects.create(application=application, amount_kzt=ServicePolicy.current_fee_kzt(),
                                             method=Payment.Method.ONLINE)
    if payment.pay_url:
        return payment
    answer = payment_client.create(
        reference=str(payment.pk), amount_kzt=payment.amount_kzt, iin=application.iin,
        description=_("State fee for a driving licence, application %(number)s") % {"number": application.number},
        callback_url=f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('payment-callback')}",
        return_url=f"{settings.PUBLIC_BASE_URL.rstrip('/')}/my/applications/{application.pk}/")
    if answer.outcome != Outcome.PASSED:
        raise ApplicationError(ApplicationErrorCode.REGISTRY_UNAVAILABLE,
                               _("The payment provider does not answer. Please try again in a few minutes."))
    Payment.objects.filter(pk=payment.pk, pay_url="").update(provider_reference=answer.facts["provider_reference"],
                                                             pay_url=answer.facts["pay_url"])
    payment.refresh_from_db()
    return payment


def _mark_fee_paid(application: Application, payment: Payment, now, actor) -> Application:
    payment.status, payment.decided_at = Payment.State.PAID, now
    payment.save(update_fields=["status", "decided_at", "receipt", "taken_by"])
    application.fee_paid_at = now
    application.save(update_fields=["fee_paid_at", "updated_at"])
    notify_on_commit(application.pk, "fee_paid", {"payment_id": str(payment.pk), "amount_kzt": payment.amount_kzt})
    return _complete_if_ready(application, actor)


@transaction.atomic
def pay_at_desk(*, application: Application, receipt: str, actor) -> Payment:
    """The fee taken by a TSON operator, with the receipt number."""
    application = lock(application.pk).application
    _in_formalization(application, "desk_payment")
    if application.fee_paid_at is not None:
        raise _fee_paid_error(application)
    receipt = (receipt or "").strip()
    if not receipt:
        raise ApplicationError(ApplicationErrorCode.MISSING_FIELD, _("Enter the receipt number."), field="receipt")
    now = timezone.now()
    # A pending online payment gives way: paid at the desk, it must not be paid online too.
    Payment.objects.filter(application=application, status=Payment.State.PENDING).update(
        status=Payment.State.DECLINED, decided_at=now)
    payment = Payment.objects.create(application=application, amount_kzt=ServicePolicy.current_fee_kzt(),
                                     method=Payment.Method.DESK, receipt=receipt[:64], taken_by=actor)
    _mark_fee_paid(application, payment, now, actor)
    return payment


@dataclass(frozen=True)
class CallbackVerdict:
    accepted: bool
    reason: str = ""


def verify_payment_callback(*, body: bytes, timestamp: str, nonce: str, signature: str,
                            now: float | None = None) -> CallbackVerdict:
    """Signed with the shared secret over the timestamp, the nonce and the body; fresh; its nonce never seen."""
    if not (timestamp and nonce and signature):
        return CallbackVerdict(False, "unsigned")
    try:
        moment = int(timestamp)
    except ValueError:
        return CallbackVerdict(False, "bad_timestamp")
    expected = sign_callback(body, secret=settings.REGISTRY_CALLBACK_SECRET, timestamp=moment, nonce=nonce)
    if not hmac.compare_digest(signature.encode(), expected.encode()):  # bytes: a non-ASCII header is just wrong
        return CallbackVerdict(False, "bad_signature")
    if abs((now or time.time()) - moment) > CALLBACK_MAX_AGE_SECONDS:
        return CallbackVerdict(False, "stale")
    try:
        with transaction.atomic():
            CallbackNonce.objects.create(nonce=nonce[:100], source="payment")
    except IntegrityError:
        return CallbackVerdict(False, "replayed")
    return CallbackVerdict(True)


def record_payment_outcome(*, reference: str, status: str, amount_kzt) -> str:
    """The provider's word on a payment. A repeated callback finds the payment decided and does nothing twice."""
    try:
        uuid.UUID(reference)
    except ValueError:
        application_id = None
    else:
        application_id = Payment.objects.filter(pk=reference).values_list("application_id", flat=True).first()
    if application_id is None:
        logger.warning("payment callback for an unknown payment %s", reference)
        return "unknown"
    with transaction.atomic():
        application = lock(application_id).application
        payment = Payment.objects.select_for_update().get(pk=reference)
        if payment.status != Payment.State.PENDING:
            if status == "paid" and payment.status == Payment.State.DECLINED:
                # Paid at the provider after it was given up here (the fee was taken at the desk): a refund case.
                logger.warning("payment %s paid at the provider after it was declined here: to be refunded",
                               reference)
            return "already_decided"
        now = timezone.now()
        if status == "paid":
            if amount_kzt != payment.amount_kzt:
                logger.warning("payment %s paid %r, expected %s: left pending", reference, amount_kzt,
                               payment.amount_kzt)
                return "amount_mismatch"
            if application.fee_paid_at is not None:  # paid at the desk meanwhile: nothing more to take
                payment.status, payment.decided_at = Payment.State.DECLINED, now
                payment.save(update_fields=["status", "decided_at"])
                return "already_paid"
            _mark_fee_paid(application, payment, now, None)
            return "paid"
        if status == "declined":
            payment.status, payment.decided_at = Payment.State.DECLINED, now
            payment.save(update_fields=["status", "decided_at"])
            representation_cache.forget(application.pk)
            notify_on_commit(application.pk, "fee_declined", {"payment_id": str(payment.pk)})
            return "declined"
    logger.warning("payment callback with an unknown status %r for %s", status, reference)
    return "unknown_status"


# ---------------------------------------------------------------------------------------------------------------
# The photo


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    size: int


def _invalid_photo(reason: str) -> ApplicationError:
    return ApplicationError(ApplicationErrorCode.INVALID_PHOTO, reason, field="photo")


def inspect_photo(upload) -> PhotoFacts:
    """What the image itself says (Pillow), not its name: JPEG or PNG, portrait, at least 413×531, at most 5 MB."""
    size = upload.size
    if size > settings.PHOTO_MAX_BYTES:
        raise _invalid_photo(_("The photo is larger than 5 MB."))
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            image_format, (width, height) = image.format, image.size
            if width * height > PHOTO_MAX_PIXELS:
                raise _invalid_photo(_("The photo has too many pixels: at most %(megapixels)d megapixels.")
                                     % {"megapixels": PHOTO_MAX_PIXELS // 1_000_000})
            image.load()  # decoding it whole: a truncated or corrupt file fails here, not on the card
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise _invalid_photo(_("The file is not a JPEG or PNG image.")) from None
    finally:
        upload.seek(0)
    if image_format not in PHOTO_FORMATS:
        raise _invalid_photo(_("The photo must be a JPEG or PNG image."))
    if height <= width:
        raise _invalid_photo(_("The photo must be portrait: taller than it is wide."))
    if width < PHOTO_MIN_WIDTH or height < PHOTO_MIN_HEIGHT:
        raise _invalid_photo(_("The photo must be at least %(width)d×%(height)d pixels; this one is "
                               "%(actual_width)d×%(actual_height)d.") % {
            "width": PHOTO_MIN_WIDTH, "height": PHOTO_MIN_HEIGHT, "actual_width": width, "actual_height": height})
    return PhotoFacts(PHOTO_FORMATS[image_format], width, height, size)


def capture_photo(*, application: Application, upload, actor) -> Photo:
    """The photo taken at the desk: checked, stored privately, and the application goes on if the fee is paid."""
    facts = inspect_photo(upload)
    with transaction.atomic():
        application = lock(application.pk).application
        _in_formalization(application, "photo")
        extension = "jpg" if facts.content_type == "image/jpeg" else "png"
        photo = Photo(application=application, source=PhotoSource.TSON, content_type=facts.content_type,
                      width=facts.width, height=facts.height, size=facts.size, taken_by=actor)
        digest = hashlib.sha256(f"{application.pk}{timezone.now().isoformat()}".encode()).hexdigest()[:16]
        photo.file.save(f"{digest}.{extension}", upload, save=False)
        photo.save()
        application.photo_source, application.photo_captured_at = PhotoSource.TSON, photo.taken_at
        application.save(update_fields=["photo_source", "photo_captured_at", "updated_at"])
        notify_on_commit(application.pk, "photo_taken", {"photo_id": photo.pk})
        _complete_if_ready(application, actor)
    return photo


def registry_holds_photo(application: Application) -> bool:
    facts = (Check.objects.filter(application=application, registry=Registry.PERSON)
             .values_list("facts", flat=True).first()) or {}
    return bool(facts.get("photo"))


def use_registry_photo(application: Application) -> bool:
    """A replacement uses the photo the person registry holds, when it holds one (inside the submit's lock)."""
    if application.service != Service.REPLACEMENT or application.photo_source or not registry_holds_photo(application):
        return False
    now = timezone.now()
    Photo.objects.create(application=application, source=PhotoSource.REGISTRY, taken_at=now)
    application.photo_source, application.photo_captured_at = PhotoSource.REGISTRY, now
    return True


def current_photo(application: Application) -> Photo | None:
    return Photo.objects.filter(application=application).order_by("-taken_at", "-id").first()


def desk_photo_bytes(application: Application) -> bytes | None:
    """The photo taken at the desk, for the card; None for the registry's photo (which stays with the registry)."""
    photo = current_photo(application)
    if photo is None or photo.source != PhotoSource.TSON or not photo.file:
        return None
    with photo.file.open("rb") as stored:
        return stored.read()
