"""The dashboard's figures, each computed by the database: counts and percentiles over the applications created in
the chosen days (the cohort), never rows carried into Python. Only codes and numbers leave here, nothing personal.

The figures over the status history and the checks (the funnel's "reached", the step times, the replacement
target, the registries) read the rollup (performance/models.py: StepFact, CheckFact), whose rows carry their
application's creation time, service, channel and pickup TSON: each is one grouped query over the facts of the
applications created in the chosen days, found by an index that leads with that creation time, so its cost follows
the days chosen, not the size of the history. The rollup is kept by a beat task (performance/rollup.py) and is up
to a minute or so behind. The figures about now (who waits in each status, cards waiting for pickup, the circuits,
exam seats) and the counts of the cohort itself stay live queries on indexed columns. A step's duration is the gap
to the application's next status change (LEAD ... OVER (PARTITION BY application ORDER BY at)), worked out by the
rollup. Percentiles are PostgreSQL's `percentile_cont`; on SQLite (`make run` on a bare machine) the same
interpolated percentile is taken from ROW_NUMBER() and COUNT() windows.
Reads go to `settings.REPORTING_DATABASE` (a read replica where there is one).

The replacement target (`replacement_target`): the order aims at 60 minutes from application to printed licence for
a replacement that needs no human decision. The time counted is the time *the system itself adds*: the time spent in
`checks_running` (the pipeline asking the registries) and in `approved` (the card in the print queue). The time the
citizen takes (consent, the form, the fee and photo: `consent_pending`, `eligible`, `formalization`) and the
officer's review (`under_review`) are not counted. A replacement whose checks were held up by a registry outage (a
check, consent aside, that needed more than one request) is left out of the share and counted apart.
"""

import datetime
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from applications.models import Application, Centre, Check, Service, Status
from exams.models import ExamSlot
from registries import gateway

from .models import CheckFact, StepFact
from .sql import compiled, seconds_between

