"""The check pipeline (steps 5 to 10): ask the registries in two phases and let the first failed step refuse.

Phase 1 (person, licence registry, ERAP) is asked concurrently; phase 2 (medical, ERDB, driving school, exam
attempts) only when phase 1 passed, so health registries are never asked about someone already refused. A registry
that does not answer leaves its check `error` and the application in `checks_running`; the run is repeated until
every check has an answer. Running twice is harmless: decided checks are never asked again.

How a worker holds many applications while they wait (measured with bench/checks.py, 2 cores, 200 ms a registry):
a run spends about 0.4 s waiting on the two phases and some 15 ms of CPU, so the worker runs tasks in threads
(the Procfile: `--pool threads`, 64 at once, a psycopg pool of 16 connections that a run gives back while it
waits) rather than 4 prefork processes that each sit through every wait. Within a run, a phase's registries are
asked from threads (the calling thread asks the first): httpx's AsyncClient on an asyncio loop cost 1.2 ms of CPU
a call against 0.6 ms for the threaded client with its breaker, bulkhead and retries, so asyncio would save no
threads worth having and spend more CPU; gevent would need monkey-patching of psycopg and Redis and a new
package. Statements per application: 28 before, 16 now, a phase's check updates counted once as they go as one
batch (one read of the application, consent and checks; no separate save of the application before it moves; the
move joins the decision's transaction without a savepoint)."""

import contextvars
import datetime
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registries.clients import PersonQuery, person_client
from registries.results import Outcome, RegistryAnswer

from .. import representation_cache
from ..access_log import registry_access
from ..models import (
    ALGORITHM_ORDER,
    PHASE_1,
    PHASE_2,
    Application,
    Category,
    Check,
    PersonalDataAccess,
    Registry,
    ReplacementReason,
    Service,
    Status,
)
from ..workflow import lock, move_application

logger = logging.getLogger(__name__)

SKIPPED, WAITING, REFUSED, ELIGIBLE = "skipped", "waiting", "refused", "eligible"
NEXT_PHASE = "next_phase"


def applicable_registries(*, service: str, replacement_reason: str | None) -> list[str]:
    """The contract's check table: which registries a service asks, in the order of the algorithm."""
    common = [Registry.CONSENT, Registry.PERSON, Registry.LICENCE_REGISTRY, Registry.ERAP]
    if service == Service.FIRST_ISSUE:
        extra = [Registry.MEDICAL, Registry.ERDB, Registry.DRIVING_SCHOOL, Registry.EXAM_ATTEMPTS]
    elif service == Service.FOREIGN_EXCHANGE:
        extra = [Registry.MEDICAL, Registry.ERDB, Registry.EXAM_ATTEMPTS]
    elif replacement_reason == ReplacementReason.EXPIRY:
        extra = [Registry.MEDICAL, Registry.ERDB]
    else:
        extra = []
    return [str(registry) for registry in common + extra]


def create_checks(application: Application) -> list[Check]:
    registries = applicable_registries(service=application.service,
                                       replacement_reason=application.replacement_reason)
    return Check.objects.bulk_create(
        Check(application=application, registry=registry, position=ALGORITHM_ORDER.index(registry))
        for registry in registries
    )


@dataclass(frozen=True)
class Verdict:
    outcome: str  # WAITING, REFUSED, or "passed"
    code: str | None = None


def verdict(checks: list[Check]) -> Verdict:
    """The first check, in the algorithm's order, that has not passed decides: failed refuses, unanswered waits."""
    for check in sorted(checks, key=lambda c: c.position):
        if check.outcome == Check.Outcome.FAILED:
            return Verdict(REFUSED, check.code)
        if check.outcome != Check.Outcome.PASSED:
            return Verdict(WAITING)
    return Verdict("passed")


_executor_lock = threading.Lock()
_executors: list[ThreadPoolExecutor] = []


def _executor() -> ThreadPoolExecutor:
    # Shared by every task in the process; the threads only do HTTP, never touch the database.
    if not _executors:
        with _executor_lock:
            if not _executors:
                _executors.append(ThreadPoolExecutor(max_workers=settings.CHECKS_PARALLELISM,
                                                     thread_name_prefix="registry"))
    return _executors[0]


