"""Consent (step 4): ask the consent service, confirm the citizen's code, declines, resends and withdrawals."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from config.jobs import enqueue_on_commit
from registries.clients import consent_client

from .. import representation_cache
from ..access_log import registry_access
from ..errors import ApplicationError, ApplicationErrorCode, WrongStatus
from ..models import Application, Check, Consent, PersonalDataAccess, Registry, Status
from ..workflow import lock, move_application

REQUESTED, UNAVAILABLE, SKIPPED = "requested", "unavailable", "skipped"


def consent_callback_url() -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('consent-callback')}"


def request_consent(*, application_id) -> str:
    """Ask the consent service to ask the citizen (task). Returns the service's word, or "unavailable"."""
    application = Application.objects.select_related("consent").get(pk=application_id)
    consent = application.consent
    if application.status != Status.CONSENT_PENDING or consent.request_id:
        return SKIPPED
    # Claim the request first: the task queued at commit and the sweep (or a redelivery) may both get here, and
    # the citizen must get one code, not two.
    now = timezone.now()
    lease_ended = now - datetime.timedelta(seconds=settings.CONSENT_REQUEST_LEASE_SECONDS)
    claimed = Consent.objects.filter(Q(asked_at__isnull=True) | Q(asked_at__lt=lease_ended), pk=consent.pk,
                                     request_id="").update(asked_at=now)
    if not claimed:
        return SKIPPED
    answer = consent_client.request(
        iin=application.iin, application=str(application.pk), channel=application.channel,
        purpose=consent.purpose, registries=consent.registries, language=application.notify_language,
        callback_url=consent_callback_url(),
    )
    with transaction.atomic():
        locked = lock(application_id, consent=True)
        application, consent = locked.application, locked.consent
        registry_access(application, Registry.CONSENT, PersonalDataAccess.Purpose.CONSENT).save()
        check = application.checks.get(registry=Registry.CONSENT)
        check.attempts += 1
        check.checked_at = timezone.now()
        if answer.unavailable:
            check.outcome, check.error_reason = Check.Outcome.ERROR, answer.reason or ""
            check.save()
            consent.asked_at = None  # the task's retry may ask again at once
            consent.save(update_fields=["asked_at"])
            return UNAVAILABLE
        if application.status != Status.CONSENT_PENDING or consent.request_id:
            return SKIPPED
        if answer.status == "person_not_found":
            # The consent service cannot reach an unknown person: refused at once, no code sent.
            check.outcome, check.code, check.error_reason = Check.Outcome.FAILED, "person_not_found", ""
            check.save()
            consent.fail()
            consent.save(update_fields=["state"])
            move_application(application=application, transition="refuse_on_checks", code="person_not_found")
            return answer.status
        check.outcome, check.error_reason = Check.Outcome.PENDING, ""
        check.save()
        consent.mark_asked(request_id=answer.request_id or "", code_sent=answer.status == "code_sent")
        consent.save(update_fields=["request_id", "state", "code_sent_at"])
    return answer.status


def confirm_consent(*, application: Application, code: str, actor) -> Application:
    """The citizen typed the code: pass it to the consent service (never kept here) and act on its answer."""
    consent = application.consent
    if application.status == Status.CONSENT_PENDING and consent.state == Consent.State.REQUESTED:
        raise WrongStatus(application, "confirm_consent",
                          _("The consent code has not been sent yet. Try again in a few seconds."))
    if application.status != Status.CONSENT_PENDING or consent.state != Consent.State.CODE_SENT:
        if consent.in_force:
            return application  # a double click or a retry: consent is already recorded
        raise WrongStatus(application, "confirm_consent")
    answer = consent_client.confirm(request_id=consent.request_id, code=code)
    if answer.unavailable:
        raise ApplicationError(ApplicationErrorCode.REGISTRY_UNAVAILABLE,
                               _("The consent service is not answering. Please try again in a minute."))
    if answer.status == "granted":
        return _record_consent_granted(application_id=application.pk, actor=actor)
    if answer.status == "expired":
        raise ApplicationError(ApplicationErrorCode.CONSENT_CODE_EXPIRED, _("The code has expired. Ask for a new one."),
                               field="code")
    if answer.status == "invalid_code" and answer.attempts_left:
        raise ApplicationError(ApplicationErrorCode.INVALID_CONSENT_CODE, _("The code is not right."), field="code",
                               attempts_left=answer.attempts_left)
    # No tries left, or the citizen declined or withdrew: consent failed.
    fail_consent(application_id=application.pk, declined=False)
    if answer.status == "invalid_code":
        raise ApplicationError(ApplicationErrorCode.INVALID_CONSENT_CODE,
                               _("The code is not right, and no tries are left."), field="code", attempts_left=0)
    raise WrongStatus(application, "confirm_consent")


