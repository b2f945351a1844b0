from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    """The police side: review queue, decisions, printing."""

    name = "reviews"
    verbose_name = _("Police review")
