"""Notices: the citizen hears of each step that concerns them by SMS, and by email when they gave an address, in
the language they applied in.

- Each notice is written once per language as two templates: templates/notices/<lang>/<event>.sms.txt and
  <event>.email.txt (its first line the subject, then a blank line, then the body). A new event is those files;
  `register_notice` adds what its texts need beyond the application (the exams: the centre, the date, the score).
- Moves of the workflow (`application_moved`) give the events of `event_for_move`; services queue the others with
  `workflow.notify_on_commit`. The task `applications.tasks.notify_citizen` sends them after commit, so a
  transition never waits for a gateway, and it is retried while a channel fails.
- Each channel's notice is recorded once (application, channel, key) after it went out, and looked for before
  sending: a retried task sends only what is still missing. The records are the citizen's timeline.
- A move's notice lives in the broker until it is sent; should the broker lose it (a Redis emptied by a failure),
  the periodic sweep finds the move with no SMS record (`unsent_move_notices`) and queues it again.
"""

import datetime
import logging
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.mail import EmailMessage
from django.db.models import Case, CharField, Exists, OuterRef, Q, Value, When
from django.dispatch import receiver
from django.template import Context, Engine, Template, TemplateDoesNotExist
from django.urls import reverse
from django.utils import timezone, translation

from registries.clients import sms_client
from registries.results import Outcome

from ..access_log import registry_access
from ..models import Application, Notice, PersonalDataAccess, Status, StatusChange
from ..refusals import application_refusal_message
from ..workflow import application_moved, notify_on_commit

logger = logging.getLogger(__name__)

LANGUAGES = ("kk", "ru", "en")
CHANNELS = ("sms", "email")
SENT, SKIPPED, UNAVAILABLE = "sent", "skipped", "unavailable"  # UNAVAILABLE: the task tries again later

# Refusals with nobody to tell: the registries do not know the person, so no phone is known either.
NOBODY_TO_TELL = {"person_not_found"}

# The moves a citizen hears of (besides submit). An event here without templates yet is not sent: writing its
# templates is all it takes to start telling it.
MOVE_EVENTS = {
    Status.ELIGIBLE: "eligible",
    Status.REFUSED: "refused",
    Status.APPROVED: "approved",
    Status.PRINTED: "printed",
    Status.ISSUED: "issued",
}

# The details that tell one occurrence of an event from another (a second booking, a second payment try).
STABLE_IDS = ("booking_id", "payment_id", "photo_id", "licence_id")

# How long one worker may hold a notice it is sending before another may try it.
SENDING_LOCK_SECONDS = 120

NoticeContext = Callable[[Application, dict], dict]

# event -> what its templates need beyond the application, in the active language (None: nothing more).
NOTICE_CONTEXTS: dict[str, NoticeContext | None] = {}


def register_notice(event: str, context: NoticeContext | None = None) -> None:
    """Declare an event; `context(application, details)` gives its templates' own values, in the active language."""
    NOTICE_CONTEXTS[event] = context


def event_for_move(*, from_status: str, to_status: str) -> str | None:
    """Which notice a move gives, if any."""
    if from_status == Status.ELIGIBLE and to_status in (Status.THEORY_EXAM, Status.FORMALIZATION):
        return "submitted"
    return MOVE_EVENTS.get(to_status)


@receiver(application_moved, dispatch_uid="notices-on-move")
def notify_on_move(sender, *, application_id, from_status, to_status, actor, **kwargs) -> None:
    event = event_for_move(from_status=from_status, to_status=to_status)
    if event and has_templates(event):
        notify_on_commit(application_id, event, {"status": str(to_status)})