@transaction.atomic
def _record_consent_granted(*, application_id, actor) -> Application:
    locked = lock(application_id, consent=True)
    application, consent = locked.application, locked.consent
    if application.status != Status.CONSENT_PENDING:
        return application
    consent.grant()
    consent.save(update_fields=["state", "granted_at"])
    application.checks.filter(registry=Registry.CONSENT).update(
        outcome=Check.Outcome.PASSED, code="", error_reason="", checked_at=consent.granted_at)
    representation_cache.forget(application.pk)
    application = move_application(application=application, transition="record_consent", actor=actor)
    enqueue_on_commit("applications.tasks.run_checks", str(application.pk))
    return application


@transaction.atomic
def fail_consent(*, application_id, declined: bool) -> Application:
    """Consent was declined or its tries ran out: the application is refused with consent_failed."""
    locked = lock(application_id, consent=True)
    application, consent = locked.application, locked.consent
    if application.status != Status.CONSENT_PENDING:
        return application
    if declined:
        consent.decline()
    else:
        consent.fail()
    consent.save(update_fields=["state", "declined_at"])
    application.checks.filter(registry=Registry.CONSENT).update(
        outcome=Check.Outcome.FAILED, code="consent_failed", error_reason="", checked_at=timezone.now())
    representation_cache.forget(application.pk)
    return move_application(application=application, transition="refuse_on_checks", code="consent_failed")


def record_consent_decline(*, request_id: str) -> bool:
    """The consent service reports a decline (signed callback). Replays change nothing."""
    consent = Consent.objects.filter(request_id=request_id).only("application_id").first()
    if consent is None:
        return False
    fail_consent(application_id=consent.application_id, declined=True)
    return True


@transaction.atomic
def resend_consent_code(*, application: Application, actor) -> None:
    """Ask for a new code, at most CONSENT_RESEND_LIMIT times and not more often than CONSENT_RESEND_INTERVAL."""
    locked = lock(application.pk, consent=True)
    application, consent = locked.application, locked.consent
    if application.status != Status.CONSENT_PENDING or consent.state != Consent.State.CODE_SENT:
        raise WrongStatus(application, "resend_consent_code")
    if consent.resends >= settings.CONSENT_RESEND_LIMIT:
        raise ApplicationError(ApplicationErrorCode.RESEND_LIMIT_REACHED,
                               _("No more codes can be sent for this application."))
    wait = datetime.timedelta(seconds=settings.CONSENT_RESEND_INTERVAL_SECONDS)
    if consent.code_sent_at and timezone.now() < consent.code_sent_at + wait:
        retry_after = int((consent.code_sent_at + wait - timezone.now()).total_seconds()) + 1
        raise ApplicationError(ApplicationErrorCode.THROTTLED, _("Please wait before asking for another code."),
                               retry_after=retry_after)
    consent.resends += 1
    consent.code_sent_at = timezone.now()
    consent.save(update_fields=["resends", "code_sent_at"])
    enqueue_on_commit("applications.tasks.resend_consent", str(application.pk))


def send_new_consent_code(*, application_id) -> str:
    """Task side of a resend: the consent service sends a new code and the old one dies."""
    consent = Consent.objects.select_related("application").get(application_id=application_id)
    answer = consent_client.resend(request_id=consent.request_id)
    registry_access(consent.application, Registry.CONSENT, PersonalDataAccess.Purpose.CONSENT).save()
    return answer.status if not answer.unavailable else UNAVAILABLE


@transaction.atomic
def withdraw_consent(*, application: Application, actor) -> Application:
    """The citizen takes consent back: no registry is asked anything more; an application still open is cancelled."""
    locked = lock(application.pk, consent=True)
    application, consent = locked.application, locked.consent
    if consent.withdrawn_at is not None:
        return application
    was_granted = consent.state == Consent.State.GRANTED
    consent.withdraw()
    consent.save(update_fields=["state", "withdrawn_at"])
    if can_proceed(application.cancel):
        application = move_application(application=application, transition="cancel", actor=actor)
    if consent.request_id and was_granted:
        enqueue_on_commit("applications.tasks.tell_consent_service_of_withdrawal", str(application.pk))
    return application


def notify_consent_service_of_withdrawal(*, application_id) -> str:
    consent = Consent.objects.get(application_id=application_id)
    answer = consent_client.withdraw(request_id=consent.request_id)
    return UNAVAILABLE if answer.unavailable else answer.status


def unrequested_consents(*, older_than: datetime.timedelta) -> list:
    """Applications whose consent request never reached the consent service (the sweep asks again)."""
    cutoff = timezone.now() - older_than
    return list(Application.objects.filter(
        status=Status.CONSENT_PENDING, consent__request_id="", updated_at__lt=cutoff).values_list("pk", flat=True))


def expire_unconfirmed_consents(*, older_than: datetime.timedelta) -> int:
    """An application whose consent was never given within the window is refused (consent_failed)."""
    cutoff = timezone.now() - older_than
    stale = Application.objects.filter(status=Status.CONSENT_PENDING, created_at__lt=cutoff).values_list(
        "pk", flat=True)
    count = 0
    for application_id in stale:
        fail_consent(application_id=application_id, declined=False)
        count += 1
    return count
