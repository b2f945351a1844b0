"""Seed the policy with the values of the pilot order and the law (domain.md). Administrators change them later."""

import datetime
from decimal import Decimal

from django.db import migrations

# code, minimum age, prerequisite (Law "On road traffic", Art. 73)
CATEGORIES = [
    ("A1", 16, None), ("A", 18, None), ("B1", 16, None), ("B", 18, None), ("C1", 18, None), ("C", 18, None),
    ("D1", 21, None), ("D", 21, None), ("BE", 18, "B"), ("C1E", 18, "C1"), ("CE", 18, "C"), ("D1E", 21, "D1"),
    ("DE", 21, "D"), ("Tb", 21, None), ("Tm", 21, None),
]
MRP = {2025: 3932, 2026: 4325}


def seed(apps, schema_editor):
    Category = apps.get_model("applications", "Category")
    MonthlyCalculationIndex = apps.get_model("applications", "MonthlyCalculationIndex")
    ServicePolicy = apps.get_model("applications", "ServicePolicy")
    for position, (code, minimum_age, _prerequisite) in enumerate(CATEGORIES):
        Category.objects.update_or_create(code=code, defaults={"minimum_age": minimum_age, "position": position})
    for code, _minimum_age, prerequisite in CATEGORIES:
        if prerequisite:
            Category.objects.filter(code=code).update(prerequisite=Category.objects.get(code=prerequisite))
    for year, amount in MRP.items():
        MonthlyCalculationIndex.objects.update_or_create(year=year, defaults={"amount_kzt": amount})
    ServicePolicy.objects.update_or_create(
        pk=1,
        defaults={
            "state_fee_mrp": Decimal("1.25"),
            "licence_validity_years": 10,
            "pilot_starts_on": datetime.date(2025, 10, 16),
            "pilot_ends_on": datetime.date(2026, 9, 1),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("applications", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
