from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Applications")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import MonthlyCalculationIndex, ServicePolicy, forget_fee

        for model in (ServicePolicy, MonthlyCalculationIndex):
            post_save.connect(forget_fee, sender=model, dispatch_uid=f"forget-fee-{model.__name__}")
            post_delete.connect(forget_fee, sender=model, dispatch_uid=f"forget-fee-delete-{model.__name__}")
