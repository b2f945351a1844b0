"""Queue a Celery task by its registered name once the change is committed, so that services never import tasks."""

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, *args) -> None:
    """Queue the task once the transaction commits; at once outside one."""
    transaction.on_commit(lambda: enqueue(task_name, *args))


def enqueue(task_name: str, *args) -> None:
    try:
        current_app.tasks[task_name].delay(*args)  # a KeyError, never a silent send, if the task is unknown
    except BrokerUnavailable:
        # The change is committed: the periodic sweep finds what waits on a registry and queues it again.
        logger.exception("could not queue %s%r", task_name, args)
