"""The licence (steps 17 and 18): its number, dates and holder as printed, each card printed for it, and the
counter that numbers licences. No I/O here."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .application import Application


class Licence(models.Model):
    """A national driving licence issued by this service: what the card says (fields as numbered on it)."""

    class State(models.TextChoices):
        VALID = "valid", _("Valid")
        REPLACED = "replaced", _("Replaced")
        REVOKED = "revoked", _("Revoked")

    number = models.CharField(_("licence number (5)"), max_length=20, unique=True)
    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="licence_record",
                                       verbose_name=_("application"))
    iin = models.CharField(_("IIN (4d)"), max_length=12, db_index=True)
    categories = models.JSONField(_("categories (9)"), default=list)
    issued_on = models.DateField(_("date of issue (4a)"))
    expires_on = models.DateField(_("date of expiry (4b)"))
    authority = models.CharField(_("issuing authority (4c)"), max_length=200)
    surname = models.CharField(_("surname (1)"), max_length=100)
    given_names = models.CharField(_("given names (2)"), max_length=200)
    birth_date = models.DateField(_("date of birth (3)"), null=True, blank=True)
    birth_place = models.CharField(_("place of birth (3)"), max_length=200, blank=True)
    residence = models.CharField(_("place of residence (8)"), max_length=300, blank=True)
    restrictions = models.CharField(_("restrictions (12)"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.VALID)
    replaces = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("replaces the licence"))
    replaces_number = models.CharField(_("replaces the licence number"), max_length=20, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("driving licence")
        verbose_name_plural = _("driving licences")
        ordering = ["-created_at"]

    def __str__(self):
        return self.number

    @property
    def initials(self) -> str:
        return "".join(f"{part[0]}." for part in self.given_names.split() if part)

    def current_status(self, today=None) -> str:
        """valid, replaced, revoked, or expired once its expiry date has passed."""
        if self.status == self.State.VALID and self.expires_on < (today or timezone.localdate()):
            return "expired"
        return self.status


class CardPrint(models.Model):
    """One card printed for a licence; a reprint (a spoiled card) keeps the number and supersedes the earlier code."""

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="cards", verbose_name=_("licence"))
    verification_code = models.TextField(_("verification code"))
    key_id = models.CharField(_("signing key"), max_length=40)
    printed_at = models.DateTimeField(_("printed at"), default=timezone.now)
    printed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("printed by"))
    reprint_reason = models.CharField(_("why it was printed again"), max_length=300, blank=True)
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("printed card")
        verbose_name_plural = _("printed cards")
        ordering = ["-printed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["licence"], condition=Q(superseded_at__isnull=True),
                                               name="one_current_card_per_licence")]

    def __str__(self):
        return f"{self.licence} {self.printed_at:%Y-%m-%d %H:%M}"


class LicenceNumberCounter(models.Model):
    """The last licence serial handed out; it only goes up, so no number is reused."""

    name = models.CharField(primary_key=True, max_length=20, default="licence")
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("licence number counter")
        verbose_name_plural = _("licence number counters")

    def __str__(self):
        return f"{self.name}: {self.last_value}"
