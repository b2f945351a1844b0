"""The citizen portal's forms: one question per page, errors that say how to fix them."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import CodeForm  # noqa: F401  (the consent page's code field is the sign-in one)

from .category_names import category_label
from .models import PHONE_PATTERN, Application, Category, Centre, ExamLanguage, ReplacementReason


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
    phone = forms.RegexField(PHONE_PATTERN, label=_("Mobile phone"), help_text=_("+7 and 10 digits."),
                             error_messages={"invalid": _("Enter the phone as +7 and 10 digits.")},
                             widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    email = forms.EmailField(label=_("Email (optional)"), required=False,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    language = forms.ChoiceField(label=_("Language of the exams"), choices=ExamLanguage.choices,
                                 widget=forms.RadioSelect, error_messages={"required": _("Choose a language.")})
    pickup_tson = PickupCentreField(label=_("Where will you collect the licence?"), to_field_name="code",
                                    queryset=Centre.objects.none(), empty_label=_("Choose a TSON"),
                                    error_messages={"required": _("Choose a TSON.")})

    def __init__(self, *args, application: Application, **kwargs):
        super().__init__(*args, **kwargs)
        if not application.has_exams:
            del self.fields["language"]  # a replacement has no exams, so no exam language to ask
        self.fields["pickup_tson"].queryset = Centre.objects.filter(is_active=True, offers_tson=True)
