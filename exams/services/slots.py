"""Exam slots: created one by one by examiners (API and staff pages), or generated ahead from a centre's weekly
timetable by administrators (`manage.py generate_exam_slots`, the admin action, and `load_demo_data`)."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Category, Centre

from ..errors import ExamError, ExamErrorCode
from ..models import MAX_SLOT_CAPACITY, ExamKind, ExamSlot, WeeklySlot


def _categories(codes) -> list[Category]:
    issued = Category.issued_by_code()
    unknown = [code for code in codes if code not in issued]
    if unknown:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("Unknown category: %(codes)s.")
                        % {"codes": ", ".join(unknown)}, field="categories")
    if not codes:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("Name at least one category."), field="categories")
    return [issued[code] for code in dict.fromkeys(codes)]


@transaction.atomic
def create_slot(*, centre_code: str, kind: str, starts_at: datetime.datetime, capacity: int, categories,
                actor=None) -> ExamSlot:
    centre = Centre.objects.filter(code=centre_code, is_active=True, offers_exams=True).first()
    if centre is None:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("There is no exam centre with this code."), field="centre")
    if kind not in ExamKind.values:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("The kind is theory or practical."), field="kind")
    if starts_at <= timezone.now():
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("A slot must start in the future."), field="starts_at")
    if not 1 <= capacity <= MAX_SLOT_CAPACITY:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("Seats: from 1 to %(maximum)d.")
                        % {"maximum": MAX_SLOT_CAPACITY}, field="capacity")
    served = _categories(list(categories))
    slot = ExamSlot.objects.create(centre=centre, kind=kind, starts_at=starts_at, capacity=capacity,
                                   created_by=actor if getattr(actor, "pk", None) else None)
    slot.categories.set(served)
    return slot


@dataclass
class Generated:
    created: int
    existing: int


def generate_slots(*, days: int, start: datetime.date | None = None, lines=None) -> Generated:
    """Slots for the next `days` days from every active timetable line (or those given); a slot already generated
    for a line and a start is left as it is, so running it again adds only what is missing. Written in bulk: a
    month of a country's timetable is thousands of slots."""
    start = start or timezone.localdate()
    lines = list((lines if lines is not None else WeeklySlot.objects.filter(is_active=True))
                 .select_related("centre").prefetch_related("categories"))
    now = timezone.now()
    wanted = {}
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        for line in (line for line in lines if line.weekday == day.weekday()):
            starts_at = timezone.make_aware(datetime.datetime.combine(day, line.starts_at))
            if starts_at > now:
                wanted[(line.pk, starts_at)] = line
    with transaction.atomic():
        existing = set(ExamSlot.objects.filter(schedule__in=lines, starts_at__gte=now)
                       .values_list("schedule_id", "starts_at"))
        missing = [(line, starts_at) for (line_id, starts_at), line in wanted.items()
                   if (line_id, starts_at) not in existing]
        slots = ExamSlot.objects.bulk_create(
            [ExamSlot(schedule=line, starts_at=starts_at, centre=line.centre, kind=line.kind, capacity=line.capacity)
             for line, starts_at in missing], batch_size=500)
        if slots and slots[0].pk is None:  # a backend that does not return ids (none that we run on)
            slots = list(ExamSlot.objects.filter(schedule__in=lines, starts_at__in=[s for _l, s in missing]))
        through = ExamSlot.categories.through
        through.objects.bulk_create(
            [through(examslot_id=slot.pk, category_id=category.pk)
             for slot in slots for category in slot.schedule.categories.all()], batch_size=2000)
    return Generated(len(slots), len(wanted) - len(missing))
