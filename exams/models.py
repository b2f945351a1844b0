"""Exam policy, and later centres' slots, bookings and results."""

from dateutil.relativedelta import relativedelta
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


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

    def long_wait(self) -> relativedelta:
        return relativedelta(months=self.long_wait_months)
