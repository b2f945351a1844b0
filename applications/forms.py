"""The citizen portal's forms: one question per page, errors that say how to fix them."""

from django import forms
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from .category_names import category_label
from .iin import validate_iin
from .models import Application, Category, Centre, ReplacementReason


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


def category_choices():
    codes = Category.objects.filter(is_issued=True).values_list("code", flat=True)
    return [(code, category_label(code)) for code in codes]


class CategoriesForm(forms.Form):
    categories = forms.MultipleChoiceField(label=_("Which categories do you want?"),
                                           widget=forms.CheckboxSelectMultiple,
                                           error_messages={"required": _("Choose at least one category.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["categories"].choices = category_choices()


class ReplacementForm(forms.Form):
    replacement_reason = forms.ChoiceField(label=_("Why do you need a new licence?"),
                                           choices=ReplacementReason.choices, widget=forms.RadioSelect,
                                           error_messages={"required": _("Choose the reason.")})


class PickupCentreField(forms.ModelChoiceField):
    """A TSON by its name and city in the reader's language; the code is only the submitted value."""

    def label_from_instance(self, centre: Centre) -> str:
        return f"{centre.name_in()}, {centre.city_in()}"


class ApplicationDetailsForm(forms.Form):
    phone = forms.RegexField(r"^\+7\d{10}$", label=_("Mobile phone"), help_text=_("+7 and 10 digits."),
                             error_messages={"invalid": _("Enter the phone as +7 and 10 digits.")},
                             widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    email = forms.EmailField(label=_("Email (optional)"), required=False,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    language = forms.ChoiceField(label=_("Language of the exams"), choices=[("kk", "Қазақ тілі"), ("ru", "Русский")],
                                 widget=forms.RadioSelect, error_messages={"required": _("Choose a language.")})
    pickup_tson = PickupCentreField(label=_("Where will you collect the licence?"), to_field_name="code",
                                    queryset=Centre.objects.none(), empty_label=_("Choose a TSON"),
                                    error_messages={"required": _("Choose a TSON.")})

    def __init__(self, *args, application: Application, **kwargs):
        super().__init__(*args, **kwargs)
        if not application.has_exams:
            del self.fields["language"]  # a replacement has no exams, so no exam language to ask
        self.fields["pickup_tson"].queryset = Centre.objects.filter(is_active=True, offers_tson=True)
