"""Seed the exam rules of domain.md: 40 questions, 32 to pass, 40 minutes; retakes after a wait."""

from django.db import migrations


def seed(apps, schema_editor):
    ExamRules = apps.get_model("exams", "ExamRules")
    ExamRules.objects.update_or_create(
        pk=1,
        defaults={
            "theory_questions": 40,
            "theory_pass_mark": 32,
            "theory_minutes": 40,
            "practical_max_penalty_points": 100,
            "retake_wait_days": 7,
            "attempts_before_long_wait": 3,
            "long_wait_months": 6,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("exams", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