def ask(registries: list[str], query: PersonQuery) -> list[RegistryAnswer]:
    """Ask the registries at once; the phase takes as long as its slowest registry, not their sum.

    The calling thread asks the first registry itself: it would only wait otherwise, and each call handed to the
    pool costs a thread switch and a pool thread."""
    if not registries:
        return []
    # Each call runs in a copy of this thread's context, so the request id reaches the registries from the pool too.
    futures = [_executor().submit(contextvars.copy_context().run, person_client(registry).check, query)
               for registry in registries[1:]]
    return [person_client(registries[0]).check(query), *(future.result() for future in futures)]


def run_checks(application_id) -> str:
    """Take the application as far as the registries allow now. Returns SKIPPED, WAITING, REFUSED or ELIGIBLE."""
    application, checks = _read(application_id)
    if application.status != Status.CHECKS_RUNNING or not application.consent.in_force:
        return SKIPPED  # decided already, or consent withdrawn: ask nothing more
    phase = PHASE_1
    while True:
        to_ask = [check.registry for check in checks if check.registry in phase and not check.decided]
        if to_ask:
            _release_connection()
        answers = ask(to_ask, _query(application)) if to_ask else []
        result, application, checks = _record(application_id, answers, phase=phase)
        if result != NEXT_PHASE:
            return result
        phase = PHASE_2  # _record saw, under the row lock, that phase 1 passed and consent is still in force


# What run_checks reads before the lock (the decision re-reads under it): only these columns, which costs a third
# less CPU than compiling and loading the three whole rows. A field used here and not listed costs a statement.
READ_FIELDS = ("registry", "outcome", "position", "application__status", "application__iin",
               "application__categories", "application__service", "application__replacement_reason",
               "application__consent__application_id", "application__consent__state",
               "application__consent__withdrawn_at", "application__consent__request_id")


def _read(application_id) -> tuple[Application, list[Check]]:
    """The application, its consent and its checks in one statement."""
    checks = list(Check.objects.select_related("application__consent").filter(application_id=application_id)
                  .only(*READ_FIELDS).order_by("position"))
    if not checks:
        return Application.objects.select_related("consent").get(pk=application_id), []
    return checks[0].application, checks


def _release_connection() -> None:
    """Give the database connection back while the registries answer (to the pool, where there is one)."""
    if not connection.in_atomic_block:
        connection.close()


def _query(application: Application) -> PersonQuery:
    return PersonQuery(
        iin=application.iin,
        consent_request=application.consent.request_id,
        categories=tuple(application.categories),
        on=timezone.localdate(),
        must_hold_licence=application.service == Service.REPLACEMENT,
        expired_licence_counts=application.replacement_reason == ReplacementReason.EXPIRY,
    )


@transaction.atomic
def _record(application_id, answers: list[RegistryAnswer], *, phase=PHASE_2) -> tuple[str, Application, list[Check]]:
    """Store the answers and decide, under the application's row lock (two runs may race).

    Returns the result, and the application and checks as they stand under the lock, for the next phase."""
    application = lock(application_id).application
    if application.status != Status.CHECKS_RUNNING:
        return SKIPPED, application, []
    checks = list(application.checks.order_by("position"))  # not Check's default order, which joins the application
    by_registry = {check.registry: check for check in checks}
    categories_before = list(application.categories)
    now = timezone.now()
    for answer in answers:
        check = by_registry[answer.registry]
        if not check.decided:  # else another run got there first: its answer stands
            _apply(application, check, answer, now)
    if answers:
        PersonalDataAccess.objects.bulk_create(
            registry_access(application, answer.registry, PersonalDataAccess.Purpose.ELIGIBILITY_CHECK)
            for answer in answers
        )
        _save_answers([by_registry[answer.registry] for answer in answers])
    decision = _decide(checks, phase)
    if decision.outcome == REFUSED:
        # The move saves the whole row (categories and updated_at included) and retires cached copies.
        move_application(application=application, transition="refuse_on_checks", code=decision.code)
        return REFUSED, application, checks
    if decision.outcome == ELIGIBLE:
        move_application(application=application, transition="mark_eligible")
        return ELIGIBLE, application, checks
    if decision.outcome == NEXT_PHASE:
        if application.categories != categories_before:
            application.save(update_fields=["categories", "updated_at"])
        else:
            representation_cache.forget(application.pk)  # phase 2 saves the row within a moment
        if not application.consent.in_force:
            return SKIPPED, application, checks  # withdrawn while phase 1 was asked (withdrawal takes this lock too)
    elif answers:
        application.save(update_fields=["categories", "updated_at"])  # the save also retires cached copies
    return decision.outcome, application, checks


