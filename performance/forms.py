"""The dashboard's filters (sent with GET): the days, and optionally a service, a channel and a TSON."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from applications.models import Centre, Channel, Service

from .selectors import Filters

DEFAULT_DAYS = 30
MAX_DAYS = 366


def tson_choices() -> list[tuple[str, str]]:
    centres = Centre.objects.filter(offers_tson=True).order_by("city", "name", "code")
    return [(str(centre.pk), f"{centre.name_in()}, {centre.city_in()}") for centre in centres]


# Text inputs, not the browsers' date pickers, whose parts the keyboard and screen readers reach unevenly.
def date_input() -> forms.DateInput:
    return forms.DateInput(format="%Y-%m-%d", attrs={"class": "input-date", "inputmode": "numeric",
                                                     "autocomplete": "off", "placeholder": "2026-03-01"})


class DashboardFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, input_formats=["%Y-%m-%d"], widget=date_input(),
                                error_messages={"invalid": _("Enter the first day as a date, like 2026-03-01.")})
    date_to = forms.DateField(label=_("To"), required=False, input_formats=["%Y-%m-%d"], widget=date_input(),
                              error_messages={"invalid": _("Enter the last day as a date, like 2026-03-31.")})
    service = forms.ChoiceField(label=_("Service"), required=False,
                                error_messages={"invalid_choice": _("Choose a service from the list.")})
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                error_messages={"invalid_choice": _("Choose a channel from the list.")})
    tson = forms.ChoiceField(label=_("TSON"), required=False,
                             error_messages={"invalid_choice": _("Choose a TSON from the list.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        everything = ("", _("All"))
        self.fields["service"].choices = [everything, *Service.choices]
        self.fields["channel"].choices = [everything, *Channel.choices]
        self.fields["tson"].choices = [everything, *tson_choices()]
        today = timezone.localdate()
        self.default_from = today - datetime.timedelta(days=DEFAULT_DAYS - 1)
        self.default_to = today
        if not self.is_bound:
            self.initial = {"date_from": self.default_from, "date_to": self.default_to}

    def clean(self):
        cleaned = super().clean()
        date_from = cleaned.get("date_from") or self.default_from
        date_to = cleaned.get("date_to") or self.default_to
        if "date_from" in cleaned and "date_to" in cleaned:
            if date_from > date_to:
                self.add_error("date_to", _("The last day must be the first day or after it."))
            elif (date_to - date_from).days >= MAX_DAYS:
                self.add_error("date_to", _("Choose at most %(days)s days.") % {"days": MAX_DAYS})
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned

    def filters(self) -> Filters:
        """The filters asked for; the last 30 days of everything when nothing was."""
        if not self.is_bound:
            return Filters(self.default_from, self.default_to)
        data = self.cleaned_data
        return Filters(data["date_from"], data["date_to"], service=data["service"], channel=data["channel"],
                       tson_id=int(data["tson"]) if data["tson"] else None)
