"""The check pipeline (steps 5 to 10): ask the registries in two phases and let the first failed step refuse.

Phase 1 (person, licence registry, ERAP) is asked concurrently; phase 2 (medical, ERDB, driving school, exam
attempts) only when phase 1 passed, so health registries are never asked about someone already refused. A registry
that does not answer leaves its check `error` and the application in `checks_running`; the run is repeated until
every check has an answer. Running twice is harmless: decided checks are never asked again.
"""

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
    """Ask the registries at once; the phase takes as long as its slowest registry, not their sum."""
    futures = [_executor().submit(person_client(registry).check, query) for registry in registries]
    return [future.result() for future in futures]


def run_checks(application_id) -> str:
    """Take the application as far as the registries allow now. Returns SKIPPED, WAITING, REFUSED or ELIGIBLE."""
    result = SKIPPED
    for phase in (PHASE_1, PHASE_2):
        application = Application.objects.select_related("consent").get(pk=application_id)
        if application.status != Status.CHECKS_RUNNING or not application.consent.in_force:
            return SKIPPED  # decided already, or consent withdrawn: ask nothing more
        to_ask = [check.registry for check in application.checks.all()
                  if check.registry in phase and not check.decided]
        if to_ask:
            _release_connection()
        result = _record(application_id, ask(to_ask, _query(application)) if to_ask else [], phase=phase)
        if result != NEXT_PHASE:
            return result
    return result


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
def _record(application_id, answers: list[RegistryAnswer], *, phase=PHASE_2) -> str:
    """Store the answers and decide, under the application's row lock (two runs may race)."""
    application = lock(application_id).application
    if application.status != Status.CHECKS_RUNNING:
        return SKIPPED
    checks = list(application.checks.all())
    by_registry = {check.registry: check for check in checks}
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
        for answer in answers:
            # One plain UPDATE per check: bulk_update's CASE expressions cost more CPU than the round trips.
            check = by_registry[answer.registry]
            Check.objects.filter(pk=check.pk).update(
                outcome=check.outcome, code=check.code, error_reason=check.error_reason, facts=check.facts,
                latency_ms=check.latency_ms, attempts=check.attempts, checked_at=check.checked_at)
        application.save(update_fields=["categories", "updated_at"])  # the save also retires cached copies
    return _decide(application, checks, phase)


def _decide(application: Application, checks: list[Check], phase) -> str:
    first = [check for check in checks if check.registry not in PHASE_2]
    second = [check for check in checks if check.registry in PHASE_2]
    decision = verdict(first)
    if decision.outcome == "passed" and second:
        if phase == PHASE_1 and not all(check.decided for check in second):
            return NEXT_PHASE  # phase 2 still has questions to ask (or to ask again)
        decision = verdict(first + second)
    if decision.outcome == REFUSED:
        move_application(application=application, transition="refuse_on_checks", code=decision.code)
        return REFUSED
    if decision.outcome == WAITING:
        return WAITING
    move_application(application=application, transition="mark_eligible")
    return ELIGIBLE


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
    rules = Category.objects.filter(code__in=categories, minimum_age__gt=age).order_by("position", "code")
    return [{"category": code, "minimum_age": minimum} for code, minimum in rules.values_list("code", "minimum_age")]


def stalled_checks(*, older_than: datetime.timedelta) -> list:
    """Applications whose checks have waited too long on a registry (the sweep runs them again)."""
    cutoff = timezone.now() - older_than
    return list(Application.objects.filter(status=Status.CHECKS_RUNNING, updated_at__lt=cutoff).values_list(
        "pk", flat=True))
