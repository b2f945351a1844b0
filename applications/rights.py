"""Who may read an application and who may take which step (shared/api-v1.md, "Authentication and roles").

The one place the API asks. Every application endpoint names its step; a caller without the right to that step on
that application gets `404 not_found`, never `403`, so that nobody can probe which applications exist.

- A channel client takes the channel steps on its own organisation's applications.
- A `tson_operator` reads any application; it takes the channel steps on the foreign-licence exchanges that came in
  through a TSON branch (`tson_branch`), whichever operator opened them: the citizen may come back to another desk;
  and it takes the desk steps (desk payment, photo, hand-over) on any application.
- A `police_officer` reads any application and takes the review steps (queue, decision, printing) on any.
- An `examiner` reads no application (it reads bookings); every other role reads and does nothing here.
"""

from enum import StrEnum

from django.db.models import QuerySet

from accounts.models import ChannelClient, Role, User

from .models import Application, Channel
from .selectors import applications_in_full


class Step(StrEnum):
    """What an endpoint does to an application; later endpoints add theirs here and to the table below."""

    READ = "read"
    LIST = "list"
    CREATE = "create"
    CONSENT = "consent"  # confirm, resend, withdraw
    SUBMIT = "submit"
    CANCEL = "cancel"
    ACCESS_LOG = "access_log"
    BOOK = "book"
    PAY = "pay"
    DESK_PAYMENT = "desk_payment"
    PHOTO = "photo"
    HAND_OVER = "hand_over"
    REVIEW = "review"  # the review queue and the decision
    PRINT = "print"


# What a channel does with the applications it brought in ("create and follow ... consent, submit, bookings,
# payments, cancel"); the access log is part of following them.
CHANNEL_STEPS = frozenset({Step.READ, Step.LIST, Step.CREATE, Step.CONSENT, Step.SUBMIT, Step.CANCEL,
                           Step.ACCESS_LOG, Step.BOOK, Step.PAY})

# Staff roles: the steps they take on any application they may read.
STAFF_STEPS: dict[str, frozenset[Step]] = {
    Role.TSON_OPERATOR: frozenset({Step.READ, Step.LIST, Step.DESK_PAYMENT, Step.PHOTO, Step.HAND_OVER}),
    Role.POLICE_OFFICER: frozenset({Step.READ, Step.LIST, Step.REVIEW, Step.PRINT}),
}

# The staff role that acts as the channel for the applications of a TSON branch.
BRANCH_ROLE = Role.TSON_OPERATOR

# Staff whose reads of personal data land in the citizen's access log.
READING_STAFF = tuple(role for role, steps in STAFF_STEPS.items() if Step.READ in steps)


def _staff_role(caller) -> str | None:
    return caller.role if isinstance(caller, User) and caller.has_role(*STAFF_STEPS) else None


def may_take(caller, step: Step) -> bool:
    """Whether the caller takes this step on some application at all (before any application is looked up)."""
    if isinstance(caller, ChannelClient):
        return step in CHANNEL_STEPS
    role = _staff_role(caller)
    if role is None:
        return False
    return step in STAFF_STEPS[role] or (role == BRANCH_ROLE and step in CHANNEL_STEPS)


def applications_for(caller, step: Step = Step.READ, *, full: bool = True) -> QuerySet[Application]:
    """The applications on which the caller may take `step`, with what the Application shows prefetched (`full`);
    without `full`, the rows alone, for a step that answers something else (a booking)."""
    queryset = applications_in_full() if full else Application.objects.all()
    if isinstance(caller, ChannelClient):
        return queryset.filter(organisation=caller.organisation) if step in CHANNEL_STEPS else queryset.none()
    role = _staff_role(caller)
    if role is None:
        return queryset.none()
    if step in STAFF_STEPS[role]:
        return queryset
    if role == BRANCH_ROLE and step in CHANNEL_STEPS:
        return queryset.filter(channel=Channel.TSON_BRANCH)
    return queryset.none()


def may_read(caller, organisation_id) -> bool:
    """The READ rule of applications_for, on what the representation cache remembers of an application."""
    if isinstance(caller, ChannelClient):
        return organisation_id == caller.organisation.pk
    role = _staff_role(caller)
    return role is not None and Step.READ in STAFF_STEPS[role]


def reads_are_logged(caller) -> bool:
    """A staff member's read of an application is an access to the citizen's personal data."""
    return isinstance(caller, User) and caller.has_role(*READING_STAFF)
