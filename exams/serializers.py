"""The exams' request shapes (shared/api-v1.md): thin, no rules here beyond the shape of the input. The answers'
shapes (Slot, Booking) are the ones the Application already publishes (applications.serializers)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import MAX_SLOT_CAPACITY, ExamKind


class SlotQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExamKind.choices, required=False)
    category = serializers.CharField(max_length=4, required=False, help_text="Only slots serving this category.")
    centre = serializers.SlugField(max_length=32, required=False, help_text="The centre's code.")
    date_from = serializers.DateField(required=False, help_text="Local date (Asia/Almaty), inclusive.")
    date_to = serializers.DateField(required=False, help_text="Local date (Asia/Almaty), inclusive.")

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": [_("The end date is before the start date.")]})
        return attrs


class SlotCreateSerializer(serializers.Serializer):
    centre = serializers.SlugField(max_length=32, help_text="The code of a centre that offers `exams`.")
    kind = serializers.ChoiceField(choices=ExamKind.choices)
    starts_at = serializers.DateTimeField(help_text="ISO 8601 with an offset; in the future.")
    capacity = serializers.IntegerField(min_value=1, max_value=MAX_SLOT_CAPACITY)
    categories = serializers.ListField(child=serializers.CharField(max_length=4), min_length=1, max_length=15)


class BookingCreateSerializer(serializers.Serializer):
    slot = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The slot's id.")


class ResultSerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    score = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10_000,
                                     help_text="Theory: correct answers (0 to the number of questions); practical: "
                                               "penalty points.")


class DayQuerySerializer(serializers.Serializer):
    centre = serializers.SlugField(max_length=32, help_text="The exam centre's code.")
    date = serializers.DateField(help_text="Local date (Asia/Almaty).")
    kind = serializers.ChoiceField(choices=ExamKind.choices, required=False)
