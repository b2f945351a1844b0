"""The request id (django-guid) for tasks run in-process (CELERY_TASK_ALWAYS_EAGER, the tests).

django-guid's CeleryIntegration carries the id in the message headers to a worker; a task run in-process has no
message, so it would get a fresh id, and django-guid's clean-up after it would leave the request that ran it with
none. Here such a task takes its caller's id, and the caller has it back afterwards.
"""

from celery.signals import task_postrun, task_prerun
from django_guid import get_guid, set_guid

_OUTER = "kualik_outer_request_id"


@task_prerun.connect
def eager_task_takes_the_callers_id(task=None, **_signal) -> None:
    if not task.request.is_eager:
        return
    from django_guid.config import settings as guid_settings

    outer = get_guid()
    setattr(task.request, _OUTER, outer)
    if outer:
        # Where django-guid's own task_prerun looks for the id a message carried.
        setattr(task.request, guid_settings.guid_header_name, outer)
    # After django-guid's clean-up, which was connected when Django started (so after this module).
    task_postrun.connect(caller_has_its_id_back, dispatch_uid="kualik-eager-request-id")


def caller_has_its_id_back(task=None, **_signal) -> None:
    outer = getattr(task.request, _OUTER, None) if task.request.is_eager else None
    if outer:
        set_guid(outer)
