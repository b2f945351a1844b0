"""Celery entry points of accounts: thin, and safe to run twice."""

from celery import shared_task

from . import portal


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_sign_in_code(code_id: int, language: str) -> str:
    # No retry: a code is valid for minutes, and the citizen may ask for a new one after a minute.
    return portal.deliver_sign_in_code(code_id=code_id, language=language)
