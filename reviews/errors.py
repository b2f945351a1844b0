"""The reviews app's error codes (the contract's, and `claimed`), and the error its use cases raise."""

from enum import StrEnum

from config.errors import DomainError


class ReviewErrorCode(StrEnum):
    MISSING_FIELD = "missing_field"
    VALIDATION_ERROR = "validation_error"
    NOT_FOUND = "not_found"
    CLAIMED = "claimed"


HTTP_STATUS = {
    ReviewErrorCode.MISSING_FIELD: 400,
    ReviewErrorCode.VALIDATION_ERROR: 400,
    ReviewErrorCode.NOT_FOUND: 404,
    ReviewErrorCode.CLAIMED: 409,
}


class ReviewError(DomainError):
    def __init__(self, code: ReviewErrorCode | str, message: str, *, field: str | None = None, **extra):
        code = ReviewErrorCode(code)
        super().__init__(code, message, field=field, http_status=HTTP_STATUS[code], **extra)
