from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    """The performance dashboard for supervisors and administrators: it only reads the other apps."""

    name = "performance"
    verbose_name = _("Performance")
