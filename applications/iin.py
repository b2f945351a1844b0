"""The IIN rule lives in accounts (sign-in validates it, and accounts imports no workflow app); the workflow reads
it from here as before."""

from accounts.iin import birth_date_from_iin, iin_check_digit, is_valid_iin, validate_iin

__all__ = ["birth_date_from_iin", "iin_check_digit", "is_valid_iin", "validate_iin"]
