import pytest
from django.db import IntegrityError, transaction

from applications.models import Application, Status
from applications.workflow import move_application
from tests.factories import ApplicationFactory, make_iin

pytestmark = pytest.mark.django_db


def test_one_active_application_per_iin():
    iin = make_iin()
    ApplicationFactory(iin=iin)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApplicationFactory(iin=iin)
    assert Application.objects.filter(iin=iin).count() == 1


def test_a_new_application_is_allowed_once_the_last_one_is_final():
    first = ApplicationFactory()
    move_application(application_id=first.pk, transition="cancel")
    second = ApplicationFactory(iin=first.iin)
    assert second.status == Status.CONSENT_PENDING


def test_a_replacement_needs_a_reason_and_nothing_else_has_one():
    with pytest.raises(IntegrityError), transaction.atomic():
        ApplicationFactory(service="replacement", replacement_reason=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApplicationFactory(service="first_issue", replacement_reason="loss")


def test_foreign_exchange_only_at_a_tson_branch_and_only_it_there():
    with pytest.raises(IntegrityError), transaction.atomic():
        ApplicationFactory(service="foreign_exchange", channel="bank")
    with pytest.raises(IntegrityError), transaction.atomic():
        ApplicationFactory(service="first_issue", channel="tson_branch")


def test_application_numbers_are_unique():
    ApplicationFactory(number="DL-2026-000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        ApplicationFactory(number="DL-2026-000001")


def test_the_history_and_the_access_log_are_append_only():
    from applications.models import PersonalDataAccess, StatusChange

    application = ApplicationFactory()
    change = StatusChange.objects.get(application=application)
    entry = PersonalDataAccess.objects.create(application=application, actor_kind="system", purpose="support",
                                              what="application")
    for row in (change, entry):
        with pytest.raises(PermissionError):
            row.save()
        with pytest.raises(PermissionError):
            row.delete()
    assert StatusChange.objects.filter(pk=change.pk).exists()
    assert PersonalDataAccess.objects.filter(pk=entry.pk).exists()
