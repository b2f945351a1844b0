import pytest
from django.db import transaction
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from accounts.models import Role
from applications.errors import NotPermitted, WrongStatus
from applications.models import Application, PhotoSource, Service, Status, StatusChange
from applications.services import next_application_number
from applications.workflow import move_application
from tests.factories import ApplicationFactory, CentreFactory, StaffFactory

# The contract's status table (shared/api-v1.md, "Statuses"), transcribed: status -> the statuses it goes on to.
CONTRACT_GRAPH = {
    "consent_pending": {"checks_running", "refused", "cancelled"},
    "checks_running": {"eligible", "refused", "cancelled"},
    "eligible": {"theory_exam", "formalization", "cancelled"},
    "theory_exam": {"practical_exam", "cancelled"},
    "practical_exam": {"formalization", "cancelled"},
    "formalization": {"under_review", "cancelled"},
    "under_review": {"approved", "refused"},
    "approved": {"printed"},
    "printed": {"issued"},
    "issued": set(),
    "refused": set(),
    "cancelled": set(),
}


def code_graph() -> dict[str, set[str]]:
    graph = {status: set() for status in Status.values}
    for transition in Application._meta.get_field("status").get_all_transitions(Application):
        targets = getattr(transition.target, "allowed_states", None) or [transition.target]
        graph[transition.source].update(str(target) for target in targets)
    return graph


def test_the_transition_graph_in_code_is_the_contracts_table_edge_for_edge():
    assert set(Status.values) == set(CONTRACT_GRAPH)
    assert code_graph() == CONTRACT_GRAPH


def test_status_cannot_be_assigned_directly():
    application = Application(service=Service.FIRST_ISSUE, channel="bank", iin="871008401427")
    with pytest.raises(AttributeError):
        application.status = Status.ISSUED


def walk(application, *steps, actor=None):
    for step in steps:
        application = move_application(application_id=application.pk, transition=step, actor=actor)
    return application


def fill_form(application):
    Application.objects.filter(pk=application.pk).update(
        number=next_application_number(), phone="+77010000001", language="kk", pickup_tson=CentreFactory()
    )


def under_review():
    """A replacement taken to the police: consent, checks, form, fee and photo."""
    application = ApplicationFactory(service=Service.REPLACEMENT, replacement_reason="loss")
    application = walk(application, "record_consent", "mark_eligible")
    fill_form(application)
    application = walk(application, "submit")
    Application.objects.filter(pk=application.pk).update(fee_paid_at="2026-11-28T10:00:00+05:00",
                                                         photo_source=PhotoSource.TSON)
    return walk(application, "complete_formalization")


@pytest.mark.django_db
def test_every_move_is_recorded_in_the_history_with_who_and_when():
    officer = StaffFactory(role=Role.POLICE_OFFICER)
    application = ApplicationFactory(service=Service.REPLACEMENT, replacement_reason="loss")
    application = walk(application, "record_consent", "mark_eligible")
    fill_form(application)
    application = walk(application, "submit")
    assert application.status == Status.FORMALIZATION
    Application.objects.filter(pk=application.pk).update(fee_paid_at="2026-11-28T10:00:00+05:00",
                                                         photo_source=PhotoSource.REGISTRY)
    application = walk(application, "complete_formalization")
    application = move_application(application_id=application.pk, transition="approve", actor=officer)

    history = list(application.history.values_list("from_status", "to_status", "actor_kind"))
    assert history == [
        ("", "consent_pending", "system"),
        ("consent_pending", "checks_running", "system"),
        ("checks_running", "eligible", "system"),
        ("eligible", "formalization", "system"),
        ("formalization", "under_review", "system"),
        ("under_review", "approved", "staff"),
    ]
    last = application.history.last()
    assert last.actor_user == officer
    times = list(application.history.values_list("at", flat=True))
    assert times == sorted(times)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("service", "extra", "expected"),
    [
        (Service.FIRST_ISSUE, {}, Status.THEORY_EXAM),
        (Service.REPLACEMENT, {"replacement_reason": "damage"}, Status.FORMALIZATION),
        (Service.FOREIGN_EXCHANGE, {"channel": "tson_branch", "organisation": None}, Status.FORMALIZATION),
    ],
)
def test_submit_goes_to_the_exams_or_to_formalization_by_service(service, extra, expected):
    application = walk(ApplicationFactory(service=service, **extra), "record_consent", "mark_eligible")
    fill_form(application)
    assert walk(application, "submit").status == expected


