"""The citizen portal's forms: one question per page, errors that say how to fix them."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import CodeForm  # noqa: F401  (the consent page's code field is the sign-in one)

from .models import Category, Centre, ReplacementReason


def category_choices():
    return [(code, code) for code in Category.objects.filter(is_issued=True).values_list("code", flat=True)]


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


class ApplicationDetailsForm(forms.Form):
    phone = forms.RegexField(r"^\+7\d{10}$", label=_("Mobile phone"), help_text=_("+7 and 10 digits."),
                             error_messages={"invalid": _("Enter the phone as +7 and 10 digits.")},
                             widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    email = forms.EmailField(label=_("Email (optional)"), required=False)
    language = forms.ChoiceField(label=_("Language of the exams"), choices=[("kk", "Қазақ тілі"), ("ru", "Русский")],
                                 widget=forms.RadioSelect, error_messages={"required": _("Choose a language.")})
    pickup_tson = forms.ModelChoiceField(label=_("Where will you collect the licence?"), to_field_name="code",
                                         queryset=Centre.objects.none(), empty_label=_("Choose a TSON"),
                                         error_messages={"required": _("Choose a TSON.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pickup_tson"].queryset = Centre.objects.filter(is_active=True, offers_tson=True)
