"""Use cases that change an application. Each one: lock, validate, change, record history, then side effects."""

import datetime
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from accounts.models import ChannelClient, User
from registries.clients import consent_client, sms_client
from registries.results import Outcome

from . import representation_cache
from .access_log import registry_access
from .checks import create_checks
from .models import (
    ACTIVE_STATUSES,
    Application,
    ApplicationNumberCounter,
    Category,
    Centre,
    Channel,
    Check,
    Consent,
    ForeignLicenceCountry,
    PersonalDataAccess,
    Registry,
    Service,
    Status,
    StatusChange,
)
from .refusals import refusal_message

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A request the rules refuse. `code` is the contract's error code; `field` names the offending input."""

    def __init__(self, code: str, message: str, *, field: str | None = None, **extra):
        super().__init__(message)
        self.code, self.message, self.field, self.extra = code, message, field, extra


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


# --- Intake ---------------------------------------------------------------------------------------------------

CHANNEL_SERVICES = {Service.FOREIGN_EXCHANGE: {Channel.TSON_BRANCH}}


def validate_categories(codes: list[str], *, required: bool) -> list[str]:
    """Known, issued categories, each with its prerequisite; returned in the order of the card."""
    if not codes:
        if required:
            raise ApplicationError("missing_field", _("Choose at least one category."), field="categories")
        return []
    issued = Category.issued_by_code()
    categories = {code: issued[code] for code in codes if code in issued}
    unknown = [code for code in codes if code not in categories]
    if unknown:
        raise ApplicationError("invalid_category", _("Unknown category: %(codes)s.") % {"codes": ", ".join(unknown)},
                               field="categories")
    for category in categories.values():
        if category.prerequisite and category.prerequisite.code not in categories:
            raise ApplicationError(
                "category_prerequisite",
                _("Category %(category)s needs category %(base)s as well.")
                % {"category": category.code, "base": category.prerequisite.code},
                field="categories",
            )
    return sorted(categories, key=lambda code: (categories[code].position, code))


def start_application(*, service: str, iin: str, categories: list[str], channel: str, actor,
                      replacement_reason: str | None = None, foreign_licence: dict | None = None,
                      language: str = "kk") -> Application:
    """Open an application and ask the consent service for the citizen's consent (steps 1 to 4).

    Nothing but the consent service is asked about the person until the citizen confirms.
    """
    allowed_channels = CHANNEL_SERVICES.get(service)
    if (allowed_channels and channel not in allowed_channels) or (
        not allowed_channels and channel == Channel.TSON_BRANCH
    ):
        raise ApplicationError("channel_not_allowed", _("This service is not taken through this channel."))
    categories = validate_categories(categories, required=service != Service.REPLACEMENT)
    try:
        with transaction.atomic():
            application = Application.objects.create(
                service=service, iin=iin, categories=categories, channel=channel,
                replacement_reason=replacement_reason if service == Service.REPLACEMENT else None,
                foreign_licence=foreign_licence if service == Service.FOREIGN_EXCHANGE else None,
                organisation=actor.organisation if isinstance(actor, ChannelClient) else None,
                citizen=actor if isinstance(actor, User) and not actor.is_staff_role else None,
                created_by=actor if isinstance(actor, User) and actor.is_staff_role else None,
                notify_language=language if language in ("kk", "ru", "en") else "kk",
            )
            history = [record_status(application=application, from_status="", actor=actor)]
            checks = create_checks(application)
            consent = Consent.objects.create(
                application=application, channel=channel,
                registries=[c.registry for c in checks if c.registry != Registry.CONSENT])
    except IntegrityError as error:
        if Application.objects.filter(iin=iin, status__in=ACTIVE_STATUSES).exists():
            raise ApplicationError("active_application_exists",
                                   _("This person already has an application in progress.")) from error
        raise
    # The consent service is asked by a task once the application is committed (so no code can reach the citizen
    # before the application knows its request): a slow consent service never holds up the channel, and an
    # unknown person is refused within seconds. Without a broker the task runs here, at commit.
    transaction.on_commit(lambda: _ask_for_consent(application.pk))
    # What the caller shows next is what was just written: no need to read it back.
    application._prefetched_objects_cache = {"checks": checks, "history": history}
    application.consent = consent
    return application


