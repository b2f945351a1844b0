"""The exams app's error codes (the contract's), and the error its use cases raise."""

from enum import StrEnum

from config.errors import CodedError


class ExamErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    NOT_FOUND = "not_found"
    WRONG_STATUS = "wrong_status"
    SLOT_FULL = "slot_full"
    BOOKING_EXISTS = "booking_exists"
    SLOT_NOT_SUITABLE = "slot_not_suitable"
    RETAKE_TOO_EARLY = "retake_too_early"


HTTP_STATUS = {
    ExamErrorCode.VALIDATION_ERROR: 400,
    ExamErrorCode.NOT_FOUND: 404,
    ExamErrorCode.WRONG_STATUS: 409,
    ExamErrorCode.SLOT_FULL: 409,
    ExamErrorCode.BOOKING_EXISTS: 409,
    ExamErrorCode.SLOT_NOT_SUITABLE: 422,
    ExamErrorCode.RETAKE_TOO_EARLY: 422,
}


class ExamError(CodedError):
    """A booking, a result or a terminal step that the exam rules refuse."""

    codes = ExamErrorCode
    statuses = HTTP_STATUS
