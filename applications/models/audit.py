"""History and audit: rows written once, in the same transaction as the change they record, never altered.

On PostgreSQL the database refuses UPDATE and DELETE too (django-pgtrigger `Protect` triggers), so no code path,
raw SQL included, changes them; the one change allowed is the access log's seal, set once from NULL by
`applications.services.access_chain`. On SQLite (`make run`) the Python guard below is the only one.
"""

import functools
import operator

import pgtrigger
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

    # PROTECT: an application with history is never deleted (the history is append-only).
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="history")
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
        indexes = [models.Index(fields=["application", "at"], name="status_change_app_at"),
                   # The sweep's recent moves (notices to queue again) by time alone.
                   models.Index(fields=["at"], name="status_change_at")]
        triggers = [pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status} at {self.at:%Y-%m-%d %H:%M:%S}"


# What a sealed row's hash covers: every column but the seal itself (applications.services.access_chain).
SEALED_FIELDS = ("id", "application", "at", "actor_kind", "actor_user", "actor_organisation", "role", "registry",
                 "purpose", "what")
# The previous hash of the first sealed row.
GENESIS_HASH = "0" * 64


def _unless_sealing_once():
    """The trigger's condition: true for every UPDATE except setting the seal once, from NULL, changing nothing
    else."""
    return functools.reduce(operator.or_, [
        pgtrigger.Q(old__seal_position__isnull=False),
        pgtrigger.Q(new__seal_position__isnull=True),
        pgtrigger.Q(new__previous_hash__isnull=True),
        pgtrigger.Q(new__row_hash__isnull=True),
        *(pgtrigger.Q(**{f"old__{name}__df": pgtrigger.F(f"new__{name}")}) for name in SEALED_FIELDS),
    ])


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

    # PROTECT: an application whose data was read is never deleted (the log is append-only).
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="access_log")
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
    # The hash chain, set once by the sealer: the row's place in the chain, the hash of the row before it, its own.
    seal_position = models.BigIntegerField(_("seal position"), null=True, blank=True, unique=True, editable=False)
    previous_hash = models.CharField(_("previous hash"), max_length=64, null=True, blank=True, editable=False)
    row_hash = models.CharField(_("row hash"), max_length=64, null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data access log")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["application", "at"], name="access_log_app_at"),
            models.Index(fields=["id"], condition=models.Q(seal_position__isnull=True), name="access_log_unsealed"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only_delete", operation=pgtrigger.Delete),
            pgtrigger.Protect(name="append_only_update", operation=pgtrigger.Update,
                              condition=_unless_sealing_once()),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_kind} {self.what}"


class AccessLogHead(models.Model):
    """The access log chain's head: the last sealed position and its hash, one row. A deleted tail of the chain is
    found only against it. Never deleted; its position never goes back (triggers on PostgreSQL)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_position = models.BigIntegerField(_("last sealed position"), default=0)
    last_hash = models.CharField(_("last row hash"), max_length=64, default=GENESIS_HASH)
    sealed_at = models.DateTimeField(_("sealed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("access log chain head")
        verbose_name_plural = _("access log chain head")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="access_log_head_one_row")]
        triggers = [
            pgtrigger.Protect(name="head_kept", operation=pgtrigger.Delete),
            pgtrigger.Protect(name="head_forward", operation=pgtrigger.Update,
                              condition=pgtrigger.Q(new__last_position__lt=pgtrigger.F("old__last_position"))),
        ]

    def __str__(self):
        return f"{self.last_position} {self.last_hash[:12]}"

