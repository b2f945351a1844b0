"""What bench/faults.py found when PostgreSQL, Redis and the workers failed under load, each fixed and held here."""

import pytest
import redis
from celery.exceptions import Retry
from django.db import OperationalError, connection

from applications import representation_cache, tasks, workflow
from applications.models import Status
from config.settings import base
from tests.factories import ApplicationFactory


@pytest.fixture
def moves():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs["to_status"])

    workflow.application_moved.connect(receiver, dispatch_uid="test-fault-moves")
    yield received
    workflow.application_moved.disconnect(dispatch_uid="test-fault-moves")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_cache_gone_after_the_commit_neither_fails_the_move_nor_silences_it(moves, monkeypatch):
    application = ApplicationFactory(status=Status.CONSENT_PENDING)

    def bump(application_id):
        if not connection.in_atomic_block:  # Redis went away between the change and its commit
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(representation_cache, "_bump", bump)
    workflow.move_application(application_id=application.pk, transition="cancel")
    # The signal after it (notices, exams) still goes out; before, the failed hook skipped it and the committed
    # change answered 500.
    assert moves == [Status.CANCELLED]


@pytest.mark.parametrize(("task", "service", "args"), [
    (tasks.run_checks, "run_checks", ["00000000-0000-0000-0000-000000000001"]),
    (tasks.request_consent, "request_consent", ["00000000-0000-0000-0000-000000000001"]),
    (tasks.notify_citizen, "notify_citizen", ["00000000-0000-0000-0000-000000000001", "refused"]),
])
def test_a_task_that_loses_the_database_is_retried_not_dropped(task, service, args, monkeypatch):
    def database_restarting(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    retried = []

    def retry(*args, **kwargs):
        retried.append(kwargs.get("exc"))
        raise Retry()

    monkeypatch.setattr(tasks.services, service, database_restarting)
    monkeypatch.setattr(task, "retry", retry)
    with pytest.raises(Retry):
        task.run(*args)
    assert [type(error) for error in retried] == [OperationalError]


def test_a_resend_is_not_retried_on_a_database_error_as_its_new_code_is_already_out(monkeypatch):
    def database_restarting(*args, **kwargs):
        raise OperationalError("the connection is lost")

    monkeypatch.setattr(tasks.services, "send_new_consent_code", database_restarting)
    with pytest.raises(OperationalError):
        tasks.resend_consent.run("00000000-0000-0000-0000-000000000001")


def test_a_task_lost_with_its_worker_comes_back_within_the_hour_but_never_while_its_retry_waits():
    visibility_timeout = base.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    longest_countdown = max(tasks.NoticeTask.retry_backoff_max, tasks.RegistryTask.retry_backoff_max)
    assert longest_countdown < visibility_timeout < 3600