def unsent_move_notices(*, older_than: datetime.timedelta, within: datetime.timedelta,
                        limit: int = 500) -> list[tuple]:
    """Moves made between `within` and `older_than` ago whose notice has no SMS record yet (every notice records its
    SMS, sent or failed): (application id, event, status moved to), oldest first, for the sweep to queue again.

    One query over the history's `at` index; a notice still being retried is found too, and queued again harmlessly
    (a channel already recorded is never sent twice)."""
    now = timezone.now()
    events = [event for event in {*MOVE_EVENTS.values(), "submitted"} if has_templates(event)]
    event = Case(
        When(from_status=Status.ELIGIBLE, to_status__in=[Status.THEORY_EXAM, Status.FORMALIZATION],
             then=Value("submitted")),
        *(When(to_status=status, then=Value(name)) for status, name in MOVE_EVENTS.items()),
        default=Value(""), output_field=CharField())
    recorded = Notice.objects.filter(application_id=OuterRef("application_id"), channel=Notice.Channel.SMS,
                                     key=OuterRef("event"))
    moves = (StatusChange.objects.filter(at__gte=now - within, at__lt=now - older_than,
                                         to_status__in=[*MOVE_EVENTS, Status.THEORY_EXAM, Status.FORMALIZATION])
             .annotate(event=event).filter(event__in=events)
             .exclude(Q(event="refused") & Q(application__refusal_code__in=NOBODY_TO_TELL))
             .filter(~Exists(recorded)).order_by("at"))
    return list(moves.values_list("application_id", "event", "to_status")[:limit])


# --- the texts -------------------------------------------------------------------------------------------------


@cache
def _engine() -> Engine:
    """The notices' own template engine: they are plain text, so nothing is HTML-escaped (an "&" stays one)."""
    directories = [directory for backend in settings.TEMPLATES for directory in backend.get("DIRS", [])]
    return Engine(dirs=directories, autoescape=False)


def _template(language: str, event: str, channel: str) -> Template:
    return _engine().get_template(f"notices/{language}/{event}.{channel}.txt")


def has_templates(event: str) -> bool:
    """Whether the event is written in every language, for both channels."""
    try:
        for language in LANGUAGES:
            for channel in CHANNELS:
                _template(language, event, channel)
    except TemplateDoesNotExist:
        return False
    return True


def notice_language(application: Application) -> str:
    return application.notify_language if application.notify_language in LANGUAGES else LANGUAGES[0]


def notice_key(event: str, details: dict | None) -> str:
    """The notice's identity: the event, and the occurrence's id where an event can happen more than once."""
    for name in STABLE_IDS:
        if (details or {}).get(name) not in (None, ""):
            return f"{event}:{details[name]}"
    return event


def tenge(amount: int, language: str) -> str:
    """Whole tenge grouped by thousands as the language writes them: 5 406 (kk, ru), 5,406 (en)."""
    grouped = f"{int(amount):,}"
    return grouped if language == "en" else grouped.replace(",", " ")


def _application_url(application: Application) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("portal:application", kwargs={"pk": application.pk})


def notice_context(application: Application, event: str, details: dict) -> dict:
    """What every notice's templates may use, then the event's own; called in the citizen's language."""
    language = notice_language(application)
    pickup = application.pickup_tson if application.pickup_tson_id else None
    status = details.get("status") or application.status
    context = {
        "application": application, "number": application.number or "", "details": details, "language": language,
        "service": application.get_service_display() if application.service else "",
        "application_url": _application_url(application),
        "pickup_tson": pickup.name_in(language) if pickup else "",
        "pickup_address": pickup.address_in(language) if pickup else "",
        "next_exam": status == Status.THEORY_EXAM,
        "fee_paid": application.fee_paid_at is not None,
        "photo_needed": application.photo_captured_at is None,
    }
    event_context = NOTICE_CONTEXTS.get(event)
    if event_context is not None:
        context.update(event_context(application, details))
    return context


@dataclass(frozen=True)
class RenderedNotice:
    language: str
    sms: str
    subject: str
    body: str

    @property
    def email_text(self) -> str:
        return f"{self.subject}\n\n{self.body}"


