"""Celery entry points: thin, idempotent (safe to run twice), acknowledged only when done.

A task whose registry has not answered raises `RegistryWaiting`; Celery retries it with exponential backoff and
full jitter (`autoretry_for`), and after CHECKS_MAX_RETRIES leaves it to the periodic sweep.
"""

from datetime import timedelta

from celery import Task, shared_task
from celery.exceptions import Ignore
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from accounts import idempotency

from . import services
from .services import access_chain, checks, consent


class RegistryWaiting(Exception):
    """A registry has not answered yet: the task is retried later."""


class RegistryTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True
    # The database going away (a restart, a failover) is waited out like a registry: a task that failed on it
    # would be dropped, and only a move's notice has a sweep to come back for it (and that only 15 minutes later).
    autoretry_for = (RegistryWaiting, OperationalError, InterfaceError)
    retry_backoff = 2
    retry_backoff_max = int(settings.CHECKS_RETRY_MAX_SECONDS)
    retry_jitter = True
    throws = (RegistryWaiting,)  # an expected outcome: logged without a traceback

    def retry(self, *args, **kwargs):
        if self.request.is_eager:
            # In-process runs have no delay to wait with; the periodic sweep comes back for it.
            raise Ignore()
        kwargs["max_retries"] = settings.CHECKS_MAX_RETRIES  # read per call: operators and tests may change it
        return super().retry(*args, **kwargs)


def _until_answered(result: str, *, waiting: str = consent.UNAVAILABLE) -> str:
    if result == waiting:
        raise RegistryWaiting(result)
    return result


@shared_task(base=RegistryTask)
def request_consent(application_id: str) -> str:
    return _until_answered(services.request_consent(application_id=application_id))


@shared_task(base=RegistryTask)
def run_checks(application_id: str) -> str:
    return _until_answered(services.run_checks(application_id), waiting=checks.WAITING)


# Not on a database error: the consent service has sent the new code by then, and a retry would send another.
@shared_task(base=RegistryTask, autoretry_for=(RegistryWaiting,))
def resend_consent(application_id: str) -> str:
    return _until_answered(services.send_new_consent_code(application_id=application_id))


@shared_task(base=RegistryTask)
def tell_consent_service_of_withdrawal(application_id: str) -> str:
    return _until_answered(services.notify_consent_service_of_withdrawal(application_id=application_id))


class NoticeTask(RegistryTask):
    """A notice waits out an SMS gateway or a mail server that is down for longer than a registry's blip."""

    retry_backoff_max = 900

    def retry(self, *args, **kwargs):
        if self.request.is_eager:
            raise Ignore()  # in-process runs have no delay to wait with
        kwargs["max_retries"] = self.max_tries()
        return Task.retry(self, *args, **kwargs)

    @staticmethod
    def max_tries() -> int:
        return int(getattr(settings, "NOTICE_MAX_RETRIES", 10))


@shared_task(base=NoticeTask, bind=True)
def notify_citizen(self, application_id: str, event: str, details: dict | None = None) -> str:
    # On the last try a channel that still fails is recorded as not delivered, so the citizen's timeline says so.
    last_try = self.request.retries >= self.max_tries()
    return _until_answered(services.notify_citizen(application_id=application_id, event=event, details=details,
                                                   last_try=last_try))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep() -> dict:
    """Periodic (beat): push every application that waits on a registry, so none sticks for good."""
    older_than = timedelta(seconds=settings.CHECKS_SWEEP_AFTER_SECONDS)
    running = services.stalled_checks(older_than=older_than)
    unrequested = services.unrequested_consents(older_than=older_than)
    for application_id in running:
        run_checks.delay(str(application_id))
    for application_id in unrequested:
        request_consent.delay(str(application_id))
    expired = services.expire_unconfirmed_consents(
        older_than=timedelta(hours=settings.CONSENT_PENDING_TTL_HOURS))
    notices = _requeue_lost_notices()
    return {"checks": len(running), "consent_requests": len(unrequested), "consents_expired": expired,
            "notices": notices, "idempotency_keys_purged": idempotency.purge_expired()}


def _requeue_lost_notices() -> int:
    """Queue again a move's notice that has no SMS record long after the move (its task was lost with the broker's
    data); each at most once per NOTICE_SWEEP_AFTER_SECONDS, so a notice that waits out a gateway is not piled up."""
    after = settings.NOTICE_SWEEP_AFTER_SECONDS
    queued = 0
    for application_id, event, to_status in services.unsent_move_notices(
            older_than=timedelta(seconds=after), within=timedelta(hours=settings.NOTICE_SWEEP_WITHIN_HOURS)):
        if cache.add(f"notice-requeued:{application_id}:{event}", 1, timeout=after):
            notify_citizen.delay(str(application_id), event, {"status": to_status})
            queued += 1
    return queued


@shared_task(base=RegistryTask)
def record_licence_in_registry(licence_id: int) -> str:
    return _until_answered(services.record_licence_in_registry(licence_id=licence_id), waiting="unavailable")


@shared_task(acks_late=True, ignore_result=True)
def seal_access_log() -> int:
    """Periodic (beat): append the access log's new rows to its hash chain; a round that finds another sealer at work
    leaves the rows to it."""
    return access_chain.seal_access_log(wait=False)
