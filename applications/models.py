"""The application and its state machine, and the policy data that the workflow reads.

No I/O here: side effects (SMS, registry calls) belong to services, after commit.
"""

import datetime
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Role

from .iin import validate_iin


class Service(models.TextChoices):
    FIRST_ISSUE = "first_issue", _("First driving licence")
    REPLACEMENT = "replacement", _("Replacement of a driving licence")
    FOREIGN_EXCHANGE = "foreign_exchange", _("Exchange of a foreign driving licence")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Citizen portal")
    EGOV_PORTAL = "egov_portal", _("eGov portal")
    EGOV_MOBILE = "egov_mobile", _("EgovMobile")
    TSON_MOBILE = "tson_mobile", _("TSON mobile app")
    BANK = "bank", _("Bank")
    DRIVING_SCHOOL = "driving_school", _("Driving school")
    TSON_BRANCH = "tson_branch", _("TSON branch")


class ReplacementReason(models.TextChoices):
    EXPIRY = "expiry", _("Expiry")
    LOSS = "loss", _("Loss")
    THEFT = "theft", _("Theft")
    DAMAGE = "damage", _("Damage")
    PERSONAL_DATA_CHANGE = "personal_data_change", _("Change of personal data")


class Status(models.TextChoices):
    CONSENT_PENDING = "consent_pending", _("Waiting for consent")
    CHECKS_RUNNING = "checks_running", _("State registries are being checked")
    ELIGIBLE = "eligible", _("Eligible: fill in the application form")
    THEORY_EXAM = "theory_exam", _("Theory exam")
    PRACTICAL_EXAM = "practical_exam", _("Practical exam")
    FORMALIZATION = "formalization", _("State fee and photo")
    UNDER_REVIEW = "under_review", _("Under police review")
    APPROVED = "approved", _("Approved: waiting for printing")
    PRINTED = "printed", _("Printed: waiting at the TSON")
    ISSUED = "issued", _("Issued")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")


FINAL_STATUSES = (Status.ISSUED, Status.REFUSED, Status.CANCELLED)
ACTIVE_STATUSES = tuple(s for s in Status.values if s not in FINAL_STATUSES)
# A citizen or channel may cancel until the application reaches the police.
CANCELLABLE_STATUSES = (
    Status.CONSENT_PENDING,
    Status.CHECKS_RUNNING,
    Status.ELIGIBLE,
    Status.THEORY_EXAM,
    Status.PRACTICAL_EXAM,
    Status.FORMALIZATION,
)


class PhotoSource(models.TextChoices):
    TSON = "tson", _("Taken by a TSON operator")
    REGISTRY = "registry", _("Held by the person registry")


# --- Policy: data an administrator changes in the admin, never literals in code -------------------------------


class Category(models.Model):
    """A licence category (Law "On road traffic", Art. 73) and its rules."""

    code = models.CharField(_("code"), max_length=4, unique=True)
    minimum_age = models.PositiveSmallIntegerField(
        _("minimum age"), validators=[MinValueValidator(14), MaxValueValidator(99)]
    )
    prerequisite = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dependants",
        verbose_name=_("prerequisite category"),
        help_text=_("A trailer (E) category needs its base category."),
    )
    is_issued = models.BooleanField(_("issued"), default=True, help_text=_("Whether new licences are issued."))
    position = models.PositiveSmallIntegerField(_("order on the card"), default=0)

    class Meta:
        verbose_name = _("licence category")
        verbose_name_plural = _("licence categories")
        ordering = ["position", "code"]

    def __str__(self):
        return self.code

    @classmethod
    def issued_by_code(cls) -> dict[str, "Category"]:
        """The categories issued now, with their prerequisites, remembered for a minute per process: every new
        application is checked against them. Edits in the admin are seen at once here, within a minute elsewhere."""
        cached = _category_cache.get("issued")
        if cached and cached[0] > time.monotonic():
            return cached[1]
        issued = {category.code: category
                  for category in cls.objects.select_related("prerequisite").filter(is_issued=True)}
        _category_cache["issued"] = (time.monotonic() + 60, issued)
        return issued

    def clean(self):
        if self.prerequisite_id and self.prerequisite_id == self.pk:
            raise ValidationError({"prerequisite": _("A category cannot be its own prerequisite.")})


