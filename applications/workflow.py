"""The workflow kernel: every use case of every app moves an application through here.

- `lock` takes the row locks in the one fixed order (Application, then its Consent; counter rows last, by the
  caller that needs a number), so two use cases never wait on each other in a circle.
- `move_application` checks the transition, saves, writes the history row, and after commit sends
  `application_moved`, which the apps that follow an application (exams, reviews, notices) subscribe to: the
  application never imports them.
- `notify_on_commit` tells the citizen (SMS, and email where they gave one) once the change is committed (tasks are
  queued by name, `config.jobs`).
"""

from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from accounts.models import ChannelClient, User
from config.jobs import enqueue_on_commit

from .errors import NotPermitted, WrongStatus
from .models import Application, Consent, StatusChange

# Sent once the move is committed: sender=Application, application_id, from_status, to_status, actor.
application_moved = Signal()


def actor_fields(actor) -> dict:
    """Who acted, as the history and the access log record it."""
    if actor is None:
        return {"actor_kind": StatusChange.ActorKind.SYSTEM}
    if isinstance(actor, ChannelClient):
        return {"actor_kind": StatusChange.ActorKind.CHANNEL, "actor_organisation": actor.organisation}
    if isinstance(actor, User):
        kind = StatusChange.ActorKind.STAFF if actor.is_staff_role else StatusChange.ActorKind.CITIZEN
        return {"actor_kind": kind, "actor_user": actor}
    raise TypeError(f"unknown actor {actor!r}")


def record_status(*, application: Application, from_status: str, actor=None) -> StatusChange:
    """Append the application's current status to its history (inside the changing transaction)."""
    return StatusChange.objects.create(
        application=application, from_status=from_status, to_status=application.status, at=timezone.now(),
        **actor_fields(actor),
    )


@dataclass
class Locked:
    application: Application
    consent: Consent | None = None


def lock(application_id, *, consent: bool = False) -> Locked:
    """Lock the application's row, then (if asked) its consent's: always in this order. Inside a transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("workflow.lock needs a transaction: wrap the use case in transaction.atomic")
    application = Application.objects.select_for_update().get(pk=application_id)
    locked = Locked(application)
    if consent:
        locked.consent = Consent.objects.select_for_update().get(application_id=application.pk)
        application.consent = locked.consent
    return locked


def move_application(*, application_id=None, application: Application | None = None, transition: str, actor=None,
                     **arguments) -> Application:
    """Take one transition of the state machine and record it.

    Pass `application` when the caller already holds its lock (from `lock`); otherwise its id, and it is locked
    here. ConcurrentTransitionMixin refuses a save from a stale copy.
    """
    if application is None:
        with transaction.atomic():
            return _move(lock(application_id).application, transition, actor, arguments)
    return _move(application, transition, actor, arguments)


def _move(application: Application, transition: str, actor, arguments: dict) -> Application:
    method = getattr(application, transition)
    if not can_proceed(method):
        raise WrongStatus(application, transition)
    if isinstance(actor, User) and not has_transition_perm(method, actor):
        raise NotPermitted(f"{actor} may not {transition}")
    from_status = application.status
    method(**arguments)  # in memory: a refusal up to here has written nothing, and the caller may go on
    # The writes join the caller's transaction without a savepoint (two statements fewer): a failure among them
    # leaves that whole transaction to be rolled back, so no half move is ever committed.
    with transaction.atomic(savepoint=False):
        application.save()
        record_status(application=application, from_status=from_status, actor=actor)
        moved = {"application_id": application.pk, "from_status": from_status, "to_status": application.status,
                 "actor": actor}
        transaction.on_commit(lambda: application_moved.send(sender=Application, **moved))
    return application


def notify_on_commit(application_id, event: str, details: dict | None = None) -> None:
    """Tell the citizen about `event` (SMS and email), once the change is committed (`details`: JSON the notice
    shows)."""
    if details is None:
        enqueue_on_commit("applications.tasks.notify_citizen", str(application_id), event)
    else:
        enqueue_on_commit("applications.tasks.notify_citizen", str(application_id), event, details)
