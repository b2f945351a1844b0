"""The registry checks of an application and the citizen's consent to them."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, transition

from .application import Application
from .choices import Channel, Registry


class Check(models.Model):
    """One registry's answer for one application: only the verdict, its code and validity, never the record."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")
        ERROR = "error", _("Registry unavailable")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="checks")
    registry = models.CharField(_("registry"), max_length=32, choices=Registry.choices)
    position = models.PositiveSmallIntegerField(_("step order"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    code = models.CharField(_("refusal code"), max_length=64, blank=True)
    error_reason = models.CharField(_("why unavailable"), max_length=64, blank=True)
    facts = models.JSONField(_("facts kept for the decision"), default=dict, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency, ms"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("requests made"), default=0)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("registry check")
        verbose_name_plural = _("registry checks")
        ordering = ["application", "position"]
        constraints = [
            models.UniqueConstraint(fields=["application", "registry"], name="one_check_per_registry"),
        ]
        indexes = [models.Index(fields=["outcome", "checked_at"], name="check_outcome_checked")]

    def __str__(self):
        return f"{self.registry}: {self.outcome}"

    @property
    def decided(self) -> bool:
        return self.outcome in (self.Outcome.PASSED, self.Outcome.FAILED)


class Consent(models.Model):
    """The citizen's consent to ask the registries: when, through which channel, for which registries and why."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Being requested")
        CODE_SENT = "code_sent", _("Code sent")
        DECISION_PENDING = "decision_pending", _("Waiting for the citizen's decision")
        GRANTED = "granted", _("Granted")
        DECLINED = "declined", _("Declined")
        FAILED = "failed", _("Failed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="consent")
    state = FSMField(_("state"), max_length=32, choices=State.choices, default=State.REQUESTED, protected=True)
    request_id = models.CharField(_("consent service request"), max_length=64, blank=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=64, default="eligibility_check")
    registries = models.JSONField(_("registries covered"), default=list)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    asked_at = models.DateTimeField(
        _("consent service last asked at"), null=True, blank=True,
        help_text=_("Claimed before each request to the consent service, so that two workers never both ask."))
    code_sent_at = models.DateTimeField(_("last code sent at"), null=True, blank=True)
    resends = models.PositiveSmallIntegerField(_("codes re-sent"), default=0)
    granted_at = models.DateTimeField(_("granted at"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self):
        return f"{self.application_id}: {self.state}"

    @property
    def in_force(self) -> bool:
        return self.state == self.State.GRANTED and self.withdrawn_at is None

    # Transitions: nothing assigns `state` directly ---------------------------------------------------------------

    @transition(field=state, source=State.REQUESTED, target=RETURN_VALUE(State.CODE_SENT, State.DECISION_PENDING))
    def mark_asked(self, *, request_id: str, code_sent: bool):
        """The consent service took the request: a code went out by SMS, or the citizen decides in its own app."""
        self.request_id = request_id
        self.code_sent_at = timezone.now() if code_sent else None
        return self.State.CODE_SENT if code_sent else self.State.DECISION_PENDING

    @transition(field=state, source=[State.CODE_SENT, State.DECISION_PENDING], target=State.GRANTED)
    def grant(self):
        self.granted_at = timezone.now()

    @transition(field=state, source=[State.REQUESTED, State.CODE_SENT, State.DECISION_PENDING], target=State.DECLINED)
    def decline(self):
        """The citizen declined through the consent service."""
        self.declined_at = timezone.now()

    @transition(field=state, source=[State.REQUESTED, State.CODE_SENT, State.DECISION_PENDING], target=State.FAILED)
    def fail(self):
        """No tries left, the code never confirmed in time, or the person is unknown to the consent service."""

    @transition(field=state, source="+", target=State.WITHDRAWN)
    def withdraw(self):
        """The citizen took consent back: no registry is asked anything more."""
        self.withdrawn_at = timezone.now()
