"""Celery entry points: thin. The rollup is idempotent, so a run repeated or overlapping (it takes a lock) is
harmless."""

from celery import shared_task

from . import rollup


@shared_task(ignore_result=True)
def roll_up() -> int:
    """Bring the dashboard's facts up to date (CELERY_BEAT_SCHEDULE: every PERFORMANCE_ROLLUP_EVERY_SECONDS)."""
    return rollup.roll_up()