_category_cache: dict[str, tuple] = {}


def forget_categories(**kwargs) -> None:
    _category_cache.clear()


class MonthlyCalculationIndex(models.Model):
    """MRP, the monthly calculation index set each year by the budget law."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True, validators=[MinValueValidator(2000)])
    amount_kzt = models.PositiveIntegerField(_("amount, tenge"))

    class Meta:
        verbose_name = _("monthly calculation index (MRP)")
        verbose_name_plural = _("monthly calculation indices (MRP)")
        ordering = ["-year"]

    def __str__(self):
        return f"{self.year}: {self.amount_kzt} ₸"


_fee_cache: dict[str, tuple] = {}


def forget_fee(**kwargs) -> None:
    """Policy or MRP edited in the admin: this process recomputes the fee at once (others within a minute)."""
    _fee_cache.clear()


class ServicePolicy(models.Model):
    """The service-wide settings: one row, edited in the admin."""

    SINGLETON_ID = 1

    state_fee_mrp = models.DecimalField(
        _("state fee, in MRP"), max_digits=6, decimal_places=3, default=Decimal("1.25"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    licence_validity_years = models.PositiveSmallIntegerField(
        _("licence validity, years"), default=10, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    pilot_starts_on = models.DateField(_("pilot starts on"), default=datetime.date(2025, 10, 16))
    pilot_ends_on = models.DateField(
        _("pilot ends on"),
        default=datetime.date(2026, 9, 1),
        help_text=_("Shown to administrators. When it passes the online rules stay in force until changed here."),
    )
    online_first_issue = models.BooleanField(_("first licences are taken online only"), default=True)
    online_replacement = models.BooleanField(_("replacements are taken online only"), default=True)

    class Meta:
        verbose_name = _("service policy")
        verbose_name_plural = _("service policy")

    def __str__(self):
        return str(_("Service policy"))

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> "ServicePolicy":
        policy, _created = cls.objects.get_or_create(pk=cls.SINGLETON_ID)
        return policy

    def pilot_window_passed(self, on: datetime.date | None = None) -> bool:
        return (on or timezone.localdate()) > self.pilot_ends_on

    @classmethod
    def current_fee_kzt(cls) -> int:
        """Today's fee, remembered for a minute per process: every Application shown carries it."""
        today = timezone.localdate()
        cached = _fee_cache.get("fee")
        if cached and cached[0] == today and cached[1] > time.monotonic():
            return cached[2]
        fee = cls.current().state_fee_kzt(today)
        _fee_cache["fee"] = (today, time.monotonic() + 60, fee)
        return fee

    def state_fee_kzt(self, on: datetime.date | None = None) -> int:
        """The state fee in whole tenge: the coefficient times the MRP in force that year, rounded half up."""
        year = (on or timezone.localdate()).year
        mrp = MonthlyCalculationIndex.objects.filter(year__lte=year).order_by("-year").first()
        if mrp is None:
            raise MonthlyCalculationIndex.DoesNotExist(f"no MRP is set for {year} or any earlier year")
        amount = self.state_fee_mrp * mrp.amount_kzt
        return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class ForeignLicenceCountry(models.Model):
    """Whether a licence from this country is exchanged with a theory exam. Countries not listed need one."""

    country = models.CharField(_("country (ISO 3166-1 alpha-2)"), max_length=2, unique=True,
                               validators=[RegexValidator(r"^[A-Z]{2}$")])
    theory_exam_required = models.BooleanField(_("theory exam required"), default=True)

    class Meta:
        verbose_name = _("foreign licence country")
        verbose_name_plural = _("foreign licence countries")
        ordering = ["country"]

    def __str__(self):
        return self.country

    @classmethod
    def theory_exam_required_for(cls, country: str) -> bool:
        rule = cls.objects.filter(country=country).values_list("theory_exam_required", flat=True).first()
        return True if rule is None else rule


