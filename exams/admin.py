"""The exams' reference data for administrators: the rules, the weekly timetables and slots, the question bank and the
practical exam sheet. Bookings and theory sessions are shown read-only: results only go through the services."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.admin import ReadOnlyAdmin

from . import services
from .models import AnswerOption, Booking, ExamRules, ExamSlot, PracticalFault, Question, TheorySession, WeeklySlot

GENERATE_DAYS = 30


@admin.register(ExamRules)
class ExamRulesAdmin(admin.ModelAdmin):
    list_display = ("__str__", "theory_questions", "theory_pass_mark", "theory_minutes",
                    "practical_max_penalty_points", "retake_wait_days", "attempts_before_long_wait",
                    "long_wait_months", "no_show_counts_as_failure", "no_show_after_hours", "reminder_hours_before")

    def has_add_permission(self, request):
        return not ExamRules.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


# --- the question bank -----------------------------------------------------------------------------------------


class AnswerOptionFormSet(forms.BaseInlineFormSet):
    """Exactly one correct option, checked across the whole question, and saved in an order the database accepts."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return  # each option's own errors first
        kept = [form for form in self.forms if form.cleaned_data and not self._should_delete_form(form)]
        if len(kept) < 2:
            raise ValidationError(gettext_lazy("A question needs at least two answer options."), code="too_few")
        correct = sum(1 for form in kept if form.cleaned_data.get("is_correct"))
        if correct != 1:
            raise ValidationError(gettext_lazy("Mark exactly one option as correct (now: %(count)d)."),
                                  code="one_correct", params={"count": correct})

    def save(self, commit=True):
        # The database allows one correct option per question at any moment: unmark the old one before the new one.
        leaving = [form.instance.pk for form in self.initial_forms if form.initial.get("is_correct")
                   and (self._should_delete_form(form) or "is_correct" in form.changed_data)]
        if commit and leaving:
            AnswerOption.objects.filter(pk__in=leaving).update(is_correct=False)
        return super().save(commit)


class AnswerOptionInline(admin.TabularInline):
    model = AnswerOption
    formset = AnswerOptionFormSet
    fields = ("position", "text_kk", "text_ru", "text_en", "is_correct")
    extra = 0
    min_num = 2  # two blank options on a new question; the formset's clean says why fewer are refused


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 80})}}
    list_display = ("reference", "question", "topic", "is_demo", "is_active")
    list_filter = ("topic", "is_demo", "is_active", "categories")
    search_fields = ("reference", "topic", "text_kk", "text_ru", "text_en")
    filter_horizontal = ("categories",)
    inlines = [AnswerOptionInline]
    fieldsets = [
        (None, {"fields": ["reference", "topic", "categories", "image", "is_demo", "is_active"]}),
        (gettext_lazy("Kazakh"), {"fields": ["text_kk", "explanation_kk"]}),
        (gettext_lazy("Russian"), {"fields": ["text_ru", "explanation_ru"]}),
        (gettext_lazy("English (practice mode only)"), {"fields": ["text_en", "explanation_en"]}),
    ]

    @admin.display(description=gettext_lazy("question"))
    def question(self, obj):
        return Truncator(obj.text_in()).chars(90)


# --- timetables, slots, bookings ---------------------------------------------------------------------------------


@admin.register(WeeklySlot)
class WeeklySlotAdmin(admin.ModelAdmin):
    list_display = ("centre", "weekday", "starts_at", "kind", "capacity", "is_active")
    list_filter = ("kind", "weekday", "is_active", "centre")
    search_fields = ("centre__code", "centre__name", "centre__name_ru")
    list_select_related = ("centre",)
    filter_horizontal = ("categories",)
    actions = ["generate_slots"]

    @admin.action(description=gettext_lazy("Generate slots for the next 30 days"))
    def generate_slots(self, request, queryset):
        active = queryset.filter(is_active=True)
        generated = services.generate_slots(days=GENERATE_DAYS, lines=active)
        self.message_user(request, _("Slots for the next %(days)d days: %(created)d created, %(existing)d were "
                                     "already there.") % {"days": GENERATE_DAYS, "created": generated.created,
                                                          "existing": generated.existing}, messages.SUCCESS)
        if inactive := queryset.count() - active.count():
            self.message_user(request, _("Timetable lines switched off, left out: %(count)d.") % {"count": inactive},
                              messages.WARNING)


class ExamSlotAdminForm(forms.ModelForm):
    class Meta:
        model = ExamSlot
        fields = ("centre", "kind", "starts_at", "capacity", "categories")

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if capacity is not None and capacity < self.instance.booked:
            raise ValidationError(_("%(booked)d seats are taken: the slot cannot have fewer seats.")
                                  % {"booked": self.instance.booked})
        return capacity


@admin.register(ExamSlot)
class ExamSlotAdmin(admin.ModelAdmin):
    form = ExamSlotAdminForm
    list_display = ("starts_at", "centre", "kind", "capacity", "booked", "free")
    list_filter = ("kind", "centre")
    search_fields = ("centre__code", "centre__name", "centre__name_ru")
    date_hierarchy = "starts_at"
    list_select_related = ("centre",)
    filter_horizontal = ("categories",)

    def get_readonly_fields(self, request, obj=None):
        # Booked applicants were told this centre, kind and time: moving them is a rescheduling, not an edit.
        if obj is not None and obj.bookings.exists():
            return ("booked", "centre", "kind", "starts_at", "schedule", "created_by", "created_at")
        return ("booked", "schedule", "created_by", "created_at")

    @admin.display(description=gettext_lazy("free seats"))
    def free(self, obj):
        return obj.free


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    list_display = ("application", "kind", "slot", "status", "score", "no_show", "booked_at", "result_at")
    list_filter = ("kind", "status", "no_show", "slot__centre")
    search_fields = ("=application__number",)
    date_hierarchy = "booked_at"
    list_select_related = ("application", "slot__centre")
    fields = ("application", "kind", "slot", "status", "booked_at", "cancelled_at", "result_at", "score", "no_show",
              "sheet", "recorded_by", "reminded_at", "reported_at")
    readonly_fields = fields


@admin.register(TheorySession)
class TheorySessionAdmin(ReadOnlyAdmin):
    """Which options were chosen is left out: with the question bank at hand it would give the answers away."""

    list_display = ("booking", "language", "started_at", "deadline", "finished_at", "answered", "correct")
    list_filter = ("language",)
    search_fields = ("=booking__application__number",)
    date_hierarchy = "started_at"
    list_select_related = ("booking__application",)
    fields = ("booking", "language", "opened_by", "started_at", "deadline", "finished_at", "questions", "answered",
              "correct")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("questions"))
    def questions(self, obj):
        return len(obj.question_ids)

    @admin.display(description=gettext_lazy("answered"))
    def answered(self, obj):
        return len(obj.answers)


@admin.register(PracticalFault)
class PracticalFaultAdmin(admin.ModelAdmin):
    list_display = ("code", "part", "title_kk", "title_ru", "points", "position", "is_active")
    list_editable = ("points", "position", "is_active")
    list_filter = ("part", "is_active")
    search_fields = ("code", "title_kk", "title_ru", "title_en")
