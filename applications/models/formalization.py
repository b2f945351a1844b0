"""Formalisation (step 15): the state fee and the photo; and the notices the citizen was sent.

No I/O here. Money is whole tenge; a payment's amount is fixed when it is created (the policy of that day).
"""

import threading
import uuid

from cachetools import TTLCache, cached
from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .application import Application
from .choices import PhotoSource

_reasons: TTLCache = TTLCache(maxsize=1, ttl=60)


def photo_storage():
    """The "photos" storage of settings.STORAGES (a private folder, or S3), looked up when used."""
    return storages["photos"]


class Payment(models.Model):
    """One try at paying the state fee: online through the payment provider, or at a TSON desk with a receipt."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the payment")
        PAID = "paid", _("Paid")
        DECLINED = "declined", _("Declined")

    class Method(models.TextChoices):
        ONLINE = "online", _("Online")
        DESK = "desk", _("At a TSON desk")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments",
                                    verbose_name=_("application"))
    amount_kzt = models.PositiveIntegerField(_("amount, tenge"))
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    status = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.PENDING)
    provider_reference = models.CharField(_("provider's reference"), max_length=100, blank=True)
    pay_url = models.URLField(_("payment page"), max_length=500, blank=True)
    receipt = models.CharField(_("desk receipt number"), max_length=64, blank=True)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("taken at the desk by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_at = models.DateTimeField(_("paid or declined at"), null=True, blank=True)

    class Meta:
        verbose_name = _("state fee payment")
        verbose_name_plural = _("state fee payments")
        ordering = ["-created_at"]
        constraints = [
            # Created twice at once, a payment is still one: the second create finds the first.
            models.UniqueConstraint(fields=["application"], condition=Q(status="pending"),
                                    name="one_pending_payment_per_application"),
            models.UniqueConstraint(fields=["application"], condition=Q(status="paid"),
                                    name="one_paid_payment_per_application"),
            models.CheckConstraint(condition=Q(status="pending") | Q(decided_at__isnull=False),
                                   name="decided_payment_has_time"),
        ]

    def __str__(self):
        return f"{self.application} {self.amount_kzt} ₸ {self.status}"


class CallbackNonce(models.Model):
    """A nonce a signed callback carried: seen once. A replayed callback finds its nonce here and changes nothing."""

    nonce = models.CharField(_("nonce"), max_length=100, unique=True)
    source = models.CharField(_("from"), max_length=32)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("callback nonce")
        verbose_name_plural = _("callback nonces")

    def __str__(self):
        return f"{self.source} {self.nonce}"


class Photo(models.Model):
    """The licence photo: taken at a TSON desk, or the one the person registry holds. Never served publicly."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="photos",
                                    verbose_name=_("application"))
    source = models.CharField(_("source"), max_length=16, choices=PhotoSource.choices)
    # Kept through the "photos" storage (a private folder, or an S3-compatible store by setting); empty for the
    # registry's photo, which stays with the registry.
    file = models.FileField(_("file"), upload_to="%Y/%m/", storage=photo_storage, blank=True, max_length=300)
    content_type = models.CharField(_("type"), max_length=32, blank=True)
    width = models.PositiveIntegerField(_("width, px"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height, px"), null=True, blank=True)
    size = models.PositiveIntegerField(_("size, bytes"), null=True, blank=True)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("taken by"))
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)

    class Meta:
        verbose_name = _("licence photo")
        verbose_name_plural = _("licence photos")
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["application", "-taken_at"], name="photo_application_taken")]

    def __str__(self):
        return f"{self.application} {self.source} {self.taken_at:%Y-%m-%d %H:%M}"


class RefusalReason(models.Model):
    """The catalogue of reasons a police officer refuses with, kept by administrators (kk, ru, en)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    title_kk = models.CharField(_("title (Kazakh)"), max_length=300)
    title_ru = models.CharField(_("title (Russian)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300)
    is_active = models.BooleanField(_("in use"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("refusal reason")
        verbose_name_plural = _("refusal reasons")
        ordering = ["position", "code"]

    def __str__(self):
        return self.code

    def title_in(self, language: str | None = None) -> str:
        language = (language or get_language() or "kk")[:2]
        return getattr(self, f"title_{language}", "") or self.title_kk

    @classmethod
    @cached(_reasons, key=lambda cls: "all", lock=threading.Lock())
    def by_code(cls) -> dict[str, "RefusalReason"]:
        """The whole catalogue (a few rows), remembered per process for a minute: a list of refused applications
        says each reason without a query per row."""
        return {reason.code: reason for reason in cls.objects.all()}

    @classmethod
    def title_for(cls, code: str, language: str | None = None) -> str:
        reason = cls.by_code().get(code)
        return reason.title_in(language) if reason is not None else code


def forget_refusal_reasons(**kwargs) -> None:
    _reasons.clear()


class Notice(models.Model):
    """A notice the citizen was sent (SMS or email), as the portal's timeline shows it."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")

    class State(models.TextChoices):
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Not delivered")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notices",
                                    verbose_name=_("application"))
    event = models.CharField(_("event"), max_length=32)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=2)
    text = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=8, choices=State.choices, default=State.SENT)
    # One notice per event, channel and key: a retried task sends nothing twice.
    key = models.CharField(_("key"), max_length=100)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["sent_at", "id"]
        constraints = [models.UniqueConstraint(fields=["application", "channel", "key"], name="notice_once")]
        indexes = [models.Index(fields=["application", "sent_at"], name="notice_application_sent")]

    def __str__(self):
        return f"{self.application} {self.event} {self.channel}"
