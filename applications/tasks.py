"""Celery entry points: thin, idempotent (safe to run twice), acknowledged only when done."""

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from . import checks, services

logger = logging.getLogger(__name__)

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


def _backoff(retries: int) -> float:
    """Exponential backoff with full jitter, capped: 2, 4, 8 ... up to CHECKS_RETRY_MAX_SECONDS."""
    return random.uniform(1, min(settings.CHECKS_RETRY_MAX_SECONDS, 2 ** (retries + 1)))


def _retry_or_leave_to_sweep(task, reason: str):
    if task.request.retries >= settings.CHECKS_MAX_RETRIES or task.app.conf.task_always_eager:
        # In-process runs have no delay to wait with; the periodic sweep comes back for it.
        logger.info("%s: %s; left to the sweep", task.name, reason)
        return reason
    raise task.retry(countdown=_backoff(task.request.retries), max_retries=settings.CHECKS_MAX_RETRIES)


def _finish(task, result: str, *, waiting: str = "unavailable") -> str:
    """A task's result, or a retry while a registry has not answered."""
    return _retry_or_leave_to_sweep(task, result) if result == waiting else result


@shared_task(bind=True, **TASK_OPTIONS)
def request_consent(self, application_id: str) -> str:
    return _finish(self, services.request_consent(application_id=application_id))


@shared_task(bind=True, **TASK_OPTIONS)
def run_checks(self, application_id: str) -> str:
    return _finish(self, checks.run_checks(application_id), waiting=checks.WAITING)


@shared_task(bind=True, **TASK_OPTIONS)
def resend_consent(self, application_id: str) -> str:
    return _finish(self, services.send_new_consent_code(application_id=application_id))


@shared_task(bind=True, **TASK_OPTIONS)
def tell_consent_service_of_withdrawal(self, application_id: str) -> str:
    return _finish(self, services.notify_consent_service_of_withdrawal(application_id=application_id))


@shared_task(bind=True, **TASK_OPTIONS)
def notify_citizen(self, application_id: str, event: str) -> str:
    return _finish(self, services.notify_citizen(application_id=application_id, event=event))


@shared_task(**TASK_OPTIONS)
def sweep() -> dict:
    """Periodic (beat): push every application that waits on a registry, so none sticks for good."""
    from config import idempotency  # imported here: at module load it would close an import cycle via DRF settings
    running, unrequested = services.stalled_applications(
        older_than=timedelta(seconds=settings.CHECKS_SWEEP_AFTER_SECONDS))
    for application_id in running:
        run_checks.delay(str(application_id))
    for application_id in unrequested:
        request_consent.delay(str(application_id))
    expired = services.expire_unconfirmed_consents(
        older_than=timedelta(hours=settings.CONSENT_PENDING_TTL_HOURS))
    return {"checks": len(running), "consent_requests": len(unrequested), "consents_expired": expired,
            "idempotency_keys_purged": idempotency.purge_expired()}
