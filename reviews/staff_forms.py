"""The police officer's forms: the queue's filters, and the decision."""

import datetime
import uuid

from django import forms
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from applications.models import Centre, Channel, RefusalReason, Service

MAX_DAYS_WAITING = 3650  # as the API's filter allows


def centre_choices() -> list[tuple[str, str]]:
    centres = Centre.objects.filter(offers_tson=True).order_by("city", "name", "code")
    return [(centre.code, f"{centre.name_in()}, {centre.city_in()}") for centre in centres]


class QueueFilterForm(forms.Form):
    """What the officer narrows the queue to (sent with GET); every field may stay empty."""

    service = forms.ChoiceField(label=_("Service"), required=False,
                                error_messages={"invalid_choice": _("Choose a service from the list.")})
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                error_messages={"invalid_choice": _("Choose a channel from the list.")})
    centre = forms.ChoiceField(label=_("Pickup TSON"), required=False,
                               error_messages={"invalid_choice": _("Choose a TSON from the list.")})
    min_days_waiting = forms.IntegerField(
        label=_("Waiting at least, days"), required=False, min_value=0, max_value=MAX_DAYS_WAITING,
        widget=forms.NumberInput(attrs={"class": "input-narrow", "inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"invalid": _("Enter the number of days as a whole number."),
                        "min_value": _("Enter 0 or a larger number of days."),
                        "max_value": _("Enter a number of days from 0 to %(limit_value)s.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        everything = ("", _("All"))
        self.fields["service"].choices = [everything, *Service.choices]
        self.fields["channel"].choices = [everything, *Channel.choices]
        self.fields["centre"].choices = [everything, *centre_choices()]

    def filters(self) -> dict:
        """The selector's arguments: only the filters that were chosen."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


def parse_cursor(value: str) -> tuple[datetime.datetime, uuid.UUID] | None:
    """The queue's position `<under_review_since>~<id>` of the last row shown; None if it is not one."""
    moment, _sep, pk = (value or "").partition("~")
    try:
        at = parse_datetime(moment)
        return (at, uuid.UUID(pk)) if at is not None and at.tzinfo is not None else None
    except ValueError:
        return None


def make_cursor(application) -> str:
    return f"{application.under_review_since.isoformat()}~{application.pk}"


class DecisionForm(forms.Form):
    """Approve, or refuse with a reason of the catalogue and a comment the citizen reads (both then required)."""

    APPROVE, REFUSE = "approve", "refuse"

    decision = forms.ChoiceField(choices=[(APPROVE, APPROVE), (REFUSE, REFUSE)], widget=forms.HiddenInput,
                                 error_messages={"required": _("Choose to approve or to refuse."),
                                                 "invalid_choice": _("Choose to approve or to refuse.")})
    reason_code = forms.ChoiceField(label=_("Reason for the refusal"), required=False,
                                    error_messages={"invalid_choice": _("Choose a reason from the list.")})
    comment = forms.CharField(
        label=_("Comment for the citizen"), required=False, max_length=2000,
        help_text=_("The citizen reads it with the reason, in your words: say what is wrong and what they can do."),
        widget=forms.Textarea(attrs={"rows": 4, "class": "comment"}),
        error_messages={"max_length": _("Write the comment in at most %(limit_value)d characters.")})

    # The service's names for the inputs it refuses, as this form names them.
    SERVICE_FIELDS = {"reason_code": "reason_code", "comment": "comment", "decision": "decision"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        reasons = RefusalReason.objects.filter(is_active=True).order_by("position", "code")
        self.fields["reason_code"].choices = [("", _("Choose a reason")),
                                              *((reason.code, reason.title_in()) for reason in reasons)]

    def clean(self):
        data = super().clean()
        if data.get("decision") == self.REFUSE:
            if not data.get("reason_code") and "reason_code" not in self.errors:
                self.add_error("reason_code", _("Choose the reason for the refusal."))
            data["comment"] = (data.get("comment") or "").strip()
            if not data["comment"] and "comment" not in self.errors:
                self.add_error("comment", _("Write a comment for the citizen: a refusal needs one."))
        return data
