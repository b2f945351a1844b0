"""Reads of personal data by people: each one lands in the access log the citizen sees."""

from accounts.models import User

from ..models import Application, PersonalDataAccess


def log_staff_read(*, application: Application, user: User, purpose: str, what: str) -> PersonalDataAccess:
    """A staff member read this application's personal data: the citizen will see it in the access log."""
    kind = PersonalDataAccess.ActorKind.STAFF if user.is_staff_role else PersonalDataAccess.ActorKind.CITIZEN
    return PersonalDataAccess.objects.create(
        application=application, actor_kind=kind, actor_user=user, role=user.role, purpose=purpose, what=what
    )


def log_staff_list_read(*, application_ids, user: User, purpose: str, what: str) -> None:
    """A staff list showed these applications' personal data: one access-log row each, in one insert."""
    kind = PersonalDataAccess.ActorKind.STAFF if user.is_staff_role else PersonalDataAccess.ActorKind.CITIZEN
    PersonalDataAccess.objects.bulk_create(
        PersonalDataAccess(application_id=application_id, actor_kind=kind, actor_user=user, role=user.role,
                           purpose=purpose, what=what)
        for application_id in application_ids
    )
