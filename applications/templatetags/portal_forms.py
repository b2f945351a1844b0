"""Template filters for the portal's form patterns (GOV.UK's error summary, hint and error ids)."""

from django import template
from django.forms import RadioSelect

register = template.Library()


@register.filter
def first_input_id(field) -> str:
    """The id the error summary links to: a group of checkboxes or radios has none of its own, so its first input."""
    if isinstance(field.field.widget, RadioSelect):  # CheckboxSelectMultiple is one too
        for choice in field.subwidgets:
            return choice.id_for_label
    return field.id_for_label
