"""The exams' part of `load_demo_data`: a weekly timetable at every exam centre, slots for the next 30 days for every
category, and the demo question bank (exams/question_bank/, written for this project and marked as a demo)."""

import datetime
import json
from pathlib import Path

from django.db import transaction
from django.dispatch import receiver

from applications.demo import demo_data_loaded
from applications.models import Category, Centre

from .models import AnswerOption, ExamKind, Question, WeeklySlot
from .services import generate_slots

DEMO_BANK = Path(__file__).resolve().parent / "question_bank"
DEMO_DAYS = 30
# Theory: every category, four sittings a day, Monday to Saturday.
THEORY_TIMES = (datetime.time(9), datetime.time(11), datetime.time(14), datetime.time(16))
THEORY_SEATS = 20
# Practical: a vehicle for each group of categories, two sittings a day, Monday to Saturday.
PRACTICAL_GROUPS = (("A1", "A", "B1"), ("B", "BE"), ("C1", "C", "C1E", "CE"), ("D1", "D", "D1E", "DE"), ("Tb", "Tm"))
PRACTICAL_TIMES = (datetime.time(10), datetime.time(15))
PRACTICAL_SEATS = 6
WORKING_DAYS = range(6)


def ensure_demo_timetable() -> list[WeeklySlot]:
    categories = Category.issued_by_code()
    lines = []
    for centre in Centre.objects.filter(offers_exams=True, is_active=True):
        plan = [(ExamKind.THEORY, time, THEORY_SEATS, list(categories)) for time in THEORY_TIMES]
        plan += [(ExamKind.PRACTICAL, time, PRACTICAL_SEATS, [code for code in group if code in categories])
                 for group in PRACTICAL_GROUPS for time in PRACTICAL_TIMES]
        for weekday in WORKING_DAYS:
            for index, (kind, time, seats, codes) in enumerate(plan):
                if not codes:
                    continue
                # Practical groups share a start time: each group's vehicle starts a few minutes apart.
                starts = (datetime.datetime.combine(datetime.date.min, time)
                          + datetime.timedelta(minutes=(index % 5) * 5 if kind == ExamKind.PRACTICAL else 0)).time()
                line, _created = WeeklySlot.objects.get_or_create(
                    centre=centre, kind=kind, weekday=weekday, starts_at=starts, defaults={"capacity": seats})
                line.categories.set([categories[code] for code in codes])
                lines.append(line)
    return lines


@transaction.atomic
def load_question_bank(folder: Path = DEMO_BANK, *, demo: bool = True) -> int:
    """Every question of the folder's JSON files, created or brought up to date by its reference."""
    categories = {category.code: category for category in Category.objects.all()}
    count = 0
    for path in sorted(folder.glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            # A question an administrator took out of use stays out: only new ones start in use.
            question, _created = Question.objects.update_or_create(reference=item["id"], defaults={
                "topic": item.get("topic", ""), "is_demo": demo,
                **{f"text_{language}": item["text"].get(language, "") for language in ("kk", "ru", "en")},
                **{f"explanation_{language}": item.get("explanation", {}).get(language, "")
                   for language in ("kk", "ru", "en")}})
            question.categories.set([categories[code] for code in item.get("categories", []) if code in categories])
            # Options are updated in place (by position), so answers kept by a running exam keep their meaning.
            question.options.filter(position__gte=len(item["options"])).delete()
            question.options.update(is_correct=False)
            for position, option in enumerate(item["options"]):
                AnswerOption.objects.update_or_create(question=question, position=position, defaults={
                    "is_correct": position == item["correct"],
                    **{f"text_{language}": option.get(language, "") for language in ("kk", "ru", "en")}})
            count += 1
    return count


@receiver(demo_data_loaded, dispatch_uid="exams-demo-data")
def add_demo_exams(sender, *, stdout, **kwargs) -> None:
    generated = generate_slots(days=DEMO_DAYS, lines=WeeklySlot.objects.filter(
        pk__in=[line.pk for line in ensure_demo_timetable()]))
    questions = load_question_bank()
    stdout.write(f"Exams: {generated.created} new slots for the next {DEMO_DAYS} days ({generated.existing} were "
                 f"there), {questions} demo questions")