def _ask_for_consent(application_id) -> None:
    from .tasks import request_consent as request_consent_task

    try:
        request_consent_task.delay(str(application_id))
    except Exception:
        # The broker is down: the periodic sweep asks for every consent that was never requested.
        logger.exception("could not queue the consent request of %s; the sweep will", application_id)


# --- Consent --------------------------------------------------------------------------------------------------


def consent_callback_url() -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('consent-callback')}"


def request_consent(*, application_id) -> str:
    """Ask the consent service to ask the citizen (task). Returns the service's word, or "unavailable"."""
    application = Application.objects.select_related("consent").get(pk=application_id)
    consent = application.consent
    if application.status != Status.CONSENT_PENDING or consent.request_id:
        return "skipped"
    # Claim the request first: the task queued at commit and the sweep (or a redelivery) may both get here, and
    # the citizen must get one code, not two.
    now = timezone.now()
    lease_ended = now - datetime.timedelta(seconds=settings.CONSENT_REQUEST_LEASE_SECONDS)
    claimed = Consent.objects.filter(Q(asked_at__isnull=True) | Q(asked_at__lt=lease_ended), pk=consent.pk,
                                     request_id="").update(asked_at=now)
    if not claimed:
        return "skipped"
    answer = consent_client.request(
        iin=application.iin, application=str(application.pk), channel=application.channel,
        purpose=consent.purpose, registries=consent.registries, language=application.notify_language,
        callback_url=consent_callback_url(),
    )
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application_id)
        consent = Consent.objects.select_for_update().get(application=application)
        registry_access(application, Registry.CONSENT, PersonalDataAccess.Purpose.CONSENT).save()
        check = application.checks.get(registry=Registry.CONSENT)
        check.attempts += 1
        check.checked_at = timezone.now()
        if answer.unavailable:
            check.outcome, check.error_reason = Check.Outcome.ERROR, answer.reason or ""
            check.save()
            consent.asked_at = None  # the task's retry may ask again at once
            consent.save(update_fields=["asked_at"])
            return "unavailable"
        if application.status != Status.CONSENT_PENDING or consent.request_id:
            return "skipped"
        if answer.status == "person_not_found":
            # The consent service cannot reach an unknown person: refused at once, no code sent.
            check.outcome, check.code, check.error_reason = Check.Outcome.FAILED, "person_not_found", ""
            check.save()
            consent.state = Consent.State.FAILED
            consent.save(update_fields=["state"])
            move_application(application_id=application.pk, transition="refuse_on_checks", code="person_not_found")
            return answer.status
        check.outcome, check.error_reason = Check.Outcome.PENDING, ""
        check.save()
        consent.request_id = answer.request_id or ""
        consent.state = Consent.State.CODE_SENT if answer.status == "code_sent" else Consent.State.DECISION_PENDING
        consent.code_sent_at = timezone.now() if answer.status == "code_sent" else None
        consent.save(update_fields=["request_id", "state", "code_sent_at"])
    return answer.status


def confirm_consent(*, application: Application, code: str, actor) -> Application:
    """The citizen typed the code: pass it to the consent service (never kept here) and act on its answer."""
    consent = application.consent
    if application.status == Status.CONSENT_PENDING and consent.state == Consent.State.REQUESTED:
        raise ApplicationError("wrong_status", _("The consent code has not been sent yet. Try again in a few seconds."))
    if application.status != Status.CONSENT_PENDING or consent.state != Consent.State.CODE_SENT:
        if consent.in_force:
            return application  # a double click or a retry: consent is already recorded
        raise WrongStatus(application, "confirm_consent")
    answer = consent_client.confirm(request_id=consent.request_id, code=code)
    if answer.unavailable:
        raise ApplicationError("registry_unavailable",
                               _("The consent service is not answering. Please try again in a minute."))
    if answer.status == "granted":
        return _record_consent_granted(application_id=application.pk, actor=actor)
    if answer.status == "expired":
        raise ApplicationError("consent_code_expired", _("The code has expired. Ask for a new one."), field="code")
    if answer.status == "invalid_code" and answer.attempts_left:
        raise ApplicationError("invalid_consent_code", _("The code is not right."), field="code",
                               attempts_left=answer.attempts_left)
    # No tries left, or the citizen declined or withdrew: consent failed.
    fail_consent(application_id=application.pk, state=Consent.State.FAILED)
    if answer.status == "invalid_code":
        raise ApplicationError("invalid_consent_code", _("The code is not right, and no tries are left."),
                               field="code", attempts_left=0)
    raise WrongStatus(application, "confirm_consent")


