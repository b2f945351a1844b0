import datetime
from decimal import Decimal

import pytest

from applications.models import Category, MonthlyCalculationIndex, ServicePolicy
from exams.models import ExamRules

pytestmark = pytest.mark.django_db


def test_the_state_fee_is_1_25_mrp_rounded_to_whole_tenge():
    policy = ServicePolicy.current()
    assert policy.state_fee_kzt(datetime.date(2026, 11, 28)) == 5406  # 1.25 x 4,325 = 5,406.25
    assert policy.state_fee_kzt(datetime.date(2025, 12, 31)) == 4915  # 1.25 x 3,932


def test_the_fee_follows_the_policy_data_not_code():
    MonthlyCalculationIndex.objects.create(year=2027, amount_kzt=4500)
    policy = ServicePolicy.current()
    policy.state_fee_mrp = Decimal("2")
    policy.save()
    assert ServicePolicy.current().state_fee_kzt(datetime.date(2027, 1, 1)) == 9000


def test_a_year_without_its_own_mrp_uses_the_latest_earlier_one():
    assert ServicePolicy.current().state_fee_kzt(datetime.date(2030, 1, 1)) == 5406


def test_a_year_before_any_mrp_cannot_be_charged():
    with pytest.raises(MonthlyCalculationIndex.DoesNotExist):
        ServicePolicy.current().state_fee_kzt(datetime.date(1999, 1, 1))


@pytest.mark.parametrize(
    ("code", "minimum_age", "prerequisite"),
    [("A1", 16, None), ("B1", 16, None), ("B", 18, None), ("C", 18, None), ("D", 21, None), ("Tb", 21, None),
     ("BE", 18, "B"), ("C1E", 18, "C1"), ("CE", 18, "C"), ("D1E", 21, "D1"), ("DE", 21, "D")],
)
def test_categories_are_seeded_from_the_law(code, minimum_age, prerequisite):
    category = Category.objects.get(code=code)
    assert category.minimum_age == minimum_age
    assert (category.prerequisite.code if category.prerequisite else None) == prerequisite


def test_all_fifteen_categories_are_seeded():
    assert Category.objects.count() == 15


def test_the_pilot_window_is_data_and_its_end_stops_nothing():
    policy = ServicePolicy.current()
    assert (policy.pilot_starts_on, policy.pilot_ends_on) == (datetime.date(2025, 10, 16), datetime.date(2026, 9, 1))
    assert policy.pilot_window_passed(datetime.date(2026, 11, 28))
    assert policy.online_first_issue and policy.online_replacement
    assert policy.licence_validity_years == 10


def test_there_is_only_ever_one_service_policy_row():
    ServicePolicy(licence_validity_years=5).save()
    assert ServicePolicy.objects.count() == 1
    assert ServicePolicy.current().licence_validity_years == 5


def test_exam_rules_are_seeded():
    rules = ExamRules.current()
    assert (rules.theory_questions, rules.theory_pass_mark, rules.theory_minutes) == (40, 32, 40)
    assert (rules.attempts_before_long_wait, rules.long_wait_months) == (3, 6)
    assert rules.theory_passed(32) and not rules.theory_passed(31)


def test_a_category_cannot_be_its_own_prerequisite():
    from django.core.exceptions import ValidationError

    category = Category.objects.get(code="BE")
    category.prerequisite = category
    with pytest.raises(ValidationError):
        category.full_clean()


def test_a_category_withdrawn_in_the_admin_is_refused_at_once():
    from applications import services

    assert services.validate_categories(["C1"], required=True) == ["C1"]  # remembered for a minute
    Category.objects.filter(code="C1").update(is_issued=False)
    category = Category.objects.get(code="C1")
    category.save()  # as the admin saves it: this process forgets what it remembered
    with pytest.raises(services.ApplicationError) as refused:
        services.validate_categories(["C1"], required=True)
    assert refused.value.code == "invalid_category"
