"""The sandbox's shared state: consent requests, the SMS outbox, reported exam results and payments.

They live in the database, not in memory, because the web process may run several workers and the tests read the
outbox from another thread. The consent request is a small state machine; the code itself is never stored, only
an HMAC of it keyed with the secret key and the request id, so a leaked row does not reveal a live code.
"""

import datetime
import hashlib
import hmac
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

CODE_LIFETIME = datetime.timedelta(seconds=300)
CODE_ATTEMPTS = 5


def local_iso(moment: datetime.datetime) -> str:
    """A time as the sandbox writes it: local time, milliseconds and the offset (2026-11-28T10:15:02.481+05:00)."""
    return timezone.localtime(moment).isoformat(timespec="milliseconds")


class ConsentStatus(models.TextChoices):
    CODE_SENT = "code_sent", _("Code sent")
    DECISION_PENDING = "decision_pending", _("Decision pending")
    GRANTED = "granted", _("Granted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    LOCKED = "locked", _("Locked")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SandboxConsentRequest(models.Model):
    """A request for the citizen's consent, as the state consent service keeps it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    iin = models.CharField(_("IIN"), max_length=12, db_index=True)
    application = models.CharField(_("application"), max_length=64, blank=True)
    channel = models.CharField(_("channel"), max_length=32, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    registries = models.JSONField(_("registries"), default=list)
    language = models.CharField(_("language"), max_length=2, default="kk")
    callback_url = models.URLField(_("callback URL"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ConsentStatus.choices)
    code_hash = models.CharField(_("code hash"), max_length=64, blank=True)
    code_expires_at = models.DateTimeField(_("code expires at"), null=True, blank=True)
    attempts_left = models.PositiveSmallIntegerField(_("attempts left"), default=CODE_ATTEMPTS)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        app_label = "registries"
        verbose_name = _("sandbox consent request")
        verbose_name_plural = _("sandbox consent requests")

    def __str__(self) -> str:
        return f"{self.iin} {self.status} ({self.id})"

    def code_digest(self, code: str) -> str:
        key = f"{settings.SECRET_KEY}{self.id}".encode()
        return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()

    def issue_code(self, *, now: datetime.datetime) -> str:
        """A fresh 6-digit code; the old one dies with its hash. Tries are not reset (a resend is no new chance)."""
        code = f"{secrets.randbelow(10**6):06d}"
        self.status = ConsentStatus.CODE_SENT
        self.code_hash = self.code_digest(code)
        self.code_expires_at = now + CODE_LIFETIME
        return code

    def await_decision(self) -> None:
        self.status = ConsentStatus.DECISION_PENDING

    def confirm(self, code: str, *, now: datetime.datetime) -> dict:
        """The answer to what the citizen typed; only an awaited, live, matching code grants."""
        if self.status != ConsentStatus.CODE_SENT:
            return {"status": self.status}
        if now >= self.code_expires_at:
            return {"status": "expired"}
        if hmac.compare_digest(self.code_hash, self.code_digest(code)):
            self._decide(ConsentStatus.GRANTED, now=now)
            return {"status": ConsentStatus.GRANTED.value}
        self.attempts_left = max(self.attempts_left - 1, 0)
        if self.attempts_left == 0:
            self._decide(ConsentStatus.LOCKED, now=now)
        return {"status": "invalid_code", "attempts_left": self.attempts_left}

    def withdraw(self) -> dict:
        """A consent still pending or granted can be withdrawn; a closed one answers what it is."""
        if self.status in (ConsentStatus.CODE_SENT, ConsentStatus.DECISION_PENDING, ConsentStatus.GRANTED):
            self.status = ConsentStatus.WITHDRAWN
            self.code_hash = ""
        return {"status": self.status}

    def _decide(self, status: ConsentStatus, *, now: datetime.datetime) -> None:
        self.status = status
        self.code_hash = ""
        self.decided_at = now


class SandboxSms(models.Model):
    """One message in the sandbox SMS gateway's outbox, which the demo and the tests read."""

    phone = models.CharField(_("phone"), max_length=20)
    text = models.TextField(_("text"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        app_label = "registries"
        verbose_name = _("sandbox SMS")
        verbose_name_plural = _("sandbox SMS")
        indexes = [models.Index(fields=["phone", "-sent_at"], name="sandbox_sms_phone_sent_idx")]

    def __str__(self) -> str:
        return f"{self.phone} {self.sent_at:%Y-%m-%d %H:%M:%S}"


class SandboxExamResult(models.Model):
    """A result that the project reported to the exam system; later attempt counts include it."""

    reference = models.CharField(_("reference"), max_length=64, unique=True)
    iin = models.CharField(_("IIN"), max_length=12, db_index=True)
    kind = models.CharField(_("kind"), max_length=16)
    passed = models.BooleanField(_("passed"))
    score = models.IntegerField(_("score"), null=True, blank=True)
    at = models.DateTimeField(_("at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        app_label = "registries"
        verbose_name = _("sandbox exam result")
        verbose_name_plural = _("sandbox exam results")

    def __str__(self) -> str:
        return f"{self.iin} {self.kind} {'passed' if self.passed else 'failed'} ({self.reference})"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("payment status", "Pending")
    PAID = "paid", pgettext_lazy("payment status", "Paid")
    DECLINED = "declined", pgettext_lazy("payment status", "Declined")


class SandboxPayment(models.Model):
    """A payment at the sandbox's payment provider: created by Kuälik, paid or declined on the provider's page."""

    provider_reference = models.UUIDField(_("provider reference"), primary_key=True, default=uuid.uuid4,
                                          editable=False)
    reference = models.CharField(_("reference"), max_length=100, unique=True)
    iin = models.CharField(_("IIN"), max_length=12, db_index=True)
    amount_kzt = models.PositiveIntegerField(_("amount, tenge"))
    description = models.CharField(_("description"), max_length=500)
    callback_url = models.URLField(_("callback URL"), max_length=500)
    return_url = models.URLField(_("return URL"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=PaymentStatus.choices,
                              default=PaymentStatus.PENDING)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        app_label = "registries"
        verbose_name = _("sandbox payment")
        verbose_name_plural = _("sandbox payments")

    def __str__(self) -> str:
        return f"{self.reference} {self.amount_kzt} KZT {self.status} ({self.provider_reference})"


class SandboxLicence(models.Model):
    """A licence the project reported as issued: the licence registry answers with it from then on (so that a second
    replacement finds the licence the first one issued), and the one it replaced is marked replaced."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    iin = models.CharField(_("IIN"), max_length=12, db_index=True)
    categories = models.JSONField(_("categories"), default=list)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"))
    replaces = models.CharField(_("replaces"), max_length=20, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        app_label = "registries"
        verbose_name = _("sandbox licence")
        verbose_name_plural = _("sandbox licences")

    def __str__(self) -> str:
        return f"{self.iin} {self.number}"
