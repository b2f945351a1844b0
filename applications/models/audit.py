"""History and audit: rows written once, in the same transaction as the change they record, never altered."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .application import Application
from .choices import Status


class AppendOnly(models.Model):
    """Rows that are written once and never changed or removed: history and audit."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(f"{type(self).__name__} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{type(self).__name__} is append-only")


class StatusChange(AppendOnly):
    """The application's history: every status it entered, who moved it and when. Append-only."""

    class ActorKind(models.TextChoices):
        CITIZEN = "citizen", _("Citizen")
        STAFF = "staff", _("Staff")
        CHANNEL = "channel", _("Partner channel")
        SYSTEM = "system", _("System")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(_("from"), max_length=32, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=32, choices=Status.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor_kind = models.CharField(_("actor"), max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status history")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"], name="status_change_app_at")]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status} at {self.at:%Y-%m-%d %H:%M:%S}"


class PersonalDataAccess(AppendOnly):
    """The personal-data access log: every read of an application's personal data, by anyone. Append-only."""

    class ActorKind(models.TextChoices):
        REGISTRY = "registry", _("State registry")
        STAFF = "staff", _("Staff")
        CHANNEL = "channel", _("Partner channel")
        CITIZEN = "citizen", _("Citizen")
        SYSTEM = "system", _("System")

    class Purpose(models.TextChoices):
        CONSENT = "consent", _("Asking for your consent")
        ELIGIBILITY_CHECK = "eligibility_check", _("Checking eligibility for a driving licence")
        NOTIFICATION = "notification", _("Sending you a notice")
        CASE_HANDLING = "case_handling", _("Handling the application")
        ADMINISTRATION = "administration", _("System administration")
        SUPPORT = "support", _("Following the application for the citizen")
        EXAM_RESULT = "exam_result", _("Reporting your exam result to the exam system")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="access_log")
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor_kind = models.CharField(_("actor"), max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    role = models.CharField(_("role"), max_length=32, blank=True)
    registry = models.CharField(_("registry"), max_length=32, blank=True)
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    # A key of applications.access_log.WHAT, shown to the citizen in their language.
    what = models.CharField(_("what was read"), max_length=64)

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data access log")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"], name="access_log_app_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_kind} {self.what}"

