"""Sign-in forms: a citizen's IIN and SMS code, a staff member's password and authenticator code."""

from django import forms
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from .iin import validate_iin


class SignInForm(forms.Form):
    iin = forms.CharField(label=_("IIN"), help_text=_("12 digits, as in your identity document."), max_length=12,
                          validators=[validate_iin],
                          widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))


class CodeForm(forms.Form):
    code = forms.RegexField(r"^\d{6}$", label=_("Code from the SMS"), max_length=6,
                            help_text=_("6 digits."),
                            error_messages={"invalid": _("Enter the 6 digits from the SMS.")},
                            widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))

    @classmethod
    def blank_with_error(cls, message) -> "CodeForm":
        """An empty form carrying one error for the whole page (a refused resend; a code not sent yet)."""
        form = cls()
        form.cleaned_data, form._errors = {}, ErrorDict()
        form.add_error(None, message)
        return form


class StaffSignInForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none",
                                                             "spellcheck": "false", "autofocus": True}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class AuthenticatorCodeForm(forms.Form):
    otp_token = forms.RegexField(r"^\d{6}$", label=_("Code from the authenticator app"), max_length=6,
                                 help_text=_("6 digits; a new code appears every 30 seconds."),
                                 error_messages={"invalid": _("Enter the 6 digits that the app shows now."),
                                                 "required": _("Enter the 6 digits that the app shows now.")},
                                 widget=forms.TextInput(attrs={"inputmode": "numeric", "autofocus": True,
                                                               "autocomplete": "one-time-code"}))
