"""How the exams follow the application: through the kernel's after-commit signal, never the other way round."""

from django.dispatch import receiver

from applications import representation_cache
from applications.models import Status
from applications.workflow import application_moved

from . import services


@receiver(application_moved, dispatch_uid="exams-free-bookings-on-cancel")
def free_seats_of_cancelled(sender, *, application_id, to_status, **kwargs) -> None:
    """A cancelled application gives back every seat it held, at once."""
    if to_status == Status.CANCELLED:
        services.free_bookings_of(application_id)


def forget_application_json(sender, instance, **kwargs) -> None:
    """A booking created or changed changes the Application shown (its `exams`)."""
    representation_cache.forget(instance.application_id)
