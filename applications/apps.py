from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Applications")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from config.api import register_problem_member_choices

        from . import (
            representation_cache,
            tasks,  # noqa: F401 -- registers the tasks that services queue by name
        )
        from .models import (
            Application,
            Category,
            Check,
            Consent,
            MonthlyCalculationIndex,
            Payment,
            RefusalReason,
            ServicePolicy,
            Status,
            StatusChange,
            forget_categories,
            forget_fee,
            forget_refusal_reasons,
        )
        from .services import notices  # noqa: F401 -- connects the notice receivers to application_moved

        for model in (ServicePolicy, MonthlyCalculationIndex):
            post_save.connect(forget_fee, sender=model, dispatch_uid=f"forget-fee-{model.__name__}")
            post_delete.connect(forget_fee, sender=model, dispatch_uid=f"forget-fee-delete-{model.__name__}")
        post_save.connect(forget_refusal_reasons, sender=RefusalReason, dispatch_uid="forget-refusal-reasons")
        post_delete.connect(forget_refusal_reasons, sender=RefusalReason, dispatch_uid="forget-refusal-reasons-del")
        post_save.connect(forget_categories, sender=Category, dispatch_uid="forget-categories")
        post_delete.connect(forget_categories, sender=Category, dispatch_uid="forget-categories-delete")
        for model in (Application, Check, Consent, StatusChange, Payment):
            post_save.connect(representation_cache.forget_on_change, sender=model,
                              dispatch_uid=f"forget-application-json-{model.__name__}")
            post_delete.connect(representation_cache.forget_on_change, sender=model,
                                dispatch_uid=f"forget-application-json-delete-{model.__name__}")
        register_problem_member_choices("current_status", Status.choices)
