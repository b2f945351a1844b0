"""Generated applications with known answers for the performance dashboard: each application's history written
with chosen timestamps, its checks with chosen latencies and outcomes. The expected figures are worked out by hand
in the tests, never by the code under test.

The days: 2026-03-01 to 2026-03-07 (Asia/Almaty). Nine applications fall in them; two just outside (one minute
before, and at the midnight after) must never be counted, except the printed card that still waits for pickup.
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.utils import timezone

from applications.models import Application, Check, StatusChange
from exams.models import ExamSlot
from performance import rollup
from performance.selectors import Filters
from tests.factories import CentreFactory, make_iin

FIRST_DAY = datetime.date(2026, 3, 1)
LAST_DAY = datetime.date(2026, 3, 7)
WEEK = Filters(FIRST_DAY, LAST_DAY)


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, month, day, hour, minute))


@dataclass
class Spec:
    service: str
    channel: str
    created: datetime.datetime
    steps: list[tuple[str, int]]  # (status entered, minutes after `created`)
    tson: str = ""  # "t1" or "t2"
    refusal_code: str = ""
    officer_reason_code: str = ""
    photo: bool = False
    checks: list[tuple[str, str, int | None, int]] = field(default_factory=list)  # registry, outcome, ms, requests


CP, CR, EL, TE, PE, FO, UR, AP, PR = ("consent_pending", "checks_running", "eligible", "theory_exam",
                                      "practical_exam", "formalization", "under_review", "approved", "printed")

SPECS = {
    "A1": Spec("replacement", "egov_mobile", local(2, 10),
               [(CP, 0), (CR, 5), (EL, 7), (FO, 30), (UR, 60), (AP, 180), (PR, 200)], tson="t1", photo=True,
               checks=[("person", "passed", 120, 1)]),
    "A2": Spec("replacement", "bank", local(2, 12),
               [(CP, 0), (CR, 1), (EL, 41), (FO, 60), (UR, 70), (AP, 120), (PR, 150)], tson="t1", photo=True,
               checks=[("person", "passed", 1000, 1), ("erap", "error", 3000, 1)]),
    # Its person check needed a second request: held by a registry outage, left out of the 60-minute share.
    "A3": Spec("replacement", "bank", local(3, 9),
               [(CP, 0), (CR, 1), (EL, 11), (FO, 20), (UR, 30), (AP, 40), (PR, 50)], tson="t2", photo=True,
               checks=[("person", "passed", 500, 2)]),
    "A4": Spec("replacement", "portal", local(3, 15),
               [(CP, 0), (CR, 2), (EL, 5), (FO, 10), (UR, 20), (AP, 30)], tson="t1", photo=True),
    "F1": Spec("first_issue", "bank", local(1, 9), [(CP, 0), (CR, 10), ("refused", 12)],
               refusal_code="licence_exists",
               checks=[("person", "passed", 100, 1), ("licence_registry", "failed", 300, 1),
                       ("erap", "passed", 200, 1)]),
    "F2": Spec("first_issue", "portal", local(4, 10), [(CP, 0), (CR, 2), (EL, 6), (TE, 60)], tson="t1"),
    "F3": Spec("first_issue", "driving_school", local(5, 8),
               [(CP, 0), (CR, 3), (EL, 4), (TE, 10), (PE, 1450), (FO, 3000), (UR, 3010), ("refused", 3070)],
               tson="t2", photo=True, refusal_code="officer_refused", officer_reason_code="photo_unsuitable"),
    "F4": Spec("foreign_exchange", "tson_branch", local(6, 11), [(CP, 0), (CR, 1), (EL, 2), ("cancelled", 20)]),
    "E1": Spec("first_issue", "bank", local(7, 23, 30), [(CP, 0)]),
    # Outside the days.
    "O1": Spec("first_issue", "bank", local(28, 23, 59, month=2), [(CP, 0), (CR, 1), ("refused", 2)],
               refusal_code="exam_ban", checks=[("person", "passed", 9999, 1)]),
    "O2": Spec("replacement", "bank", local(8, 0), [(CP, 0), (CR, 1), (EL, 2), (FO, 3), (UR, 4), (AP, 5), (PR, 6)],
               tson="t2", photo=True),
}


@dataclass
class Dataset:
    applications: dict[str, Application]
    t1: object
    t2: object


def make_application(spec: Spec, centres: dict) -> Application:
    final = spec.steps[-1][0]
    application = Application.objects.create(
        service=spec.service, channel=spec.channel, iin=make_iin(), categories=["B"], created_at=spec.created,
        replacement_reason="loss" if spec.service == "replacement" else None)
    fields = {"status": final, "refusal_code": spec.refusal_code, "officer_reason_code": spec.officer_reason_code,
              "pickup_tson": centres.get(spec.tson)}
    if final not in (CP, CR, EL, "refused", "cancelled") or any(status == FO for status, _m in spec.steps):
        fields["number"] = f"T{uuid.uuid4().hex[:12]}"
    if spec.photo:
        fields.update(photo_source="tson", photo_captured_at=spec.created + datetime.timedelta(minutes=1))
    Application.objects.filter(pk=application.pk).update(**fields)
    previous = ""
    for status, minutes in spec.steps:
        StatusChange.objects.create(application=application, from_status=previous, to_status=status,
                                    at=spec.created + datetime.timedelta(minutes=minutes),
                                    actor_kind=StatusChange.ActorKind.SYSTEM)
        previous = status
    for position, (registry, outcome, latency, attempts) in enumerate(spec.checks):
        Check.objects.create(application=application, registry=registry, position=position, outcome=outcome,
                             latency_ms=latency, attempts=attempts, checked_at=spec.created)
    return Application.objects.get(pk=application.pk)


def make_dataset(prefix: str = "", roll_up: bool = True) -> Dataset:
    """The applications of SPECS, and exam seats at the first TSON: 9 booked of 15 in the days, and a slot after
    them that is not counted. `prefix` makes the centres' codes unique when a test builds a second copy. Then the
    dashboard's rollup, as its beat task would (`roll_up=False` leaves that to the test)."""
    t1 = CentreFactory(code=f"{prefix}t1", name=f"{prefix}Esil TSON", offers_tson=True, offers_exams=True)
    t2 = CentreFactory(code=f"{prefix}t2", name=f"{prefix}Almaly TSON", offers_tson=True, offers_exams=False)
    centres = {"t1": t1, "t2": t2}
    applications = {name: make_application(spec, centres) for name, spec in SPECS.items()}
    ExamSlot.objects.create(centre=t1, kind="theory", starts_at=local(4, 9), capacity=10, booked=4)
    ExamSlot.objects.create(centre=t1, kind="practical", starts_at=local(7, 23), capacity=5, booked=5)
    ExamSlot.objects.create(centre=t1, kind="theory", starts_at=local(9, 9), capacity=20, booked=1)
    if roll_up:
        rollup.roll_up()
    return Dataset(applications, t1, t2)
