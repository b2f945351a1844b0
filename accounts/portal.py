"""Citizens sign in to the portal with their IIN and a one-time code sent by SMS to the phone the state knows.

Nothing a caller sees tells an IIN with a registered phone from one without: a code row is written for every IIN
asked for, the SMS gateway is reached by a task after the answer (with a broker; in-process without one), and every
limit counts requests, never sent messages. The limits are counted in the database, so that every process shares
them and a request that two processes race on is decided there.
"""

import datetime
import hashlib
import hmac
import logging
import math
import secrets

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.jobs import enqueue_on_commit
from registries.clients import sms_client
from registries.results import Outcome

from .models import Role, SignInAttempt, SignInCode, User

logger = logging.getLogger(__name__)

class SignInError(Exception):
    def __init__(self, message: str, *, field: str = "iin"):
        super().__init__(message)
        self.message, self.field = message, field


class NewCodeTooSoon(SignInError):
    """A code was sent less than SIGN_IN_RESEND_INTERVAL_SECONDS ago; the earlier one still counts."""


def _digest(iin: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"signin:{iin}:{code}".encode(), hashlib.sha256).hexdigest()


def _count_per_ip(kind: str, ip: str, limit: int) -> None:
    """One more attempt of `kind` from `ip`; refused when the last hour already holds `limit` of them."""
    now = timezone.now()
    hour_ago = now - datetime.timedelta(hours=1)
    SignInAttempt.objects.filter(created_at__lt=hour_ago).delete()  # what no limit counts any more
    SignInAttempt.objects.create(kind=kind, ip=ip, created_at=now)
    attempts = SignInAttempt.objects.filter(kind=kind, ip=ip, created_at__gte=hour_ago)
    if attempts.count() > limit:
        first = attempts.order_by("created_at").values_list("created_at", flat=True)[0]
        minutes = max(1, math.ceil((first - hour_ago).total_seconds() / 60))
        raise SignInError(ngettext(
            "Too many sign-in attempts from your network. Try again in %(minutes)d minute.",
            "Too many sign-in attempts from your network. Try again in %(minutes)d minutes.", minutes,
        ) % {"minutes": minutes})


def _hold_iin(iin: str) -> None:
    """Requests for one IIN take turns until commit, so that of two arriving together only one sends a code."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sign-in:{iin}"])
    # SQLite (`make run`) lets one writer at a time anyway (transaction_mode IMMEDIATE).


def request_sign_in_code(*, iin: str, ip: str, language: str) -> None:
    """Ask for a code for `iin`: at most one every SIGN_IN_RESEND_INTERVAL_SECONDS and SIGN_IN_CODES_PER_HOUR an
    hour per IIN, and SIGN_IN_CODE_REQUESTS_PER_IP_PER_HOUR per IP. The SMS goes out after commit, whether or not
    the IIN has a phone."""
    _count_per_ip(SignInAttempt.Kind.CODE_REQUEST, ip, settings.SIGN_IN_CODE_REQUESTS_PER_IP_PER_HOUR)
    with transaction.atomic():
        _hold_iin(iin)
        now = timezone.now()
        latest = SignInCode.objects.filter(iin=iin).order_by("-created_at").values_list("created_at", flat=True)
        elapsed = (now - latest[0]).total_seconds() if latest else None
        if elapsed is not None and elapsed < settings.SIGN_IN_RESEND_INTERVAL_SECONDS:
            seconds = math.ceil(settings.SIGN_IN_RESEND_INTERVAL_SECONDS - elapsed)
            raise NewCodeTooSoon(ngettext("You can ask for a new code in %(seconds)d second.",
                                          "You can ask for a new code in %(seconds)d seconds.", seconds)
                                 % {"seconds": seconds}, field="code")
        hour_ago = now - datetime.timedelta(hours=1)
        if SignInCode.objects.filter(iin=iin, created_at__gte=hour_ago).count() >= settings.SIGN_IN_CODES_PER_HOUR:
            raise SignInError(_("Too many codes were asked for this IIN. Try again in an hour."))
        SignInCode.objects.filter(iin=iin, used_at__isnull=True).update(used_at=now)  # older codes die
        entry = SignInCode.objects.create(
            iin=iin, code_hash="", attempts_left=settings.SIGN_IN_CODE_TRIES, created_at=now,
            expires_at=now + datetime.timedelta(minutes=settings.SIGN_IN_CODE_MINUTES))
        # With the broker down no SMS goes out, and the citizen asks for a new code a minute later.
        enqueue_on_commit("accounts.tasks.send_sign_in_code", entry.pk, language)


def deliver_sign_in_code(*, code_id: int, language: str) -> str:
    """Make the code and send it by SMS (the task's work). A code row is delivered once: a redelivered task, or
    one that comes after the code was replaced or expired, sends nothing."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        entry = (SignInCode.objects.select_for_update()
                 .filter(pk=code_id, code_hash="", used_at__isnull=True, expires_at__gt=timezone.now()).first())
        if entry is None:
            return "skipped"
        entry.code_hash = _digest(entry.iin, code)
        entry.save(update_fields=["code_hash"])
    with translation.override(language):
        text = _("Kuälik: your sign-in code is %(code)s. It is valid for %(minutes)d minutes. Do not share it.") % {
            "code": code, "minutes": settings.SIGN_IN_CODE_MINUTES}
    answer = sms_client.send(iin=entry.iin, text=text)
    if answer.outcome == Outcome.UNAVAILABLE:
        logger.warning("sign-in code %s not sent: the SMS gateway is unavailable (%s)", code_id, answer.reason)
    return answer.outcome


def check_sign_in_code(*, iin: str, code: str, ip: str) -> User:
    """The citizen's account for a right code; a wrong one spends a try (SIGN_IN_CODE_TRIES per code), and every
    check counts against SIGN_IN_CODE_CHECKS_PER_IP_PER_HOUR."""
    try:
        _count_per_ip(SignInAttempt.Kind.CODE_CHECK, ip, settings.SIGN_IN_CODE_CHECKS_PER_IP_PER_HOUR)
    except SignInError as error:
        raise SignInError(error.message, field="code") from error
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
