"""Celery entry points of the exams: thin, idempotent, acknowledged only when done."""

from datetime import timedelta

from celery import shared_task

from applications.tasks import RegistryTask, RegistryWaiting

from . import services


@shared_task(base=RegistryTask)
def report_exam_result(booking_id: int) -> str:
    result = services.report_exam_result(booking_id=booking_id)
    if result == "unavailable":
        raise RegistryWaiting(result)
    return result


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def exam_chores() -> dict:
    """Periodic (beat): each chore claims its rows with a conditional update, so two runs do nothing twice."""
    unreported = services.unreported_results(older_than=timedelta(minutes=10))
    for booking_id in unreported:
        report_exam_result.delay(booking_id)
    return {"reminders": services.send_exam_reminders(), "no_shows": services.mark_no_shows(),
            "theory_sessions_ended": services.finish_expired_sessions(), "results_reported_again": len(unreported)}
