"""The examiner's forms: the day's centre and date, a new slot, and the practical exam sheet."""

from django import forms
from django.utils.translation import gettext_lazy as _

from applications.models import Category

from .models import MAX_SLOT_CAPACITY, ExamKind

MAX_FAULT_TIMES = 99
# Text inputs, not the browsers' date and time pickers, whose parts the keyboard and screen readers reach unevenly.
DATE_HINT = _("Year-month-day, for example 2026-12-04.")
DATE_WIDGET = forms.DateInput(attrs={"class": "input-narrow", "inputmode": "numeric", "autocomplete": "off"},
                              format="%Y-%m-%d")


def centre_choices(centres) -> list[tuple[str, str]]:
    return [(centre.code, f"{centre.name_in()}, {centre.city_in()} ({centre.code})") for centre in centres]


class DayForm(forms.Form):
    """Which centre's day the examiner looks at (sent with GET)."""

    centre = forms.ChoiceField(label=_("Centre"), error_messages={"required": _("Choose a centre."),
                                                                  "invalid_choice": _("Choose a centre.")})
    day = forms.DateField(label=_("Date"), help_text=DATE_HINT, error_messages={"invalid": _("Enter a real date.")},
                          widget=DATE_WIDGET)

    def __init__(self, *args, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].choices = [("", _("Choose a centre")), *centre_choices(centres)]


class SlotForm(forms.Form):
    centre = forms.ChoiceField(label=_("Centre"), error_messages={"required": _("Choose a centre.")})
    kind = forms.ChoiceField(label=_("Exam"), choices=ExamKind.choices, widget=forms.RadioSelect,
                             error_messages={"required": _("Choose the theory or the practical exam.")})
    date = forms.DateField(label=_("Date"), help_text=DATE_HINT, widget=DATE_WIDGET,
                           error_messages={"required": _("Enter the date of the exam."),
                                           "invalid": _("Enter a real date.")})
    time = forms.TimeField(label=_("Start time"), help_text=_("Local time, for example 09:30."),
                           error_messages={"required": _("Enter the start time."),
                                           "invalid": _("Enter a time such as 09:30.")},
                           widget=forms.TimeInput(attrs={"class": "input-narrow", "inputmode": "numeric",
                                                         "autocomplete": "off"}, format="%H:%M"))
    capacity = forms.IntegerField(label=_("Seats"), min_value=1, max_value=MAX_SLOT_CAPACITY,
                                  error_messages={"required": _("Enter the number of seats."),
                                                  "invalid": _("Enter the number of seats as a whole number.")},
                                  widget=forms.NumberInput(attrs={"class": "input-narrow"}))
    categories = forms.MultipleChoiceField(label=_("Categories served"), widget=forms.CheckboxSelectMultiple,
                                           error_messages={"required": _("Choose at least one category.")})

    # The service's names for the inputs it refuses, as this form names them.
    SERVICE_FIELDS = {"centre": "centre", "kind": "kind", "starts_at": "date", "capacity": "capacity",
                      "categories": "categories"}

    def __init__(self, *args, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].choices = [("", _("Choose a centre")), *centre_choices(centres)]
        issued = sorted(Category.issued_by_code().values(), key=lambda category: (category.position, category.code))
        self.fields["categories"].choices = [(category.code, category.code) for category in issued]


class PracticalSheetForm(forms.Form):
    """One "times" input per fault on the sheet, named after the fault's code."""

    def __init__(self, *args, faults, **kwargs):
        super().__init__(*args, **kwargs)
        self.faults = list(faults)
        for fault in self.faults:
            self.fields[self.field_name(fault)] = forms.IntegerField(
                label=fault.title_in(), min_value=0, max_value=MAX_FAULT_TIMES, initial=0, required=False,
                error_messages={"invalid": _("Enter how many times as a whole number, 0 if never."),
                                "min_value": _("Enter how many times, 0 if never."),
                                "max_value": _("A fault is marked at most %(limit_value)s times.")},
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "data-points": fault.points,
                                                "class": "times"}))

    @staticmethod
    def field_name(fault) -> str:
        return f"fault-{fault.code}"

    def times(self) -> dict[str, int]:
        return {fault.code: self.cleaned_data[self.field_name(fault)] or 0 for fault in self.faults}

    def rows(self, part: str) -> list[tuple]:
        return [(fault, self[self.field_name(fault)]) for fault in self.faults if fault.part == part]
