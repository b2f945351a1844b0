"""Exams (steps 13 and 14): the rules, the centres' slots, bookings and their results, the theory question bank and
the theory sessions taken on the centre's terminal, and the practical exam's penalty sheet.

No I/O here. Seats are counted by the database: `ExamSlot.booked` only moves through one conditional UPDATE (see
`exams.services.booking`), and a CheckConstraint refuses any write past the capacity, whoever makes it.
"""

import uuid

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from applications.models import Application, Category, Centre

MAX_SLOT_CAPACITY = 500


class ExamRules(models.Model):
    """The exam rules in force: one row, edited in the admin."""

    SINGLETON_ID = 1

    theory_questions = models.PositiveSmallIntegerField(_("theory: questions"), default=40,
                                                        validators=[MinValueValidator(1)])
    theory_pass_mark = models.PositiveSmallIntegerField(_("theory: correct answers to pass"), default=32,
                                                        validators=[MinValueValidator(1)])
    theory_minutes = models.PositiveSmallIntegerField(_("theory: minutes"), default=40,
                                                      validators=[MinValueValidator(1)])
    practical_max_penalty_points = models.PositiveSmallIntegerField(
        _("practical: most penalty points that still pass"), default=100
    )
    retake_wait_days = models.PositiveSmallIntegerField(
        _("days to wait before a retake"), default=7, validators=[MaxValueValidator(365)]
    )
    attempts_before_long_wait = models.PositiveSmallIntegerField(
        _("failed attempts before the long wait"), default=3, validators=[MinValueValidator(1)]
    )
    long_wait_months = models.PositiveSmallIntegerField(
        _("long wait, months after the last exam"), default=6, validators=[MaxValueValidator(60)]
    )
    no_show_counts_as_failure = models.BooleanField(
        _("a no-show counts as a failed attempt"), default=True,
        help_text=_("When on, a booking without a result after its exam is a failed attempt, and the retake wait "
                    "applies. When off, the booking is only cancelled."))
    no_show_after_hours = models.PositiveSmallIntegerField(
        _("hours after the start of the exam before a booking without a result is a no-show"), default=4,
        validators=[MinValueValidator(1), MaxValueValidator(72)])
    reminder_hours_before = models.PositiveSmallIntegerField(
        _("hours before the exam that the SMS reminder goes out"), default=24,
        validators=[MinValueValidator(1), MaxValueValidator(168)])

    class Meta:
        verbose_name = _("exam rules")
        verbose_name_plural = _("exam rules")
        constraints = [
            models.CheckConstraint(condition=Q(theory_pass_mark__lte=F("theory_questions")),
                                   name="exam_pass_mark_within_questions"),
        ]

    def __str__(self):
        return str(_("Exam rules"))

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> "ExamRules":
        rules, _created = cls.objects.get_or_create(pk=cls.SINGLETON_ID)
        return rules

    def theory_passed(self, correct_answers: int) -> bool:
        return correct_answers >= self.theory_pass_mark

    def practical_passed(self, penalty_points: int) -> bool:
        return penalty_points <= self.practical_max_penalty_points

    def long_wait(self) -> relativedelta:
        return relativedelta(months=self.long_wait_months)


class ExamKind(models.TextChoices):
    THEORY = "theory", _("Theory exam")
    PRACTICAL = "practical", _("Practical exam")


