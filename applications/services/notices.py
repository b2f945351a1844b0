"""Notices: the citizen hears by SMS of each step that concerns them, in the language they applied in.

They follow the workflow's `application_moved` signal, so no use case has to remember to send them.
"""

from collections.abc import Callable

from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext as _

from registries.clients import sms_client
from registries.results import Outcome

from ..access_log import registry_access
from ..models import Application, PersonalDataAccess, Status
from ..refusals import application_refusal_message
from ..workflow import application_moved, notify_on_commit

# Notices of the apps that follow the application (exams: booking, reminder, result), registered at start-up:
# event -> writer(application, details) giving the text in the active language.
NOTICE_WRITERS: dict[str, Callable[[Application, dict], str]] = {}


def register_notice(event: str, writer: Callable[[Application, dict], str]) -> None:
    NOTICE_WRITERS[event] = writer


# Refusals with nobody to tell: the registries do not know the person, so no phone is known either.
NOBODY_TO_TELL = {"person_not_found"}


def event_for_move(*, from_status: str, to_status: str) -> str | None:
    """Which notice a move gives, if any."""
    if to_status == Status.REFUSED:
        return "refused"
    if to_status == Status.ELIGIBLE:
        return "eligible"
    if from_status == Status.ELIGIBLE and to_status in (Status.THEORY_EXAM, Status.FORMALIZATION):
        return "submitted"
    return None


@receiver(application_moved, dispatch_uid="notices-on-move")
def notify_on_move(sender, *, application_id, from_status, to_status, actor, **kwargs) -> None:
    event = event_for_move(from_status=from_status, to_status=to_status)
    if event:
        notify_on_commit(application_id, event)


def notice_text(application: Application, event: str, details: dict | None = None) -> str:
    with translation.override(application.notify_language):
        if event in NOTICE_WRITERS:
            return NOTICE_WRITERS[event](application, details or {})
        if event == "refused":
            return _("Kuälik: your application is refused. %(message)s") % {
                "message": application_refusal_message(application)}
        if event == "eligible":
            return _("Kuälik: every check passed. Fill in the application form to get your application number.")
        if event == "submitted":
            if application.status == Status.THEORY_EXAM:
                next_step = _("Next: book the theory exam.")
            else:
                next_step = _("Next: pay the state fee and have your photo taken.")
            return _("Kuälik: your application number is %(number)s. %(next_step)s") % {
                "number": application.number, "next_step": next_step}
        raise ValueError(f"no notice for {event!r}")


def notify_citizen(*, application_id, event: str, details: dict | None = None) -> str:
    """Tell the citizen by SMS; the gateway finds the phone from the IIN, so we need not keep it."""
    application = Application.objects.get(pk=application_id)
    if event == "refused" and application.refusal_code in NOBODY_TO_TELL:
        return "skipped"
    answer = sms_client.send(iin=application.iin, text=notice_text(application, event, details))
    registry_access(application, "sms", PersonalDataAccess.Purpose.NOTIFICATION).save()
    return answer.outcome if answer.outcome != Outcome.UNAVAILABLE else "unavailable"
