"""The application and its state machine: the contract's status table, edge for edge.

No I/O here: side effects (SMS, registry calls) belong to services, after commit.
"""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Role

from ..iin import validate_iin
from .choices import (
    ACTIVE_STATUSES,
    CANCELLABLE_STATUSES,
    NOTICE_LANGUAGE_CHOICES,
    PHONE_PATTERN,
    PRE_SUBMIT_STATUSES,
    Channel,
    ExamLanguage,
    PhotoSource,
    ReplacementReason,
    Service,
    Status,
)
from .policy import Centre


def is_police_officer(instance, user) -> bool:
    return user is not None and user.has_role(Role.POLICE_OFFICER)


def is_tson_operator(instance, user) -> bool:
    return user is not None and user.has_role(Role.TSON_OPERATOR)


class Application(ConcurrentTransitionMixin, models.Model):
    """One citizen's request for a licence service, from consent to the card handed over."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("application number"), max_length=20, unique=True, null=True, blank=True)
    service = models.CharField(_("service"), max_length=32, choices=Service.choices)
    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    status = FSMField(_("status"), max_length=32, choices=Status.choices, default=Status.CONSENT_PENDING,
                      protected=True, db_index=True)
    iin = models.CharField(_("IIN"), max_length=12, validators=[validate_iin], db_index=True)
    categories = models.JSONField(_("categories"), default=list)
    replacement_reason = models.CharField(
        _("replacement reason"), max_length=32, choices=ReplacementReason.choices, null=True, blank=True
    )
    foreign_licence = models.JSONField(
        _("foreign licence"), null=True, blank=True, help_text=_("country, number, categories, valid_until")
    )

    # Who brought it in: a partner organisation (API key), a citizen (portal) or a staff member (TSON desk).
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="applications",
        verbose_name=_("partner organisation"),
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="applications",
        verbose_name=_("citizen account"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("created by staff"),
    )

    # The form (step 11), filled in on submit.
    phone = models.CharField(
        _("phone"), max_length=16, blank=True, validators=[RegexValidator(PHONE_PATTERN, code="invalid_phone")]
    )
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(_("exam language"), max_length=2, choices=ExamLanguage.choices,
                                blank=True)
    pickup_tson = models.ForeignKey(
        Centre, on_delete=models.PROTECT, null=True, blank=True, related_name="pickups",
        verbose_name=_("pickup TSON"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # The language the citizen used when applying: SMS and notices go out in it.
    notify_language = models.CharField(_("language of notices"), max_length=2, default="kk",
                                       choices=NOTICE_LANGUAGE_CHOICES)

    # Outcome of the checks or of the review.
    refusal_code = models.CharField(_("refusal code"), max_length=64, blank=True)
    refusal_comment = models.TextField(_("refusal comment"), blank=True)
    # The police officer's refusal: a code of the refusal catalogue (RefusalReason).
    officer_reason_code = models.CharField(_("officer's refusal reason"), max_length=64, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    # Formalisation (step 15).
    fee_paid_at = models.DateTimeField(_("state fee paid at"), null=True, blank=True)
    photo_source = models.CharField(_("photo source"), max_length=16, choices=PhotoSource.choices, blank=True)
    photo_captured_at = models.DateTimeField(_("photo captured at"), null=True, blank=True)
    # Since when it waits for the police: the review queue's order (oldest first).
    under_review_since = models.DateTimeField(_("under review since"), null=True, blank=True)

    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["iin"], condition=Q(status__in=ACTIVE_STATUSES), name="one_active_application_per_iin",
                violation_error_code="active_application_exists",
            ),
            models.CheckConstraint(
                condition=(Q(service=Service.REPLACEMENT) & Q(replacement_reason__isnull=False))
                | (~Q(service=Service.REPLACEMENT) & Q(replacement_reason__isnull=True)),
                name="replacement_reason_only_for_replacement",
            ),
            models.CheckConstraint(
                condition=Q(service=Service.FOREIGN_EXCHANGE, channel=Channel.TSON_BRANCH)
                | (~Q(service=Service.FOREIGN_EXCHANGE) & ~Q(channel=Channel.TSON_BRANCH)),
                name="foreign_exchange_only_at_tson_branch",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[*PRE_SUBMIT_STATUSES, Status.REFUSED, Status.CANCELLED])
                | Q(number__isnull=False),
                name="submitted_application_has_number",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="application_org_created"),
            models.Index(fields=["citizen", "-created_at"], name="application_citizen_created"),
            # The review queue: oldest first, and one index per filter, each only over what waits for the police.
            models.Index(fields=["under_review_since", "id"], condition=Q(status="under_review"),
                         name="review_queue"),
            models.Index(fields=["service", "under_review_since", "id"], condition=Q(status="under_review"),
                         name="review_queue_service"),
            models.Index(fields=["channel", "under_review_since", "id"], condition=Q(status="under_review"),
                         name="review_queue_channel"),
            models.Index(fields=["pickup_tson", "under_review_since", "id"], condition=Q(status="under_review"),
                         name="review_queue_centre"),
        ]

    def __str__(self):
        return self.number or str(self.id)

    # Conditions ------------------------------------------------------------------------------------------------

    def has_number(self) -> bool:
        return bool(self.number)

    def has_submission_form(self) -> bool:
        # The exam language is asked only where there are exams (a replacement has none).
        return bool(self.phone and self.pickup_tson_id and (self.language or not self.has_exams))

    def fee_paid(self) -> bool:
        return self.fee_paid_at is not None

    def photo_captured(self) -> bool:
        return bool(self.photo_source)

    @property
    def has_exams(self) -> bool:
        return self.service != Service.REPLACEMENT

    # Transitions: the contract's status table, edge for edge ---------------------------------------------------

    @transition(field=status, source=Status.CONSENT_PENDING, target=Status.CHECKS_RUNNING)
    def record_consent(self):
        """The citizen confirmed consent; the registries may now be asked."""

    @transition(field=status, source=[Status.CONSENT_PENDING, Status.CHECKS_RUNNING], target=Status.REFUSED)
    def refuse_on_checks(self, *, code: str):
        """A check (consent included) refused: `code` is the first failed check in the algorithm's order."""
        self.refusal_code = code
        self.decided_at = timezone.now()

    @transition(field=status, source=Status.CHECKS_RUNNING, target=Status.ELIGIBLE)
    def mark_eligible(self):
        """Every check passed."""

    @transition(
        field=status,
        source=Status.ELIGIBLE,
        target=RETURN_VALUE(Status.THEORY_EXAM, Status.FORMALIZATION),
        conditions=[has_number, has_submission_form],
    )
    def submit(self, *, theory_exam_required: bool = False):
        """The form is in and a number assigned: on to the exams, or straight to formalisation."""
        self.submitted_at = timezone.now()
        if self.service == Service.FIRST_ISSUE:
            return Status.THEORY_EXAM
        if self.service == Service.FOREIGN_EXCHANGE and theory_exam_required:
            return Status.THEORY_EXAM
        return Status.FORMALIZATION

    @transition(field=status, source=Status.THEORY_EXAM, target=Status.PRACTICAL_EXAM)
    def pass_theory_exam(self):
        """The theory exam is passed."""

    @transition(field=status, source=Status.PRACTICAL_EXAM, target=Status.FORMALIZATION)
    def pass_practical_exam(self):
        """The practical exam is passed."""

    @transition(
        field=status, source=Status.FORMALIZATION, target=Status.UNDER_REVIEW, conditions=[fee_paid, photo_captured]
    )
    def complete_formalization(self):
        """Fee paid and photo taken: the application goes to the police."""
        self.under_review_since = timezone.now()

    @transition(field=status, source=Status.UNDER_REVIEW, target=Status.APPROVED, permission=is_police_officer)
    def approve(self):
        self.decided_at = timezone.now()

    @transition(field=status, source=Status.UNDER_REVIEW, target=Status.REFUSED, permission=is_police_officer)
    def refuse_by_officer(self, *, reason_code: str = "", comment: str = ""):
        self.refusal_code = "officer_refused"
        self.officer_reason_code = reason_code
        self.refusal_comment = comment
        self.decided_at = timezone.now()

    @transition(field=status, source=Status.APPROVED, target=Status.PRINTED, permission=is_police_officer)
    def mark_printed(self):
        """The card is printed and sent to the pickup TSON."""

    @transition(field=status, source=Status.PRINTED, target=Status.ISSUED, permission=is_tson_operator)
    def hand_over(self):
        """TSON staff handed the card to its holder."""

    @transition(field=status, source=list(CANCELLABLE_STATUSES), target=Status.CANCELLED)
    def cancel(self):
        """Withdrawn by the citizen or the channel before the police review."""


class ApplicationNumberCounter(models.Model):
    """The last application number handed out in a year; numbers only go up, so none is ever reused."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("application number counter")
        verbose_name_plural = _("application number counters")

    def __str__(self):
        return f"{self.year}: {self.last_value}"