# The workflow's steps in the order an application meets them; the two ends where it stops come last.
FUNNEL_STEPS = (
    Status.CONSENT_PENDING, Status.CHECKS_RUNNING, Status.ELIGIBLE, Status.THEORY_EXAM, Status.PRACTICAL_EXAM,
    Status.FORMALIZATION, Status.UNDER_REVIEW, Status.APPROVED, Status.PRINTED, Status.ISSUED,
    Status.REFUSED, Status.CANCELLED,
)
# Steps that end (the final statuses have no duration).
TIMED_STEPS = FUNNEL_STEPS[:9]
TO_PRINTED = "to_printed"  # the whole way: from the application to its printed licence
# Where the system itself acts (see the module's docstring).
SYSTEM_STEPS = (Status.CHECKS_RUNNING, Status.APPROVED)
CHECK_REGISTRIES = ("person", "licence_registry", "erap", "medical", "erdb", "driving_school", "exam_attempts")


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters: local dates (both included), and optionally a service, a channel and a TSON."""

    date_from: datetime.date
    date_to: datetime.date
    service: str = ""
    channel: str = ""
    tson_id: int | None = None

    @property
    def starts(self) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(self.date_from, datetime.time.min))

    @property
    def ends(self) -> datetime.datetime:
        """Midnight after the last day (excluded)."""
        return timezone.make_aware(datetime.datetime.combine(self.date_to + datetime.timedelta(days=1),
                                                             datetime.time.min))


def _alias() -> str:
    return settings.REPORTING_DATABASE


def _kinds(filters: Filters) -> Q:
    """Service, channel and TSON: what narrows the applications besides the dates."""
    condition = Q()
    if filters.service:
        condition &= Q(service=filters.service)
    if filters.channel:
        condition &= Q(channel=filters.channel)
    if filters.tson_id is not None:
        condition &= Q(pickup_tson_id=filters.tson_id)
    return condition


def cohort(filters: Filters) -> QuerySet:
    """The applications created in the chosen days that match the filters."""
    return Application.objects.using(_alias()).filter(
        _kinds(filters), created_at__gte=filters.starts, created_at__lt=filters.ends)


def facts(model, filters: Filters, **more) -> QuerySet:
    """The rollup's facts (StepFact or CheckFact) of the cohort's applications."""
    condition = Q(created_at__gte=filters.starts, created_at__lt=filters.ends)
    if filters.service:
        condition &= Q(service=filters.service)
    if filters.channel:
        condition &= Q(channel=filters.channel)
    if filters.tson_id is not None:
        condition &= Q(centre_id=filters.tson_id)
    return model.objects.using(_alias()).filter(condition, **more)


def _seconds(later: str, earlier: str) -> str:
    return seconds_between(connections[_alias()], later, earlier)


# Percentiles -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    count: int
    median: float | None
    p90: float | None


def _percentiles(source_sql: str, params: tuple) -> dict[str, Spread]:
    """The median and 90th percentile (continuous, interpolated: PostgreSQL's percentile_cont) of `value` per `grp`
    of a source (grp, value), computed in the database."""
    connection = connections[_alias()]
    if connection.vendor == "postgresql":
        sql = (f"SELECT grp, COUNT(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY value), "
               f"percentile_cont(0.9) WITHIN GROUP (ORDER BY value) FROM ({source_sql}) src GROUP BY grp")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {grp: Spread(n, _float(p50), _float(p90)) for grp, n, p50, p90 in cursor.fetchall()}
    # SQLite: the rows at floor(q * (n - 1)) and the one after it, per group, interpolated below.
    picks = []
    for q in ("0.5", "0.9"):
        low = f"CAST({q} * (n - 1) AS INTEGER)"
        picks += [f"MAX(CASE WHEN i = {low} THEN value END)", f"MAX(CASE WHEN i = {low} + 1 THEN value END)"]
    sql = (f"SELECT grp, n, {', '.join(picks)} FROM ("
           f"SELECT grp, value, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY value) - 1 AS i, "
           f"COUNT(*) OVER (PARTITION BY grp) AS n FROM ({source_sql}) src) ranked GROUP BY grp, n")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {grp: Spread(n, _interpolate(0.5, n, low50, high50), _interpolate(0.9, n, low90, high90))
                for grp, n, low50, high50, low90, high90 in cursor.fetchall()}


def _float(value) -> float | None:
    return None if value is None else float(value)


def _interpolate(q: float, n: int, low, high) -> float | None:
    if low is None:
        return None
    position = q * (n - 1)
    fraction = position - int(position)
    return float(low) + fraction * (float(high if high is not None else low) - float(low))


# The figures -------------------------------------------------------------------------------------------------------


def applications_per_day(filters: Filters) -> list[dict]:
    """Applications created per local day, service and channel: [{day, service, channel, count}]."""
    rows = (cohort(filters)
            .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
            .values("day", "service", "channel").annotate(count=Count("pk"))
            .order_by("day", "service", "channel"))
    return list(rows)


def funnel(filters: Filters) -> list[dict]:
    """Per step: how many applications of the cohort reached it (entered it at least once), and how many are there
    now: [{status, reached, waiting}], in the workflow's order."""
    reached = dict(facts(StepFact, filters).values("step").annotate(n=Count("application_id", distinct=True))
                   .order_by().values_list("step", "n"))
    waiting = dict(cohort(filters).values("status").annotate(n=Count("pk")).order_by()
                   .values_list("status", "n"))
    return [{"status": step, "reached": reached.get(step, 0), "waiting": waiting.get(step, 0)}
            for step in FUNNEL_STEPS]


def refusals(filters: Filters) -> list[dict]:
    """Refused applications of the cohort by reason: [{refusal_code, officer_reason_code, count}], the largest
    first. `refusal_code` names the check that refused (or `officer_refused`, with the officer's reason)."""
    rows = (cohort(filters).filter(status=Status.REFUSED)
            .values("refusal_code", "officer_reason_code").annotate(count=Count("pk"))
            .order_by("-count", "refusal_code", "officer_reason_code"))
    return list(rows)


def step_times(filters: Filters) -> dict[str, Spread]:
    """Seconds spent in each step that the application has left, and from the application to its first printed
    licence (key TO_PRINTED): count, median and 90th percentile."""
    stays, stay_params = compiled(facts(StepFact, filters, seconds__isnull=False).values("step", "seconds")
                                  .order_by())
    firsts, first_params = compiled(facts(StepFact, filters, step=Status.PRINTED).values("application_id")
                                    .annotate(first=Min("entered_at"), since=Min("created_at")).order_by())
    source = (
        f"SELECT h.step AS grp, h.seconds AS value FROM ({stays}) h "
        f"UNION ALL "
        f"SELECT '{TO_PRINTED}' AS grp, {_seconds('p.first', 'p.since')} AS value FROM ({firsts}) p"
    )
    return _percentiles(source, stay_params + first_params)


@dataclass(frozen=True)
class Target:
    minutes: int
    counted: int  # replacements printed, none held by a registry outage
    within: int  # of those, printed within `minutes` of system time
    held_by_outage: int  # printed replacements left out: a registry was unavailable during their checks
    median_seconds: float | None

    @property
    def over(self) -> int:
        return self.counted - self.within

    @property
    def share(self) -> float | None:
        return self.within / self.counted if self.counted else None


def replacement_target(filters: Filters) -> Target:
    """The share of replacements printed within the target, counting only the time the system adds (see the
    module's docstring)."""
    minutes = settings.PERFORMANCE_REPLACEMENT_TARGET_MINUTES
    if filters.service and filters.service != Service.REPLACEMENT:
        return Target(minutes, 0, 0, 0, None)
    steps, params = compiled(facts(StepFact, filters, service=Service.REPLACEMENT)
                             .values("application_id", "step", "seconds", "held_by_outage").order_by())
    system = ", ".join(f"'{step}'" for step in SYSTEM_STEPS)
    printed = (
        f"SELECT h.application_id, "
        f"SUM(CASE WHEN h.step IN ({system}) AND h.seconds IS NOT NULL THEN h.seconds ELSE 0 END) AS system_seconds, "
        f"MAX(CASE WHEN h.held_by_outage THEN 1 ELSE 0 END) AS outage "
        f"FROM ({steps}) h GROUP BY h.application_id "
        f"HAVING MAX(CASE WHEN h.step = '{Status.PRINTED}' THEN 1 ELSE 0 END) = 1")
    sql = (f"SELECT COALESCE(SUM(1 - outage), 0), "
           f"COALESCE(SUM(CASE WHEN outage = 0 AND system_seconds <= %s THEN 1 ELSE 0 END), 0), "
           f"COALESCE(SUM(outage), 0) FROM ({printed}) t")
    with connections[_alias()].cursor() as cursor:
        cursor.execute(sql, (minutes * 60, *params))
        counted, within, held = cursor.fetchone()
    median = _percentiles(f"SELECT 'system' AS grp, system_seconds AS value FROM ({printed}) t WHERE outage = 0",
                          params).get("system")
    return Target(minutes, int(counted), int(within), int(held), median.median if median else None)


def tsons(filters: Filters) -> list[dict]:
    """Per centre: exam seats booked and free in the slots that start in the chosen days; photos taken at a TSON
    desk for the cohort; cards printed and waiting for pickup now (whenever applied for). [{centre_id, seats_booked,
    seats_free, photos, cards_waiting}], centres with nothing to show left out."""
    alias = _alias()
    slots = ExamSlot.objects.using(alias).filter(starts_at__gte=filters.starts, starts_at__lt=filters.ends)
    if filters.tson_id is not None:
        slots = slots.filter(centre_id=filters.tson_id)
    seats = {row["centre_id"]: row for row in slots.values("centre_id").annotate(
        booked=Sum("booked"), capacity=Sum("capacity")).order_by()}
    photos = dict(cohort(filters).filter(photo_source="tson", photo_captured_at__isnull=False)
                  .values("pickup_tson_id").annotate(n=Count("pk")).order_by().values_list("pickup_tson_id", "n"))
    waiting = dict(Application.objects.using(alias).filter(_kinds(filters), status=Status.PRINTED)
                   .values("pickup_tson_id").annotate(n=Count("pk")).order_by()
                   .values_list("pickup_tson_id", "n"))
    ids = {*seats, *photos, *waiting} - {None}
    rows = []
    for centre in Centre.objects.using(alias).filter(pk__in=ids).order_by("city", "name", "code"):
        seat = seats.get(centre.pk, {"booked": 0, "capacity": 0})
        rows.append({"centre": centre, "seats_booked": seat["booked"] or 0,
                     "seats_free": (seat["capacity"] or 0) - (seat["booked"] or 0),
                     "photos": photos.get(centre.pk, 0), "cards_waiting": waiting.get(centre.pk, 0)})
    return rows


def registries(filters: Filters) -> list[dict]:
    """Per registry (each of settings.REGISTRY_NAMES), over the cohort's checks: answers (passed or failed),
    errors (unavailable), still pending, and the median and 90th percentile latency of the requests; and the
    circuit breaker's state now. [{registry, answers, errors, pending, latency: Spread | None, circuit}]"""
    checks = facts(CheckFact, filters)
    counts = {row["registry"]: row for row in checks.values("registry").annotate(
        answers=Count("pk", filter=Q(outcome__in=[Check.Outcome.PASSED, Check.Outcome.FAILED])),
        errors=Count("pk", filter=Q(outcome=Check.Outcome.ERROR)),
        pending=Count("pk", filter=Q(outcome=Check.Outcome.PENDING))).order_by()}
    sql, params = compiled(checks.filter(latency_ms__isnull=False).values("registry", "latency_ms").order_by())
    latency = _percentiles(f"SELECT src0.registry AS grp, src0.latency_ms AS value FROM ({sql}) src0", params)
    rows = []
    for name in settings.REGISTRY_NAMES:
        row = counts.get(name, {"answers": 0, "errors": 0, "pending": 0})
        rows.append({"registry": name, "answers": row["answers"], "errors": row["errors"], "pending": row["pending"],
                     "latency": latency.get(name), "circuit": circuit_state(name)})
    return rows


def circuit_state(registry: str) -> str:
    """`closed`, `open`, `half_open` (its wait is over: one trial call may go through) or `unknown` (the shared
    state could not be read). Read only: the breaker is not touched."""
    if registry not in settings.REGISTRY_NAMES:
        return "unknown"
    breaker = gateway.breaker(registry)
    try:
        open_until, _failures = breaker.storage.snapshot(registry)
    except Exception:  # Redis down: the dashboard still shows what the database knows
        return "unknown"
    if not open_until:
        return "closed"
    return "open" if time.time() < open_until else "half_open"
