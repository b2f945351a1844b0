"""The TSON operator's forms: find an application, the fee taken at the desk, the photo file."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .iin import is_valid_iin
from .models import Payment

NUMBER_PATTERN = re.compile(r"^DL-\d{4}-\d{6,}$")


class FindForm(forms.Form):
    """An application number or an IIN, as read from a document or the citizen's phone (sent with GET)."""

    q = forms.CharField(label=_("Application number or IIN"), max_length=40,
                        help_text=_("For example DL-2026-000001, or 12 digits such as 871008401427."),
                        error_messages={"required": _("Enter an application number or an IIN.")},
                        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                                      "autocapitalize": "characters"}))

    def clean_q(self) -> tuple[str, str]:
        """("number", DL-...) or ("iin", 12 digits); spaces and the letters' case do not matter."""
        value = re.sub(r"\s+", "", self.cleaned_data["q"]).upper()
        if NUMBER_PATTERN.match(value):
            return "number", value
        if value.isdigit() and len(value) == 12:
            if not is_valid_iin(value):
                raise forms.ValidationError(_("This IIN is not valid: check its digits."), code="invalid_iin")
            return "iin", value
        raise forms.ValidationError(
            _("Enter an application number such as DL-2026-000001, or an IIN of 12 digits."), code="invalid")


class DeskPaymentForm(forms.Form):
    receipt = forms.CharField(label=_("Receipt number"), max_length=Payment._meta.get_field("receipt").max_length,
                              help_text=_("The number printed on the cash-desk receipt."),
                              error_messages={"required": _("Enter the receipt number."),
                                              "max_length": _("A receipt number has at most %(limit_value)d "
                                                              "characters.")},
                              widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                                            "class": "input-receipt"}))


class PhotoForm(forms.Form):
    """The file the camera script fills in, or that the operator chooses (the fallback without a camera)."""

    photo = forms.FileField(label=_("Photo file"),
                            help_text=_("JPEG or PNG, portrait, at least 413×531 pixels, at most 5 MB."),
                            error_messages={"required": _("Take the photo with the camera, or choose a photo file."),
                                            "empty": _("The chosen file is empty."),
                                            "invalid": _("Choose a photo file.")},
                            widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}))
