from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExamsConfig(AppConfig):
    name = "exams"
    verbose_name = _("Exams")

    def ready(self):
        from django.db.models.signals import post_save

        from applications import sections

        from . import (
            demo,  # noqa: F401 -- adds the demo exam slots and question bank to load_demo_data
            receivers,
            representation,
            tasks,  # noqa: F401 -- registers the tasks that services queue by name
        )
        from .models import Booking
        from .services import notices

        sections.register("exams", representation.exams_member, representation.bookings_prefetch())
        notices.register()
        post_save.connect(receivers.forget_application_json, sender=Booking, dispatch_uid="forget-json-booking")
