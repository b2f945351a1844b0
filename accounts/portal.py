"""Citizens sign in to the portal with their IIN and a one-time code sent by SMS to the phone the state knows."""

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from registries.clients import sms_client
from registries.results import Outcome

from .models import Role, SignInCode, User


class SignInError(Exception):
    def __init__(self, message: str, *, field: str = "iin"):
        super().__init__(message)
        self.message, self.field = message, field


def _digest(iin: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"signin:{iin}:{code}".encode(), hashlib.sha256).hexdigest()


def send_sign_in_code(*, iin: str, language: str) -> None:
    """Send a 6-digit code valid SIGN_IN_CODE_MINUTES; at most SIGN_IN_CODES_PER_HOUR codes an hour per IIN."""
    hour_ago = timezone.now() - datetime.timedelta(hours=1)
    if SignInCode.objects.filter(iin=iin, created_at__gte=hour_ago).count() >= settings.SIGN_IN_CODES_PER_HOUR:
        raise SignInError(_("Too many codes were asked for this IIN. Try again in an hour."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    with translation.override(language):
        text = _("Kuälik: your sign-in code is %(code)s. It is valid for %(minutes)d minutes. Do not share it.") % {
            "code": code, "minutes": settings.SIGN_IN_CODE_MINUTES}
    answer = sms_client.send(iin=iin, text=text)
    if answer.outcome == Outcome.FAILED:
        raise SignInError(_("We could not find a phone registered for this IIN. Register your phone in the "
                            "mobile citizens database at a TSON or on eGov."))
    if answer.outcome != Outcome.PASSED:
        raise SignInError(_("The SMS service is not answering. Please try again in a minute."))
    SignInCode.objects.filter(iin=iin, used_at__isnull=True).update(used_at=timezone.now())  # older codes die
    SignInCode.objects.create(iin=iin, code_hash=_digest(iin, code),
                              expires_at=timezone.now() + datetime.timedelta(minutes=settings.SIGN_IN_CODE_MINUTES))


def check_sign_in_code(*, iin: str, code: str) -> User:
    """The citizen's account for a right code; a wrong one spends a try (5 per code)."""
    user, error = _spend_try(iin=iin, code=code)
    if error:
        raise SignInError(error, field="code")
    return user


@transaction.atomic
def _spend_try(*, iin: str, code: str) -> tuple[User | None, str | None]:
    # Returns rather than raises, so that the spent try is committed with the transaction.
    entry = (SignInCode.objects.select_for_update().filter(iin=iin, used_at__isnull=True)
             .order_by("-created_at").first())
    if entry is None or entry.attempts_left == 0:
        return None, _("Ask for a new code.")
    if entry.expires_at < timezone.now():
        return None, _("The code has expired. Ask for a new one.")
    if not hmac.compare_digest(entry.code_hash, _digest(iin, code)):
        entry.attempts_left -= 1
        entry.save(update_fields=["attempts_left"])
        if entry.attempts_left == 0:
            return None, _("The code is not right and no tries are left. Ask for a new code.")
        return None, _("The code is not right. Tries left: %(count)d.") % {"count": entry.attempts_left}
    entry.used_at = timezone.now()
    entry.save(update_fields=["used_at"])
    user, _created = User.objects.get_or_create(iin=iin, defaults={"username": f"iin-{iin}", "role": Role.CITIZEN})
    if user.role != Role.CITIZEN or not user.is_active:
        return None, _("This IIN cannot sign in to the citizen portal.")
    return user, None
