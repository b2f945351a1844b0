"""The dashboard's rollup (performance/rollup.py): the facts follow the history and the checks incrementally, a run
repeated changes nothing, the incremental facts equal a full rebuild, and the beat task is scheduled."""

import datetime
from io import StringIO

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from applications.models import Check, StatusChange
from performance import rollup, selectors, tasks
from performance.models import CheckFact, RollupRun, StepFact
from tests.performance.data import WEEK, local, make_dataset

pytestmark = pytest.mark.django_db


def step_facts() -> list[tuple]:
    return sorted((str(f.application_id), f.created_at, f.service, f.channel, f.centre_id, f.step, f.entered_at,
                   None if f.seconds is None else round(f.seconds, 3), f.held_by_outage)
                  for f in StepFact.objects.all())


def check_facts() -> list[tuple]:
    return sorted((str(f.application_id), f.created_at, f.service, f.channel, f.centre_id, f.registry, f.outcome,
                   f.error_reason, f.latency_ms, f.attempts, f.checked_at) for f in CheckFact.objects.all())


def reached(step: str) -> int:
    return {row["status"]: row["reached"] for row in selectors.funnel(WEEK)}[step]


def move(application, from_status: str, to_status: str, at: datetime.datetime) -> None:
    StatusChange.objects.create(application=application, from_status=from_status, to_status=to_status, at=at,
                                actor_kind=StatusChange.ActorKind.SYSTEM)


def test_the_first_run_rebuilds_everything_from_the_history_and_the_checks():
    make_dataset(roll_up=False)
    assert StepFact.objects.count() == 0
    assert rollup.roll_up() == 11  # no run before it: every application
    assert StepFact.objects.count() == StatusChange.objects.count()
    assert CheckFact.objects.count() == Check.objects.count()
    assert RollupRun.objects.get().full


def test_a_status_change_after_a_run_is_picked_up_by_the_next(settings):
    dataset = make_dataset()
    assert reached("checks_running") == 8
    e1 = dataset.applications["E1"]
    move(e1, "consent_pending", "checks_running", local(7, 23, 40))
    assert reached("checks_running") == 8  # not yet rolled up
    assert rollup.roll_up() == 1  # E1 alone
    assert reached("checks_running") == 9
    stay = StepFact.objects.get(application_id=e1.pk, step="consent_pending")
    assert round(stay.seconds, 3) == 600.0 and stay.service == "first_issue" and stay.channel == "bank"


def test_a_check_answered_in_place_after_a_run_is_picked_up_by_the_next():
    dataset = make_dataset()
    assert selectors.replacement_target(WEEK).counted == 2
    a1 = dataset.applications["A1"]
    # A1's person check was asked again: the row is updated, its id stays below the run's.
    Check.objects.filter(application=a1, registry="person").update(attempts=2, checked_at=timezone.now())
    rollup.roll_up()
    target = selectors.replacement_target(WEEK)
    assert (target.counted, target.held_by_outage) == (1, 2)
    assert CheckFact.objects.get(application_id=a1.pk, registry="person").attempts == 2


def test_a_change_that_commits_after_a_run_counted_past_its_id_is_still_picked_up(settings):
    dataset = make_dataset(roll_up=False)
    rollup.roll_up(full=True)
    first = RollupRun.objects.get()
    e1 = dataset.applications["E1"]
    move(e1, "consent_pending", "checks_running", local(7, 23, 40))
    # A run that began while that change was still committing: it had seen the id, not the row.
    RollupRun.objects.create(started_at=first.started_at + datetime.timedelta(seconds=1),
                             history_id=StatusChange.objects.latest("pk").pk, check_id=first.check_id)
    rollup.roll_up(now=first.started_at + datetime.timedelta(seconds=60))  # starts from the run of the margin
    assert reached("checks_running") == 9


def test_running_it_twice_changes_nothing():
    make_dataset()
    steps, checks = step_facts(), check_facts()
    rollup.roll_up()
    rollup.roll_up()
    assert (step_facts(), check_facts()) == (steps, checks)


def test_the_incremental_facts_equal_a_full_rebuild():
    dataset = make_dataset()
    apps = dataset.applications
    move(apps["E1"], "consent_pending", "checks_running", local(7, 23, 40))
    move(apps["F2"], "theory_exam", "practical_exam", local(6, 10))
    move(apps["A4"], "approved", "printed", local(3, 16))
    Check.objects.filter(application=apps["A2"], registry="erap").update(outcome="passed", attempts=2,
                                                                          checked_at=timezone.now())
    Check.objects.create(application=apps["E1"], registry="person", position=0, outcome="pending")
    rollup.roll_up()
    incremental = step_facts(), check_facts()
    rollup.roll_up(full=True)
    assert (step_facts(), check_facts()) == incremental
    assert selectors.replacement_target(WEEK).counted == 2  # A4 printed in 60 min counted; A2 now held


def test_old_runs_are_pruned_and_the_runs_keep_what_they_saw():
    make_dataset()
    start = RollupRun.objects.get().started_at
    for minutes in range(1, 12):
        rollup.roll_up(now=start + datetime.timedelta(minutes=minutes))
    margin = datetime.timedelta(seconds=settings.PERFORMANCE_ROLLUP_MARGIN_SECONDS)
    oldest = RollupRun.objects.order_by("started_at").first().started_at
    assert oldest >= start + datetime.timedelta(minutes=11) - margin - datetime.timedelta(minutes=1)
    assert RollupRun.objects.latest("started_at").history_id == StatusChange.objects.latest("pk").pk


def test_a_second_run_while_one_holds_the_lock_does_nothing():
    make_dataset(roll_up=False)
    cache.add(rollup.LOCK_KEY, "1", timeout=60)
    try:
        assert rollup.roll_up() == 0
        assert StepFact.objects.count() == 0
    finally:
        cache.delete(rollup.LOCK_KEY)


def test_the_beat_schedule_runs_the_task_every_minute_or_so():
    entry = settings.CELERY_BEAT_SCHEDULE["performance-rollup"]
    assert entry["task"] == tasks.roll_up.name == "performance.tasks.roll_up"
    assert 0 < entry["schedule"] <= 300


def test_the_task_and_the_command_roll_up():
    make_dataset(roll_up=False)
    assert tasks.roll_up() == 11
    out = StringIO()
    call_command("rollup_performance", "--full", stdout=out)
    assert "11 applications rolled up" in out.getvalue() and "full rebuild" in out.getvalue()
    assert RollupRun.objects.filter(full=True).count() == 2