@transaction.atomic
def _record_consent_granted(*, application_id, actor) -> Application:
    application = Application.objects.select_for_update().get(pk=application_id)
    consent = Consent.objects.select_for_update().get(application=application)
    if application.status != Status.CONSENT_PENDING:
        return application
    consent.state, consent.granted_at = Consent.State.GRANTED, timezone.now()
    consent.save(update_fields=["state", "granted_at"])
    application.checks.filter(registry=Registry.CONSENT).update(
        outcome=Check.Outcome.PASSED, code="", error_reason="", checked_at=consent.granted_at)
    representation_cache.forget(application.pk)
    application = move_application(application_id=application.pk, transition="record_consent", actor=actor)
    from .tasks import run_checks

    transaction.on_commit(lambda: run_checks.delay(str(application.pk)))
    return application


@transaction.atomic
def fail_consent(*, application_id, state: str) -> Application:
    """Consent was declined or its tries ran out: the application is refused with consent_failed."""
    application = Application.objects.select_for_update().get(pk=application_id)
    consent = Consent.objects.select_for_update().get(application=application)
    if application.status != Status.CONSENT_PENDING:
        return application
    consent.state = state
    if state == Consent.State.DECLINED:
        consent.declined_at = timezone.now()
    consent.save(update_fields=["state", "declined_at"])
    application.checks.filter(registry=Registry.CONSENT).update(
        outcome=Check.Outcome.FAILED, code="consent_failed", error_reason="", checked_at=timezone.now())
    representation_cache.forget(application.pk)
    application = move_application(application_id=application.pk, transition="refuse_on_checks",
                                   code="consent_failed")
    notify_on_commit(application.pk, "refused")
    return application


def record_consent_decline(*, request_id: str) -> bool:
    """The consent service reports a decline (signed callback). Replays change nothing."""
    consent = Consent.objects.filter(request_id=request_id).select_related("application").first()
    if consent is None:
        return False
    fail_consent(application_id=consent.application_id, state=Consent.State.DECLINED)
    return True


@transaction.atomic
def resend_consent_code(*, application: Application, actor) -> None:
    """Ask for a new code, at most CONSENT_RESEND_LIMIT times and not more often than CONSENT_RESEND_INTERVAL."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    consent = Consent.objects.select_for_update().get(application=application)
    if application.status != Status.CONSENT_PENDING or consent.state != Consent.State.CODE_SENT:
        raise WrongStatus(application, "resend_consent_code")
    if consent.resends >= settings.CONSENT_RESEND_LIMIT:
        raise ApplicationError("resend_limit_reached", _("No more codes can be sent for this application."))
    wait = datetime.timedelta(seconds=settings.CONSENT_RESEND_INTERVAL_SECONDS)
    if consent.code_sent_at and timezone.now() < consent.code_sent_at + wait:
        retry_after = int((consent.code_sent_at + wait - timezone.now()).total_seconds()) + 1
        raise ApplicationError("throttled", _("Please wait before asking for another code."),
                               retry_after=retry_after)
    consent.resends += 1
    consent.code_sent_at = timezone.now()
    consent.save(update_fields=["resends", "code_sent_at"])
    from .tasks import resend_consent

    transaction.on_commit(lambda: resend_consent.delay(str(application.pk)))


def send_new_consent_code(*, application_id) -> str:
    """Task side of a resend: the consent service sends a new code and the old one dies."""
    consent = Consent.objects.select_related("application").get(application_id=application_id)
    answer = consent_client.resend(request_id=consent.request_id)
    registry_access(consent.application, Registry.CONSENT, PersonalDataAccess.Purpose.CONSENT).save()
    return answer.status if not answer.unavailable else "unavailable"


@transaction.atomic
def withdraw_consent(*, application: Application, actor) -> Application:
    """The citizen takes consent back: no registry is asked anything more; an application still open is cancelled."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    consent = Consent.objects.select_for_update().get(application=application)
    if consent.withdrawn_at is not None:
        return application
    was_granted = consent.state == Consent.State.GRANTED
    consent.state, consent.withdrawn_at = Consent.State.WITHDRAWN, timezone.now()
    consent.save(update_fields=["state", "withdrawn_at"])
    if can_proceed(application.cancel):
        application = move_application(application_id=application.pk, transition="cancel", actor=actor)
    if consent.request_id and was_granted:
        from .tasks import tell_consent_service_of_withdrawal

        transaction.on_commit(lambda: tell_consent_service_of_withdrawal.delay(str(application.pk)))
    return application