class Centre(models.Model):
    """A public service centre (TSON) or exam centre."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    address = models.CharField(_("address"), max_length=300, blank=True)
    offers_tson = models.BooleanField(_("TSON desk (photo, fee, hand-over)"), default=True)
    offers_exams = models.BooleanField(_("exam centre"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("centre")
        verbose_name_plural = _("centres")
        ordering = ["city", "name"]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def services(self) -> list[str]:
        return [name for name, offered in (("tson", self.offers_tson), ("exams", self.offers_exams)) if offered]


# --- The application ------------------------------------------------------------------------------------------


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
        _("phone"), max_length=16, blank=True, validators=[RegexValidator(r"^\+7\d{10}$", code="invalid_phone")]
    )
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(_("exam language"), max_length=2, choices=[("kk", "Қазақша"), ("ru", "Русский")],
                                blank=True)
    pickup_tson = models.ForeignKey(
        Centre, on_delete=models.PROTECT, null=True, blank=True, related_name="pickups",
        verbose_name=_("pickup TSON"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # The language the citizen used when applying: SMS and notices go out in it.
    notify_language = models.CharField(_("language of notices"), max_length=2, default="kk",
                                       choices=[("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")])

    # Outcome of the checks or of the review.
    refusal_code = models.CharField(_("refusal code"), max_length=64, blank=True)
    refusal_comment = models.TextField(_("refusal comment"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    # Formalisation (step 15).
    fee_paid_at = models.DateTimeField(_("state fee paid at"), null=True, blank=True)
    photo_source = models.CharField(_("photo source"), max_length=16, choices=PhotoSource.choices, blank=True)
    photo_captured_at = models.DateTimeField(_("photo captured at"), null=True, blank=True)

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
                condition=Q(status__in=[Status.CONSENT_PENDING, Status.CHECKS_RUNNING, Status.ELIGIBLE,
                                        Status.REFUSED, Status.CANCELLED]) | Q(number__isnull=False),
                name="submitted_application_has_number",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="application_org_created"),
            models.Index(fields=["citizen", "-created_at"], name="application_citizen_created"),
        ]

    def __str__(self):
        return self.number or str(self.id)

    # Conditions ------------------------------------------------------------------------------------------------

    def has_number(self) -> bool:
        return bool(self.number)

    def has_submission_form(self) -> bool:
        return bool(self.phone and self.pickup_tson_id and self.language)

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

    @transition(field=status, source=Status.UNDER_REVIEW, target=Status.APPROVED, permission=is_police_officer)
    def approve(self):
        self.decided_at = timezone.now()

    @transition(field=status, source=Status.UNDER_REVIEW, target=Status.REFUSED, permission=is_police_officer)
    def refuse_by_officer(self, *, comment: str = ""):
        self.refusal_code = "officer_refused"
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


class ApplicationNumberCounter(models.Model):
    """The last application number handed out in a year; numbers only go up, so none is ever reused."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("application number counter")
        verbose_name_plural = _("application number counters")

    def __str__(self):
        return f"{self.year}: {self.last_value}"


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


class Registry(models.TextChoices):
    """The checks of the contract's table, in the order of the algorithm (steps 4 to 10)."""

    CONSENT = "consent", _("Consent to the use of personal data")
    PERSON = "person", _("Person registry")
    LICENCE_REGISTRY = "licence_registry", _("Driving licence registry")
    ERAP = "erap", _("Register of administrative proceedings (ERAP)")
    MEDICAL = "medical", _("Medical certificate 073/у (Ministry of Health)")
    ERDB = "erdb", _("Register of dispensary patients (ERDB)")
    DRIVING_SCHOOL = "driving_school", _("Driving school certificate (Avtoshkola)")
    EXAM_ATTEMPTS = "exam_attempts", _("Earlier exam attempts")


ALGORITHM_ORDER = list(Registry.values)
PHASE_1 = (Registry.PERSON, Registry.LICENCE_REGISTRY, Registry.ERAP)
PHASE_2 = (Registry.MEDICAL, Registry.ERDB, Registry.DRIVING_SCHOOL, Registry.EXAM_ATTEMPTS)


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
    state = models.CharField(_("state"), max_length=32, choices=State.choices, default=State.REQUESTED)
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