class WeeklySlot(models.Model):
    """A line of a centre's weekly timetable, from which slots are generated ahead (command and admin action)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="weekly_slots",
                               verbose_name=_("centre"), limit_choices_to={"offers_exams": True})
    kind = models.CharField(_("kind"), max_length=16, choices=ExamKind.choices)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts_at = models.TimeField(_("starts at (local time)"))
    capacity = models.PositiveSmallIntegerField(
        _("seats"), validators=[MinValueValidator(1), MaxValueValidator(MAX_SLOT_CAPACITY)])
    categories = models.ManyToManyField(Category, related_name="+", verbose_name=_("categories"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("weekly exam timetable line")
        verbose_name_plural = _("weekly exam timetable")
        ordering = ["centre", "weekday", "starts_at", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "kind", "weekday", "starts_at"], name="weekly_slot_unique"),
        ]

    def __str__(self):
        return f"{self.centre.code} {self.get_weekday_display()} {self.starts_at:%H:%M} {self.kind}"


class ExamSlot(models.Model):
    """One exam sitting at a centre: a kind, a start, seats, and the categories it serves."""

    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="exam_slots", verbose_name=_("centre"),
                               limit_choices_to={"offers_exams": True})
    kind = models.CharField(_("kind"), max_length=16, choices=ExamKind.choices)
    starts_at = models.DateTimeField(_("starts at"))
    capacity = models.PositiveSmallIntegerField(
        _("seats"), validators=[MinValueValidator(1), MaxValueValidator(MAX_SLOT_CAPACITY)])
    # Moved only by the booking service's conditional UPDATE; the constraint below backs it.
    booked = models.PositiveSmallIntegerField(_("seats taken"), default=0, editable=False)
    categories = models.ManyToManyField(Category, related_name="exam_slots", verbose_name=_("categories"))
    schedule = models.ForeignKey(WeeklySlot, on_delete=models.SET_NULL, null=True, blank=True, related_name="slots",
                                 verbose_name=_("generated from"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("exam slot")
        verbose_name_plural = _("exam slots")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="exam_slot_booked_within_capacity"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="exam_slot_has_seats"),
            models.UniqueConstraint(fields=["schedule", "starts_at"], condition=Q(schedule__isnull=False),
                                    name="exam_slot_once_per_timetable_line"),
        ]
        indexes = [
            models.Index(fields=["kind", "starts_at"], name="exam_slot_kind_start"),
            models.Index(fields=["centre", "starts_at"], name="exam_slot_centre_start"),
        ]

    def __str__(self):
        return f"{self.centre.code} {self.kind} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)

    def has_started(self, now=None) -> bool:
        return self.starts_at <= (now or timezone.now())

    def category_codes(self) -> list[str]:
        """The codes, in the order of the card (from the prefetched categories when they are)."""
        return [category.code for category in sorted(self.categories.all(), key=lambda c: (c.position, c.code))]


class Booking(models.Model):
    """An application's seat in a slot. At most one active (`booked`) booking per exam kind per application."""

    class State(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="exam_bookings",
                                    verbose_name=_("application"))
    slot = models.ForeignKey(ExamSlot, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("slot"))
    kind = models.CharField(_("kind"), max_length=16, choices=ExamKind.choices)  # the slot's, for the constraint
    status = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.BOOKED)
    booked_at = models.DateTimeField(_("booked at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    result_at = models.DateTimeField(_("result recorded at"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    no_show = models.BooleanField(_("did not come"), default=False)
    # The practical exam's sheet: the faults marked (code -> times) and the penalty points they add up to.
    sheet = models.JSONField(_("practical exam sheet"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("result recorded by"))
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported to the exam system at"), null=True, blank=True)

    class Meta:
        verbose_name = _("exam booking")
        verbose_name_plural = _("exam bookings")
        ordering = ["booked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "kind"], condition=Q(status="booked"),
                                    name="one_active_booking_per_kind",
                                    violation_error_code="booking_exists"),
            models.CheckConstraint(condition=Q(status__in=["booked", "cancelled"]) | Q(result_at__isnull=False),
                                   name="booking_result_has_time"),
        ]
        indexes = [
            models.Index(fields=["slot", "status"], name="booking_slot_status"),
            models.Index(fields=["application", "kind", "status"], name="booking_application_kind"),
            models.Index(fields=["status", "reminded_at"], name="booking_status_reminded"),
        ]

    def __str__(self):
        return f"{self.application} {self.kind} {self.status}"

    @property
    def is_attempt(self) -> bool:
        return self.status in (self.State.PASSED, self.State.FAILED)


def _in_language(instance, field: str, language: str | None) -> str:
    """The field in `language` (the active one by default); Russian where the language's text is empty."""
    language = (language or get_language() or "kk")[:2]
    return getattr(instance, f"{field}_{language}", "") or getattr(instance, f"{field}_ru", "")


class Question(models.Model):
    """A theory exam question, in Kazakh and Russian (the exam languages) and English (practice only)."""

    reference = models.SlugField(_("reference"), max_length=40, unique=True)
    topic = models.CharField(_("topic"), max_length=60, blank=True)
    text_kk = models.TextField(_("question (Kazakh)"))
    text_ru = models.TextField(_("question (Russian)"))
    text_en = models.TextField(_("question (English)"), blank=True)
    explanation_kk = models.TextField(_("explanation (Kazakh)"), blank=True)
    explanation_ru = models.TextField(_("explanation (Russian)"), blank=True)
    explanation_en = models.TextField(_("explanation (English)"), blank=True)
    image = models.ImageField(_("image"), upload_to="questions/", blank=True)
    categories = models.ManyToManyField(
        Category, blank=True, related_name="+", verbose_name=_("categories"),
        help_text=_("Leave empty for a question of every category."))
    is_demo = models.BooleanField(_("demo question"), default=False,
                                  help_text=_("Written for the demo bank, not an official question."))
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("theory question")
        verbose_name_plural = _("theory question bank")
        ordering = ["reference"]

    def __str__(self):
        return self.reference

    def text_in(self, language: str | None = None) -> str:
        return _in_language(self, "text", language)

    def explanation_in(self, language: str | None = None) -> str:
        return _in_language(self, "explanation", language)


class AnswerOption(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    text_kk = models.CharField(_("answer (Kazakh)"), max_length=500)
    text_ru = models.CharField(_("answer (Russian)"), max_length=500)
    text_en = models.CharField(_("answer (English)"), max_length=500, blank=True)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        verbose_name = _("answer option")
        verbose_name_plural = _("answer options")
        ordering = ["question", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["question"], condition=Q(is_correct=True),
                                    name="one_correct_option_per_question"),
        ]

    def __str__(self):
        return self.text_ru

    def text_in(self, language: str | None = None) -> str:
        return _in_language(self, "text", language)


class TheorySession(models.Model):
    """One theory exam taken on a centre's terminal: the questions drawn once, the answers, the server's clock.

    The browser holds only a random token (its hash is kept) and sees one question at a time without the answer.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="theory_session",
                                   verbose_name=_("booking"))
    language = models.CharField(_("exam language"), max_length=2)
    question_ids = models.JSONField(_("questions drawn, in order"), default=list)
    # Question id (as text) -> the chosen option's id.
    answers = models.JSONField(_("answers"), default=dict)
    terminal_token_hash = models.CharField(_("terminal token (hash)"), max_length=64)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("opened by"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    deadline = models.DateTimeField(_("time is up at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    correct = models.PositiveSmallIntegerField(_("correct answers"), null=True, blank=True)

    class Meta:
        verbose_name = _("theory exam session")
        verbose_name_plural = _("theory exam sessions")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["finished_at", "deadline"], name="theory_session_open")]

    def __str__(self):
        return f"{self.booking} {self.started_at:%Y-%m-%d %H:%M}"

    def is_open(self, now=None) -> bool:
        return self.finished_at is None and (now or timezone.now()) < self.deadline


class PracticalFault(models.Model):
    """A line of the practical exam sheet: a fault and the penalty points it adds (policy, edited in the admin)."""

    class Part(models.TextChoices):
        AUTODROME = "autodrome", _("Autodrome")
        CITY = "city", _("City route")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    part = models.CharField(_("part of the exam"), max_length=16, choices=Part.choices)
    title_kk = models.CharField(_("fault (Kazakh)"), max_length=300)
    title_ru = models.CharField(_("fault (Russian)"), max_length=300)
    title_en = models.CharField(_("fault (English)"), max_length=300)
    points = models.PositiveSmallIntegerField(_("penalty points"), validators=[MinValueValidator(1)])
    position = models.PositiveSmallIntegerField(_("order on the sheet"), default=0)
    is_active = models.BooleanField(_("on the sheet"), default=True)

    class Meta:
        verbose_name = _("practical exam fault")
        verbose_name_plural = _("practical exam sheet")
        ordering = ["part", "position", "code"]

    def __str__(self):
        return f"{self.code} ({self.points})"

    def title_in(self, language: str | None = None) -> str:
        language = (language or get_language() or "kk")[:2]
        return getattr(self, f"title_{language}", "") or self.title_kk