@pytest.mark.django_db
def test_a_foreign_exchange_goes_to_the_theory_exam_when_its_country_requires_it():
    application = ApplicationFactory(service=Service.FOREIGN_EXCHANGE, channel="tson_branch", organisation=None)
    application = walk(application, "record_consent", "mark_eligible")
    fill_form(application)
    application = move_application(application_id=application.pk, transition="submit", theory_exam_required=True)
    assert application.status == Status.THEORY_EXAM


@pytest.mark.django_db
def test_submit_without_a_number_and_form_is_not_allowed():
    application = walk(ApplicationFactory(), "record_consent", "mark_eligible")
    with pytest.raises(WrongStatus):
        walk(application, "submit")
    application.refresh_from_db()
    assert application.status == Status.ELIGIBLE
    assert application.history.count() == 3


@pytest.mark.django_db
def test_formalization_needs_both_fee_and_photo():
    application = ApplicationFactory(service=Service.REPLACEMENT, replacement_reason="loss")
    application = walk(application, "record_consent", "mark_eligible")
    fill_form(application)
    application = walk(application, "submit")
    Application.objects.filter(pk=application.pk).update(fee_paid_at="2026-11-28T10:00:00+05:00")
    with pytest.raises(WrongStatus):
        walk(application, "complete_formalization")
    Application.objects.filter(pk=application.pk).update(photo_source=PhotoSource.TSON)
    assert walk(application, "complete_formalization").status == Status.UNDER_REVIEW


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.EXAMINER, Role.CITIZEN])
def test_only_a_police_officer_may_decide(role):
    application = under_review()
    with pytest.raises(NotPermitted):
        move_application(application_id=application.pk, transition="approve", actor=StaffFactory(role=role))
    application.refresh_from_db()
    assert application.status == Status.UNDER_REVIEW


@pytest.mark.django_db
def test_a_refusal_keeps_its_code_and_is_final():
    application = walk(ApplicationFactory(), "record_consent")
    application = move_application(application_id=application.pk, transition="refuse_on_checks", code="exam_ban")
    assert (application.status, application.refusal_code) == (Status.REFUSED, "exam_ban")
    assert application.decided_at is not None
    for step in ("cancel", "mark_eligible", "record_consent"):
        with pytest.raises(WrongStatus):
            walk(application, step)


@pytest.mark.django_db
def test_cancel_is_not_allowed_once_the_police_has_the_application():
    application = under_review()
    with pytest.raises(WrongStatus):
        walk(application, "cancel")


@pytest.mark.django_db
def test_a_stale_copy_cannot_overwrite_a_newer_status():
    application = ApplicationFactory()
    stale = Application.objects.get(pk=application.pk)
    walk(application, "cancel")
    stale.record_consent()
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    assert Application.objects.get(pk=application.pk).status == Status.CANCELLED


def test_a_transition_from_the_wrong_status_raises_on_the_model_too():
    application = Application(service=Service.FIRST_ISSUE, channel="bank", iin="871008401427")
    with pytest.raises(TransitionNotAllowed):
        application.approve()


@pytest.mark.django_db
def test_history_rows_are_ordered_oldest_first():
    application = walk(ApplicationFactory(), "record_consent", "cancel")
    statuses = [change.to_status for change in StatusChange.objects.filter(application=application)]
    assert statuses == ["consent_pending", "checks_running", "cancelled"]
