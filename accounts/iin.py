"""The IIN (individual identification number): the one place that knows its check-digit rule.

12 digits: YYMMDD, a century-and-sex digit, a 4-digit serial and a check digit. The check digit is the sum of
the first 11 digits weighted 1..11, mod 11; when that is 10, weights 3..11,1,2 are used instead; when that is 10
again, the number is never issued. Validity is that rule; the birth date inside is read separately, since the
person registry's birth date is the one that counts.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

FIRST_WEIGHTS = tuple(range(1, 12))
SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
CENTURY_BY_DIGIT = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}


def iin_check_digit(first_eleven: str) -> int | None:
    """The check digit for 11 digits, or None when no valid IIN can start with them."""
    digits = [int(c) for c in first_eleven]
    for weights in (FIRST_WEIGHTS, SECOND_WEIGHTS):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def is_valid_iin(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 12 or not value.isascii() or not value.isdigit():
        return False
    return iin_check_digit(value[:11]) == int(value[11])


def validate_iin(value: object) -> None:
    """Django validator: raises ValidationError with code `invalid_iin`."""
    if not is_valid_iin(value):
        raise ValidationError(_("Enter a valid IIN: 12 digits with a correct check digit."), code="invalid_iin")


def birth_date_from_iin(iin: str) -> datetime.date | None:
    """The birth date encoded in a valid IIN, or None when its date or century digit is not a real date."""
    if not is_valid_iin(iin):
        return None
    century = CENTURY_BY_DIGIT.get(iin[6])
    if century is None:
        return None
    try:
        return datetime.date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return None
