"""The rollup that the dashboard reads: StepFact and CheckFact (performance/models.py), rewritten per application from
the status history and the checks by set-based SQL (INSERT ... SELECT, the durations from LEAD() over the history),
never a query per row and never rows carried into Python beyond a batch of application ids.

`roll_up()` runs every PERFORMANCE_ROLLUP_EVERY_SECONDS (Celery beat, performance.tasks). It finds the applications
that changed since an earlier run: a status change or a check with a higher id than that run had seen, or a check
answered since it began. It starts from the latest run at least PERFORMANCE_ROLLUP_MARGIN_SECONDS old, not the last
one, so that a transaction still committing when a run looked is seen by a later one: the applications of those
minutes are rewritten again, which is harmless, because an application's facts are deleted and written whole. With
no run before it (a new deployment), or asked with `full=True` (`manage.py rollup_performance --full`), it rebuilds
every fact from scratch.

What it does not notice: a change to an application's pickup TSON with no status change or check after it (the
TSON filter's facts follow at the application's next move, or at the next full rebuild).
"""

import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from applications.models import Application, Check, StatusChange

from .models import CheckFact, RollupRun, StepFact
from .sql import compiled, seconds_between

# A check, consent aside, that needed more than one request: its application was held by a registry outage.
OUTAGE_REGISTRIES = ("person", "licence_registry", "erap", "medical", "erdb", "driving_school", "exam_attempts")
ANSWERED = (Check.Outcome.PASSED, Check.Outcome.FAILED, Check.Outcome.ERROR)
BATCH = 500
LOCK_KEY = "performance-rollup"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _step_facts_sql(ids_sql: str | None) -> str:
    """INSERT ... SELECT of the step facts of the applications `ids_sql` selects (every application if None)."""
    history, checks, applications = _table(StatusChange), _table(Check), _table(Application)
    only = f"WHERE s.application_id IN ({ids_sql})" if ids_sql else ""
    only_checks = f"AND c.application_id IN ({ids_sql})" if ids_sql else ""
    registries = ", ".join(f"'{name}'" for name in OUTAGE_REGISTRIES)
    return (
        f"INSERT INTO {_table(StepFact)} (application_id, created_at, service, channel, centre_id, step, entered_at, "
        f"seconds, held_by_outage) "
        f"SELECT h.application_id, a.created_at, a.service, a.channel, a.pickup_tson_id, h.to_status, h.at, "
        f"{seconds_between(connection, 'h.next_at', 'h.at')}, "
        f"CASE WHEN o.application_id IS NULL THEN {_false()} ELSE {_true()} END "
        f"FROM (SELECT s.application_id, s.to_status, s.at, "
        f"LEAD(s.at) OVER (PARTITION BY s.application_id ORDER BY s.at, s.id) AS next_at "
        f"FROM {history} s {only}) h "
        f"JOIN {applications} a ON a.id = h.application_id "
        f"LEFT JOIN (SELECT c.application_id FROM {checks} c WHERE c.registry IN ({registries}) "
        f"AND c.attempts > 1 {only_checks} GROUP BY c.application_id) o ON o.application_id = h.application_id "
        f"ORDER BY a.created_at, h.application_id, h.at"
    )


def _check_facts_sql(ids_sql: str | None) -> str:
    checks, applications = _table(Check), _table(Application)
    only = f"WHERE c.application_id IN ({ids_sql})" if ids_sql else ""
    return (
        f"INSERT INTO {_table(CheckFact)} (application_id, created_at, service, channel, centre_id, registry, outcome, "
        f"error_reason, latency_ms, attempts, checked_at) "
        f"SELECT c.application_id, a.created_at, a.service, a.channel, a.pickup_tson_id, c.registry, c.outcome, "
        f"c.error_reason, c.latency_ms, c.attempts, c.checked_at "
        f"FROM {checks} c JOIN {applications} a ON a.id = c.application_id {only} "
        f"ORDER BY a.created_at, c.application_id, c.registry"
    )


def _true() -> str:
    return "TRUE" if connection.vendor == "postgresql" else "1"


def _false() -> str:
    return "FALSE" if connection.vendor == "postgresql" else "0"


def _seen() -> tuple[int, int]:
    """The highest status change and check ids committed now."""
    history = StatusChange.objects.aggregate(top=Max("pk"))["top"] or 0
    checks = Check.objects.aggregate(top=Max("pk"))["top"] or 0
    return history, checks


@transaction.atomic
def rebuild() -> int:
    """Every fact from scratch, in one transaction (the page reads the old facts until it commits)."""
    started_at = timezone.now()
    history_id, check_id = _seen()
    with connection.cursor() as cursor:
        for model, insert in ((StepFact, _step_facts_sql(None)), (CheckFact, _check_facts_sql(None))):
            cursor.execute(f"DELETE FROM {_table(model)}")
            cursor.execute(insert)
    applications = Application.objects.count()
    RollupRun.objects.create(started_at=started_at, history_id=history_id, check_id=check_id, full=True,
                             applications=applications)
    return applications


@transaction.atomic
def rewrite(application_ids: list) -> None:
    """The facts of these applications (a batch), deleted and written again from the history and the checks."""
    ids_sql, params = compiled(Application.objects.filter(pk__in=application_ids).values("pk").order_by())
    StepFact.objects.filter(application_id__in=application_ids).delete()
    CheckFact.objects.filter(application_id__in=application_ids).delete()
    with connection.cursor() as cursor:
        # The ids appear twice in the step facts' statement: in the history and in the outage checks.
        cursor.execute(_step_facts_sql(ids_sql), params + params)
        cursor.execute(_check_facts_sql(ids_sql), params)


def changed_since(run: RollupRun) -> set:
    """Ids of the applications with a status change or a check the run had not seen, or a check answered since."""
    changed = set(StatusChange.objects.filter(pk__gt=run.history_id).values_list("application_id", flat=True)
                  .distinct().order_by())
    changed |= set(Check.objects.filter(pk__gt=run.check_id).values_list("application_id", flat=True)
                   .distinct().order_by())
    # Served by the index (outcome, checked_at): an answer updates its check in place.
    changed |= set(Check.objects.filter(outcome__in=ANSWERED, checked_at__gte=run.started_at)
                   .values_list("application_id", flat=True).distinct().order_by())
    return changed


def roll_up(*, full: bool = False, now: datetime.datetime | None = None) -> int:
    """Bring the facts up to date; returns how many applications were rewritten (every one on a full rebuild).
    One at a time (a cache lock): a second call while one runs does nothing and returns 0."""
    if not cache.add(LOCK_KEY, "1", timeout=settings.PERFORMANCE_ROLLUP_LOCK_SECONDS):
        return 0
    try:
        now = now or timezone.now()
        margin = datetime.timedelta(seconds=settings.PERFORMANCE_ROLLUP_MARGIN_SECONDS)
        base = (RollupRun.objects.filter(started_at__lte=now - margin).order_by("-started_at").first()
                or RollupRun.objects.order_by("started_at").first())
        if full or base is None:
            return rebuild()
        history_id, check_id = _seen()
        changed = sorted(changed_since(base))
        for start in range(0, len(changed), BATCH):
            rewrite(changed[start:start + BATCH])
        RollupRun.objects.create(started_at=now, history_id=history_id, check_id=check_id,
                                 applications=len(changed))
        RollupRun.objects.filter(started_at__lt=base.started_at).delete()  # no later run starts before its base
        return len(changed)
    finally:
        cache.delete(LOCK_KEY)
