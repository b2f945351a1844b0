import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from applications.iin import birth_date_from_iin, iin_check_digit, is_valid_iin, validate_iin
from tests.factories import make_iin

VALID = ["871008401427", "760212350620", "800416300257"]


@pytest.mark.parametrize("iin", VALID)
def test_the_domain_examples_are_valid(iin):
    assert is_valid_iin(iin)
    validate_iin(iin)


@pytest.mark.parametrize(
    "iin",
    [
        "821214240092",  # the first and the second weighting both give 10: never issued
        "871008401428",  # wrong check digit
        "87100840142",  # 11 digits
        "8710084014270",  # 13 digits
        "87100840142a",
        "８７１００８４０１４２７",  # full-width digits are digits to str.isdigit, not to us
        "",
        None,
        871008401427,
    ],
)
def test_invalid_iins_are_refused_with_code_invalid_iin(iin):
    assert not is_valid_iin(iin)
    with pytest.raises(ValidationError) as error:
        validate_iin(iin)
    assert error.value.code == "invalid_iin"


def test_the_second_weighting_is_used_when_the_first_gives_ten():
    # 9001013008 1: weights 1..11 leave 10; weights 3..11,1,2 leave 1, so the check digit is 1.
    body = "90010130081"
    assert sum(int(d) * w for d, w in zip(body, range(1, 12), strict=True)) % 11 == 10
    assert iin_check_digit(body) == 1
    assert is_valid_iin(body + "1")
    assert not is_valid_iin(body + "0")


def test_birth_date_is_read_from_the_iin():
    assert birth_date_from_iin("871008401427") == datetime.date(1987, 10, 8)
    assert birth_date_from_iin("871008401428") is None


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_exactly_one_last_digit_completes_eleven_digits_unless_never_issued(body):
    completions = [d for d in "0123456789" if is_valid_iin(body + d)]
    check = iin_check_digit(body)
    if check is None:
        assert completions == []
    else:
        assert completions == [str(check)]


@given(st.integers(1900, 2025), st.randoms(use_true_random=False))
def test_generated_iins_are_valid_and_carry_their_birth_year(year, rng):
    iin = make_iin(rng, birth_year=year)
    assert is_valid_iin(iin)
    assert birth_date_from_iin(iin).year == year
