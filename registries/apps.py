from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistriesConfig(AppConfig):
    """The gateway to the state registries: it takes an IIN and answers, and knows no workflow."""

    name = "registries"
    verbose_name = _("State registries")