def notify_consent_service_of_withdrawal(*, application_id) -> str:
    consent = Consent.objects.get(application_id=application_id)
    answer = consent_client.withdraw(request_id=consent.request_id)
    return "unavailable" if answer.unavailable else answer.status


# --- Notices --------------------------------------------------------------------------------------------------


def notify_on_commit(application_id, event: str) -> None:
    from .tasks import notify_citizen

    transaction.on_commit(lambda: notify_citizen.delay(str(application_id), event))


def notice_text(application: Application, event: str) -> str:
    with translation.override(application.notify_language):
        if event == "refused":
            return _("Kuälik: your application is refused. %(message)s") % {
                "message": refusal_message(application.refusal_code)}
        if event == "eligible":
            return _("Kuälik: every check passed. Fill in the application form to get your application number.")
        raise ValueError(f"no notice for {event!r}")


def notify_citizen(*, application_id, event: str) -> str:
    """Tell the citizen by SMS; the gateway finds the phone from the IIN, so we need not keep it."""
    application = Application.objects.get(pk=application_id)
    answer = sms_client.send(iin=application.iin, text=notice_text(application, event))
    registry_access(application, "sms", PersonalDataAccess.Purpose.NOTIFICATION).save()
    return answer.outcome if answer.outcome != Outcome.UNAVAILABLE else "unavailable"


# --- Keeping applications moving ------------------------------------------------------------------------------


def stalled_applications(*, older_than: datetime.timedelta):
    """Applications the sweep should push again: checks left pending or in error, or consent never requested."""
    cutoff = timezone.now() - older_than
    running = Application.objects.filter(status=Status.CHECKS_RUNNING, updated_at__lt=cutoff).values_list(
        "pk", flat=True)
    unrequested = Application.objects.filter(
        status=Status.CONSENT_PENDING, consent__request_id="", updated_at__lt=cutoff).values_list("pk", flat=True)
    return list(running), list(unrequested)


def expire_unconfirmed_consents(*, older_than: datetime.timedelta) -> int:
    """An application whose consent was never given within the window is refused (consent_failed)."""
    cutoff = timezone.now() - older_than
    stale = Application.objects.filter(status=Status.CONSENT_PENDING, created_at__lt=cutoff).values_list(
        "pk", flat=True)
    count = 0
    for application_id in stale:
        fail_consent(application_id=application_id, state=Consent.State.FAILED)
        count += 1
    return count


# --- The form and the number (steps 11 and 12) ---------------------------------------------------------------


@transaction.atomic
def submit_application(*, application: Application, phone: str, language: str, pickup_tson: str,
                       email: str = "", actor) -> Application:
    """The citizen's form: contact, exam language and the TSON to collect the card. Assigns the number."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.status != Status.ELIGIBLE:
        raise WrongStatus(application, "submit")
    centre = Centre.objects.filter(code=pickup_tson, is_active=True, offers_tson=True).first()
    if centre is None:
        raise ApplicationError("validation_error", _("Choose a TSON that hands out licences."), field="pickup_tson")
    country = (application.foreign_licence or {}).get("country", "")
    theory_required = (application.service == Service.FOREIGN_EXCHANGE
                       and ForeignLicenceCountry.theory_exam_required_for(country))
    Application.objects.filter(pk=application.pk).update(
        number=next_application_number(), phone=phone, email=email, language=language, pickup_tson=centre)
    representation_cache.forget(application.pk)
    return move_application(application_id=application.pk, transition="submit", actor=actor,
                            theory_exam_required=theory_required)


def cancel_application(*, application: Application, actor) -> Application:
    """Withdrawn by the citizen or the channel before the police review."""
    return move_application(application_id=application.pk, transition="cancel", actor=actor)
