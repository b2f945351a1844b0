"""The dashboard's rollup: facts copied from the status history and the checks, each row carrying the filters of
its application (its creation time, service, channel and pickup TSON), so that every figure over the history or
the checks is one grouped query over the facts of the applications created in the chosen days, found by an index
that leads with that creation time. Kept by `performance.rollup` (a Celery beat task and `manage.py
rollup_performance`); nothing else writes here, and the facts can be rebuilt from scratch at any time."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from applications.models import Status


class StepFact(models.Model):
    """One status an application entered: when, and how many seconds it stayed (NULL while it is still there)."""

    # Not a foreign key: the facts follow the history and are rewritten whole per application, never cascaded.
    application_id = models.UUIDField(_("application"))
    created_at = models.DateTimeField(_("application created at"))
    service = models.CharField(_("service"), max_length=32)
    channel = models.CharField(_("channel"), max_length=32)
    centre_id = models.BigIntegerField(_("pickup TSON"), null=True)
    step = models.CharField(_("step"), max_length=32, choices=Status.choices)
    entered_at = models.DateTimeField(_("entered at"))
    seconds = models.FloatField(_("seconds there"), null=True)
    held_by_outage = models.BooleanField(_("checks held by a registry outage"), default=False)

    class Meta:
        verbose_name = _("step fact")
        verbose_name_plural = _("step facts")
        indexes = [
            models.Index(fields=["created_at", "step"], name="step_fact_created_step"),
            models.Index(fields=["application_id"], name="step_fact_application"),
        ]

    def __str__(self):
        return f"{self.step} at {self.entered_at:%Y-%m-%d %H:%M:%S}"


class CheckFact(models.Model):
    """One registry check of an application: its outcome, latency and requests."""

    application_id = models.UUIDField(_("application"))
    created_at = models.DateTimeField(_("application created at"))
    service = models.CharField(_("service"), max_length=32)
    channel = models.CharField(_("channel"), max_length=32)
    centre_id = models.BigIntegerField(_("pickup TSON"), null=True)
    registry = models.CharField(_("registry"), max_length=32)
    outcome = models.CharField(_("outcome"), max_length=16)
    error_reason = models.CharField(_("why unavailable"), max_length=64, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency, ms"), null=True)
    attempts = models.PositiveSmallIntegerField(_("requests made"), default=0)
    checked_at = models.DateTimeField(_("checked at"), null=True)

    class Meta:
        verbose_name = _("check fact")
        verbose_name_plural = _("check facts")
        indexes = [
            models.Index(fields=["created_at", "registry"], name="check_fact_created_registry"),
            models.Index(fields=["application_id"], name="check_fact_application"),
        ]
        constraints = [models.UniqueConstraint(fields=["application_id", "registry"], name="one_check_fact")]

    def __str__(self):
        return f"{self.registry}: {self.outcome}"


class RollupRun(models.Model):
    """One pass of the rollup: the history and check ids it had seen when it began. The next pass starts from a
    run old enough (PERFORMANCE_ROLLUP_MARGIN_SECONDS) that no transaction begun before it can still commit."""

    started_at = models.DateTimeField(_("started at"), db_index=True)
    history_id = models.BigIntegerField(_("last status change seen"))
    check_id = models.BigIntegerField(_("last check seen"))
    full = models.BooleanField(_("full rebuild"), default=False)
    applications = models.PositiveIntegerField(_("applications rolled up"), default=0)

    class Meta:
        verbose_name = _("rollup run")
        verbose_name_plural = _("rollup runs")

    def __str__(self):
        return f"{'full' if self.full else 'incremental'} rollup at {self.started_at:%Y-%m-%d %H:%M:%S}"
