"""The exams' notices: each booking, its cancellation, the reminder the day before, each result, a no-show.

Their texts are templates like every notice's (templates/notices/<lang>/exam_*.sms.txt and .email.txt); this module
gives them what the application does not hold: the kind of exam, the centre's name and address and the local date and
time, the score and the next step, in the citizen's language (the active one when called). Registered at start-up.
"""

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from applications.models import Centre
from applications.services import register_notice

from ..models import ExamKind


def _kind(details: dict) -> dict:
    kind = ExamKind(details["kind"])
    return {"kind": str(kind.label), "theory": kind == ExamKind.THEORY}


def where_and_when(application, details: dict) -> dict:
    centre = Centre.objects.filter(code=details["centre"]).first()
    starts_at = timezone.localtime(parse_datetime(details["starts_at"]))
    return {**_kind(details), "centre": centre.name_in() if centre else details["centre"],
            "address": centre.address_in() if centre else "", "when": starts_at.strftime("%d.%m.%Y %H:%M"),
            "date": starts_at.strftime("%d.%m.%Y"), "time": starts_at.strftime("%H:%M")}


def result(application, details: dict) -> dict:
    passed = bool(details["passed"])
    score = details.get("score")
    return {**_kind(details), "passed": passed, "score": "—" if score is None else score,
            # After the theory comes the practical exam; after the practical, the fee and the photo.
            "next_exam": passed and details["kind"] == ExamKind.THEORY}


def no_show(application, details: dict) -> dict:
    return {**_kind(details), "counted": bool(details.get("counted"))}


def register() -> None:
    for event, context in (("exam_booked", where_and_when), ("exam_cancelled", where_and_when),
                           ("exam_reminder", where_and_when), ("exam_result", result), ("exam_no_show", no_show)):
        register_notice(event, context)
