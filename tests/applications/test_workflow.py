"""The workflow kernel: moves, history, locks, the after-commit signal, the consent state machine, errors per domain."""

import pytest
from django.db import transaction
from django_fsm import TransitionNotAllowed

from applications import workflow
from applications.errors import ApplicationError, ApplicationErrorCode, NotPermitted, WrongStatus
from applications.models import Consent, Status
from applications.services.notices import event_for_move
from config.errors import DomainError
from tests.factories import ApplicationFactory, OrganisationFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def moves():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    workflow.application_moved.connect(receiver, dispatch_uid="test-moves")
    yield received
    workflow.application_moved.disconnect(dispatch_uid="test-moves")


def test_a_move_is_announced_after_commit_with_from_to_and_actor(moves):
    application = ApplicationFactory(status=Status.CONSENT_PENDING)
    staff = StaffFactory(role="tson_operator")
    with transaction.atomic():
        workflow.move_application(application_id=application.pk, transition="cancel", actor=staff)
        assert moves == []  # not before the commit
    assert moves == [{"application_id": application.pk, "from_status": Status.CONSENT_PENDING,
                      "to_status": Status.CANCELLED, "actor": staff, "signal": workflow.application_moved}]


def test_a_move_rolled_back_is_never_announced_and_leaves_no_history(moves):
    application = ApplicationFactory(status=Status.CONSENT_PENDING)
    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.move_application(application_id=application.pk, transition="cancel")
        raise RuntimeError("the use case failed after the move")
    assert moves == []
    application.refresh_from_db()
    assert application.status == Status.CONSENT_PENDING
    assert not application.history.filter(to_status=Status.CANCELLED).exists()


def test_a_move_writes_one_history_row_with_the_actor():
    application = ApplicationFactory(status=Status.CONSENT_PENDING)
    client_organisation = OrganisationFactory()
    from types import SimpleNamespace

    from accounts.models import ChannelClient

    actor = ChannelClient(SimpleNamespace(organisation=client_organisation))
    workflow.move_application(application_id=application.pk, transition="cancel", actor=actor)
    change = application.history.get(to_status=Status.CANCELLED)
    assert (change.from_status, change.actor_kind, change.actor_organisation) == (
        Status.CONSENT_PENDING, "channel", client_organisation)


def test_a_move_from_the_wrong_status_is_wrong_status_with_the_current_status():
    application = ApplicationFactory(status=Status.CONSENT_PENDING)
    with pytest.raises(WrongStatus) as raised:
        workflow.move_application(application_id=application.pk, transition="approve")
    assert (raised.value.code, raised.value.http_status) == ("wrong_status", 409)
    assert raised.value.extra == {"current_status": Status.CONSENT_PENDING}


def test_a_step_outside_the_role_is_not_permitted_and_answers_as_not_found():
    application = ApplicationFactory(status=Status.UNDER_REVIEW, number="DL-2026-900001")
    with pytest.raises(NotPermitted) as raised:
        workflow.move_application(application_id=application.pk, transition="approve",
                                  actor=StaffFactory(role="tson_operator"))
    assert (raised.value.code, raised.value.http_status) == ("not_found", 404)


def test_locks_are_taken_only_inside_a_transaction():
    application = ApplicationFactory()
    Consent.objects.create(application=application, channel=application.channel)
    with pytest.raises(RuntimeError, match="needs a transaction"):
        workflow.lock(application.pk)
    with transaction.atomic():
        locked = workflow.lock(application.pk, consent=True)
        assert locked.application.pk == application.pk
        assert locked.consent.application_id == application.pk
        assert locked.application.consent is locked.consent


def test_consent_moves_only_along_its_state_machine():
    application = ApplicationFactory()
    consent = Consent.objects.create(application=application, channel=application.channel)
    with pytest.raises(TransitionNotAllowed):
        consent.grant()  # nothing to grant before a code was sent
    consent.mark_asked(request_id="req-1", code_sent=True)
    assert (consent.state, consent.request_id) == (Consent.State.CODE_SENT, "req-1")
    assert consent.code_sent_at is not None
    consent.grant()
    assert consent.state == Consent.State.GRANTED and consent.in_force
    with pytest.raises(TransitionNotAllowed):
        consent.decline()  # a decline after the grant is a withdrawal
    consent.withdraw()
    assert consent.state == Consent.State.WITHDRAWN and not consent.in_force
    with pytest.raises(TransitionNotAllowed):
        consent.withdraw()


def test_nothing_assigns_the_consent_state_directly():
    consent = Consent(state=Consent.State.REQUESTED)
    with pytest.raises(AttributeError):
        consent.state = Consent.State.GRANTED


def test_application_errors_are_domain_errors_with_the_contract_status():
    error = ApplicationError(ApplicationErrorCode.ACTIVE_APPLICATION_EXISTS, "busy")
    assert isinstance(error, DomainError)
    assert (error.code, error.http_status) == ("active_application_exists", 409)
    with pytest.raises(ValueError):
        ApplicationError("no_such_code", "a code the app never declared")


@pytest.mark.parametrize(("from_status", "to_status", "event"), [
    (Status.CHECKS_RUNNING, Status.REFUSED, "refused"),
    (Status.CONSENT_PENDING, Status.REFUSED, "refused"),
    (Status.CHECKS_RUNNING, Status.ELIGIBLE, "eligible"),
    (Status.ELIGIBLE, Status.THEORY_EXAM, "submitted"),
    (Status.ELIGIBLE, Status.FORMALIZATION, "submitted"),
    (Status.CONSENT_PENDING, Status.CHECKS_RUNNING, None),
    (Status.ELIGIBLE, Status.CANCELLED, None),
])
def test_each_move_that_concerns_the_citizen_gives_one_notice(from_status, to_status, event):
    assert event_for_move(from_status=from_status, to_status=to_status) == event