# What an answer changes on its check: written for all of a phase's checks in one executemany.
ANSWER_FIELDS = ("outcome", "code", "error_reason", "facts", "latency_ms", "attempts", "checked_at")


def _save_answers(checks: list[Check]) -> None:
    """One UPDATE per check, sent as one batch (a pipeline on PostgreSQL): an ORM update per check costs about
    0.4 ms of CPU to compile, and bulk_update's CASE expressions cost more than that."""
    fields = [Check._meta.get_field(name) for name in ANSWER_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    statement = f"UPDATE {quote(Check._meta.db_table)} SET {assignments} WHERE {quote(Check._meta.pk.column)} = %s"
    rows = [[field.get_db_prep_save(getattr(check, field.attname), connection) for field in fields] + [check.pk]
            for check in checks]
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)


def _decide(checks: list[Check], phase) -> Verdict:
    """REFUSED (with the code), ELIGIBLE, WAITING, or NEXT_PHASE when phase 1 passed and phase 2 has questions."""
    first = [check for check in checks if check.registry not in PHASE_2]
    second = [check for check in checks if check.registry in PHASE_2]
    decision = verdict(first)
    if decision.outcome == "passed" and second:
        if phase == PHASE_1 and not all(check.decided for check in second):
            return Verdict(NEXT_PHASE)  # phase 2 still has questions to ask (or to ask again)
        decision = verdict(first + second)
    if decision.outcome == "passed":
        return Verdict(ELIGIBLE)
    return decision


def _apply(application: Application, check: Check, answer: RegistryAnswer, now: datetime.datetime) -> None:
    check.attempts += 1
    check.latency_ms = answer.latency_ms
    check.checked_at = now
    if answer.outcome == Outcome.UNAVAILABLE:
        check.outcome, check.code, check.error_reason = Check.Outcome.ERROR, "", answer.reason or ""
        # Since when the registry has not answered: the citizen is told so while they wait.
        check.facts = {"unavailable_since": (check.facts or {}).get("unavailable_since") or now.isoformat()}
        logger.warning("check %s for %s unavailable: %s", check.registry, application.pk, answer.reason)
        return
    check.error_reason = ""
    facts = dict(answer.facts)
    if answer.outcome == Outcome.FAILED:
        check.outcome, check.code = Check.Outcome.FAILED, answer.code or ""
    else:
        check.outcome, check.code = Check.Outcome.PASSED, ""
    if check.registry == Registry.PERSON and answer.outcome == Outcome.PASSED:
        birth_date = datetime.date.fromisoformat(facts.pop("birth_date"))
        if too_young := _underage(birth_date, application.categories, timezone.localdate()):
            check.outcome, check.code = Check.Outcome.FAILED, "underage"
            facts["underage"] = too_young  # the categories and their minimum ages, not the birth date
    if check.registry == Registry.LICENCE_REGISTRY and not application.categories and facts.get("categories"):
        # A replacement that named no categories replaces those of the licence held.
        application.categories = list(facts["categories"])
    check.facts = facts


def _underage(birth_date: datetime.date, categories: list[str], on: datetime.date) -> list[dict]:
    """The categories asked for whose minimum age the person has not reached, each with that age."""
    if not categories:
        return []
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    issued = Category.issued_by_code()  # remembered per process (reference data)
    if not all(code in issued for code in categories):
        issued = {category.code: category for category in Category.objects.filter(code__in=categories)}
    rules = sorted((issued[code] for code in categories if code in issued), key=lambda c: (c.position, c.code))
    return [{"category": rule.code, "minimum_age": rule.minimum_age} for rule in rules if rule.minimum_age > age]


def stalled_checks(*, older_than: datetime.timedelta) -> list:
    """Applications whose checks have waited too long on a registry (the sweep runs them again)."""
    cutoff = timezone.now() - older_than
    return list(Application.objects.filter(status=Status.CHECKS_RUNNING, updated_at__lt=cutoff).values_list(
        "pk", flat=True))