def _tidy_body(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def render_notice(application: Application, event: str, details: dict | None = None) -> RenderedNotice:
    """The SMS (one line) and the email (subject and body) of the event, in the application's language."""
    details = details or {}
    language = notice_language(application)
    with translation.override(language):
        context = Context(notice_context(application, event, details), autoescape=False)  # plain text
        sms = " ".join(_template(language, event, "sms").render(context).split())
        email = _template(language, event, "email").render(context).strip()
    subject, _newline, body = email.partition("\n")
    return RenderedNotice(language, sms, " ".join(subject.split()), _tidy_body(body))


def notice_text(application: Application, event: str, details: dict | None = None) -> str:
    """The SMS text of the event, as the citizen receives it."""
    return render_notice(application, event, details).sms


# --- sending ---------------------------------------------------------------------------------------------------


def _send_sms(application: Application, notice: RenderedNotice) -> str | None:
    """Through the SMS gateway, which finds the phone from the IIN; None while the gateway is unavailable."""
    answer = sms_client.send(iin=application.iin, text=notice.sms)
    registry_access(application, "sms", PersonalDataAccess.Purpose.NOTIFICATION).save()
    if answer.outcome == Outcome.PASSED:
        return Notice.State.SENT
    if answer.outcome == Outcome.FAILED:
        return Notice.State.FAILED  # the gateway knows no phone for the person: trying again changes nothing
    return None


def _send_email(application: Application, notice: RenderedNotice) -> str | None:
    """Through Django's email backend; None while the mail server fails (the task tries again later)."""
    message = EmailMessage(subject=notice.subject, body=notice.body, from_email=settings.DEFAULT_FROM_EMAIL,
                           to=[application.email])
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as refused:
        if all(code >= 500 for code, _message in refused.recipients.values()):
            logger.warning("email notice for application %s: the address is refused", application.pk)
            return Notice.State.FAILED
        logger.warning("email notice for application %s: refused for now, tried again later", application.pk)
        return None
    except (smtplib.SMTPException, OSError):
        logger.warning("email notice for application %s not sent, tried again later", application.pk, exc_info=True)
        return None
    return Notice.State.SENT


SENDERS: dict[str, Callable[[Application, RenderedNotice], str | None]] = {
    Notice.Channel.SMS: _send_sms, Notice.Channel.EMAIL: _send_email,
}


def _deliver(application: Application, event: str, key: str, channel: str, notice: RenderedNotice, *,
             last_try: bool) -> bool:
    """Send one channel's notice unless it went out already; False while it is to be tried again later."""
    sending = f"notice-sending:{application.pk}:{channel}:{key}"
    if not shared_cache.add(sending, 1, timeout=SENDING_LOCK_SECONDS):
        return False  # another worker is sending this very notice: the retry will find it recorded
    try:
        if Notice.objects.filter(application=application, channel=channel, key=key).exists():
            return True
        status = SENDERS[channel](application, notice)
        if status is None:
            if not last_try:
                return False
            status = Notice.State.FAILED  # retries are spent: the timeline says it did not arrive
        # One INSERT ... ON CONFLICT DO NOTHING (the notice_once constraint): a row already there stands.
        Notice.objects.bulk_create([Notice(
            application=application, channel=channel, key=key, event=event, language=notice.language, status=status,
            text=notice.sms if channel == Notice.Channel.SMS else notice.email_text)], ignore_conflicts=True)
        return True
    finally:
        shared_cache.delete(sending)


def notify_citizen(*, application_id, event: str, details: dict | None = None, last_try: bool = False) -> str:
    """Tell the citizen of `event` by SMS and, when they gave an address, by email. One channel failing does not
    stop the other; "unavailable" while a channel is to be tried again."""
    application = Application.objects.select_related("pickup_tson").get(pk=application_id)
    if event == "refused" and application.refusal_code in NOBODY_TO_TELL:
        return SKIPPED
    notice = render_notice(application, event, details)
    key = notice_key(event, details)
    channels = [Notice.Channel.SMS, *([Notice.Channel.EMAIL] if application.email else [])]
    delivered = [_deliver(application, event, key, channel, notice, last_try=last_try) for channel in channels]
    return SENT if all(delivered) else UNAVAILABLE


# --- the applications' own events ------------------------------------------------------------------------------


def _refused(application: Application, details: dict) -> dict:
    return {"refusal": application_refusal_message(application)}


def _fee_paid(application: Application, details: dict) -> dict:
    return {"amount": tenge(details.get("amount_kzt") or 0, notice_language(application))}


for _event, _context in (("submitted", None), ("eligible", None), ("refused", _refused), ("approved", None),
                         ("fee_paid", _fee_paid), ("fee_declined", None), ("photo_taken", None)):
    register_notice(_event, _context)
