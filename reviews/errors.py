"""The reviews app's error codes (the contract's, and `claimed`), and the error its use cases raise."""

from enum import StrEnum

from config.errors import CodedError


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


class ReviewError(CodedError):
    codes = ReviewErrorCode
    statuses = HTTP_STATUS
