"""Use cases that change an application. Each one: lock, validate, change, record history, then side effects."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from accounts.models import ChannelClient, User

from .models import Application, ApplicationNumberCounter, PersonalDataAccess, StatusChange


class WrongStatus(Exception):
    """The step cannot be taken from the application's current status (API: 409 wrong_status)."""

    def __init__(self, application: Application, transition: str):
        super().__init__(f"{transition} is not allowed from {application.status}")
        self.application = application
        self.transition = transition


class NotPermitted(Exception):
    """The actor's role may not take this step (API: answered as 404, never 403)."""


def _actor_fields(actor) -> dict:
    if actor is None:
        return {"actor_kind": StatusChange.ActorKind.SYSTEM}
    if isinstance(actor, ChannelClient):
        return {"actor_kind": StatusChange.ActorKind.CHANNEL, "actor_organisation": actor.organisation}
    if isinstance(actor, User):
        kind = StatusChange.ActorKind.STAFF if actor.is_staff_role else StatusChange.ActorKind.CITIZEN
        return {"actor_kind": kind, "actor_user": actor}
    raise TypeError(f"unknown actor {actor!r}")


def record_status(*, application: Application, from_status: str, actor=None) -> StatusChange:
    """Append the application's current status to its history (call inside the changing transaction)."""
    return StatusChange.objects.create(
        application=application, from_status=from_status, to_status=application.status, at=timezone.now(),
        **_actor_fields(actor),
    )


@transaction.atomic
def move_application(*, application_id, transition: str, actor=None, **arguments) -> Application:
    """Take one transition of the state machine under a row lock and record it in the history.

    Every use case that changes status goes through here: the lock serialises two actors racing the same
    application, and ConcurrentTransitionMixin refuses a save from a stale copy.
    """
    application = Application.objects.select_for_update().get(pk=application_id)
    method = getattr(application, transition)
    if not can_proceed(method):
        raise WrongStatus(application, transition)
    if isinstance(actor, User) and not has_transition_perm(method, actor):
        raise NotPermitted(f"{actor} may not {transition}")
    from_status = application.status
    method(**arguments)
    application.save()
    record_status(application=application, from_status=from_status, actor=actor)
    return application


def next_application_number(*, on=None) -> str:
    """A new application number, DL-<year>-<serial>. The counter row is locked by the UPDATE until the caller's
    transaction ends, so two submissions never get the same number, and it only goes up, so none is reused."""
    year = (on or timezone.localdate()).year
    with transaction.atomic():
        ApplicationNumberCounter.objects.get_or_create(year=year)
        ApplicationNumberCounter.objects.filter(year=year).update(last_value=F("last_value") + 1)
        value = ApplicationNumberCounter.objects.get(year=year).last_value
    return f"DL-{year}-{value:06d}"


def log_staff_read(*, application: Application, user: User, purpose: str, what: str) -> PersonalDataAccess:
    """A staff member read this application's personal data: the citizen will see it in the access log."""
    kind = PersonalDataAccess.ActorKind.STAFF if user.is_staff_role else PersonalDataAccess.ActorKind.CITIZEN
    return PersonalDataAccess.objects.create(
        application=application, actor_kind=kind, actor_user=user, role=user.role, purpose=purpose, what=what
    )
