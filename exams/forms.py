"""The citizen's exam forms: which centre and week to look at, and the seat chosen."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from applications.models import Centre

# How far ahead the week filter reaches (slots are generated about a month ahead).
WEEKS_AHEAD = 12


def monday_of(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def week_label(monday: datetime.date) -> str:
    sunday = monday + datetime.timedelta(days=6)
    return f"{date_format(monday, 'd.m.Y')} – {date_format(sunday, 'd.m.Y')}"


class ExamCentreField(forms.ModelChoiceField):
    """An exam centre by its name and city in the reader's language; its code is the value in the address."""

    def label_from_instance(self, centre: Centre) -> str:
        return f"{centre.name_in()}, {centre.city_in()}"


class SlotFilterForm(forms.Form):
    """The picker's filters (GET): one centre or all, and the week shown."""

    centre = ExamCentreField(label=_("Exam centre"), queryset=Centre.objects.none(), to_field_name="code",
                             required=False, empty_label=_("All exam centres"))
    week = forms.TypedChoiceField(label=_("Week"), required=False, coerce=datetime.date.fromisoformat,
                                  empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = Centre.objects.filter(is_active=True, offers_exams=True)
        first = monday_of(timezone.localdate())
        mondays = [first + datetime.timedelta(weeks=offset) for offset in range(WEEKS_AHEAD)]
        self.fields["week"].choices = [(monday.isoformat(), week_label(monday)) for monday in mondays]

    def weeks(self) -> list[datetime.date]:
        return [datetime.date.fromisoformat(value) for value, _label in self.fields["week"].choices]


class BookingForm(forms.Form):
    """The seat chosen. `booking` is the booking the page showed (empty for a first booking): a page made stale by
    another tab or a second click is recognised instead of booking twice."""

    slot = forms.IntegerField(min_value=1, error_messages={
        "required": _("Choose a date and time."), "invalid": _("Choose a date and time from the list."),
        "min_value": _("Choose a date and time from the list.")})
    booking = forms.IntegerField(required=False, widget=forms.HiddenInput)
