"""The police review (step 16): claiming an application, and the decision. One function per use case.

Locks in the kernel's order: the application first (`workflow.lock`), then its claim.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.errors import WrongStatus
from applications.models import Application, PersonalDataAccess, RefusalReason, Status
from applications.services import issue_licence, log_staff_read
from applications.workflow import lock, move_application

from .errors import ReviewError, ReviewErrorCode
from .models import ReviewClaim


def claim_minutes() -> int:
    return int(getattr(settings, "REVIEW_CLAIM_MINUTES", 15))


def _claimed_error(claim: ReviewClaim) -> ReviewError:
    return ReviewError(ReviewErrorCode.CLAIMED,
                       _("Another officer (%(officer)s) is reviewing this application until %(until)s.")
                       % {"officer": claim.officer.get_username(),
                          "until": timezone.localtime(claim.expires_at).strftime("%H:%M")},
                       claimed_by=claim.officer.get_username(),
                       claimed_until=timezone.localtime(claim.expires_at).isoformat(timespec="milliseconds"))


def _take_claim(application: Application, officer, now) -> ReviewClaim:
    claim = ReviewClaim.objects.select_for_update().select_related("officer").filter(application=application).first()
    if claim is not None and claim.is_held_by_another(officer, now):
        raise _claimed_error(claim)
    expires_at = now + datetime.timedelta(minutes=claim_minutes())
    claim, _created = ReviewClaim.objects.update_or_create(
        application=application, defaults={"officer": officer, "claimed_at": now, "expires_at": expires_at})
    return claim


@transaction.atomic
def open_for_review(*, application: Application, officer) -> ReviewClaim | None:
    """The officer opens the application: a read of personal data (logged) and, while it waits for the police,
    a claim for REVIEW_CLAIM_MINUTES; if another officer holds it, the claim stays theirs (answered None)."""
    application = lock(application.pk).application
    log_staff_read(application=application, user=officer, purpose=PersonalDataAccess.Purpose.CASE_HANDLING,
                   what="application")
    if application.status != Status.UNDER_REVIEW:
        return None
    try:
        return _take_claim(application, officer, timezone.now())
    except ReviewError:
        return None


@transaction.atomic
def claim_for_review(*, application: Application, officer) -> ReviewClaim:
    """The API's explicit claim: `409 claimed` while another officer holds it."""
    application = lock(application.pk).application
    if application.status != Status.UNDER_REVIEW:
        raise WrongStatus(application, "claim")
    log_staff_read(application=application, user=officer, purpose=PersonalDataAccess.Purpose.CASE_HANDLING,
                   what="application")
    return _take_claim(application, officer, timezone.now())


@transaction.atomic
def release_claim(*, application: Application, officer) -> None:
    lock(application.pk)
    ReviewClaim.objects.filter(application=application, officer=officer).delete()


def _reason(code: str) -> RefusalReason:
    reason = RefusalReason.objects.filter(code=code, is_active=True).first()
    if reason is None:
        raise ReviewError(ReviewErrorCode.VALIDATION_ERROR, _("Choose a reason from the refusal catalogue."),
                          field="reason_code")
    return reason


@transaction.atomic
def decide_application(*, application: Application, decision: str, officer, reason_code: str = "",
                       comment: str = "") -> Application:
    """Approve, or refuse with a reason of the catalogue and a comment the citizen reads. Another officer's claim
    answers `409 claimed`; a step out of order `409 wrong_status`."""
    application = lock(application.pk).application
    if application.status != Status.UNDER_REVIEW:
        raise WrongStatus(application, "decide")
    comment = (comment or "").strip()
    if decision == "refuse":
        if not reason_code:
            raise ReviewError(ReviewErrorCode.MISSING_FIELD, _("A refusal needs a reason."), field="reason_code")
        _reason(reason_code)
        if not comment:
            raise ReviewError(ReviewErrorCode.MISSING_FIELD, _("A refusal needs a comment for the citizen."),
                              field="comment")
    elif decision != "approve":
        raise ReviewError(ReviewErrorCode.VALIDATION_ERROR, _("The decision is approve or refuse."), field="decision")
    now = timezone.now()
    _take_claim(application, officer, now)
    if decision == "approve":
        application = move_application(application=application, transition="approve", actor=officer)
    else:
        application = move_application(application=application, transition="refuse_by_officer", actor=officer,
                                       reason_code=reason_code, comment=comment[:2000])
    ReviewClaim.objects.filter(application=application).delete()
    return application  # the citizen is told by the notices, which follow the move


@transaction.atomic
def print_licence(*, application: Application, officer) -> Application:
    """Step 17: an approved application's licence is numbered and its card printed; it then waits at the pickup
    TSON (the citizen is told by the notices, which follow the move)."""
    application = lock(application.pk).application
    if application.status != Status.APPROVED:
        raise WrongStatus(application, "print")
    issue_licence(application=application, officer=officer)
    return move_application(application=application, transition="mark_printed", actor=officer)
