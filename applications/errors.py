"""The applications app's error codes (the contract's), and the errors its use cases raise."""

from enum import StrEnum

from django.utils.translation import gettext as _

from config.errors import CodedError

from .models import Status


class ApplicationErrorCode(StrEnum):
    MISSING_FIELD = "missing_field"
    VALIDATION_ERROR = "validation_error"
    INVALID_CATEGORY = "invalid_category"
    CATEGORY_PREREQUISITE = "category_prerequisite"
    INVALID_CONSENT_CODE = "invalid_consent_code"
    CONSENT_CODE_EXPIRED = "consent_code_expired"
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"
    NOT_FOUND = "not_found"
    WRONG_STATUS = "wrong_status"
    ACTIVE_APPLICATION_EXISTS = "active_application_exists"
    RESEND_LIMIT_REACHED = "resend_limit_reached"
    THROTTLED = "throttled"
    REGISTRY_UNAVAILABLE = "registry_unavailable"
    INVALID_PHOTO = "invalid_photo"


HTTP_STATUS = {
    ApplicationErrorCode.MISSING_FIELD: 400,
    ApplicationErrorCode.VALIDATION_ERROR: 400,
    ApplicationErrorCode.INVALID_CATEGORY: 400,
    ApplicationErrorCode.CATEGORY_PREREQUISITE: 400,
    ApplicationErrorCode.INVALID_CONSENT_CODE: 400,
    ApplicationErrorCode.CONSENT_CODE_EXPIRED: 400,
    ApplicationErrorCode.CHANNEL_NOT_ALLOWED: 403,
    ApplicationErrorCode.NOT_FOUND: 404,
    ApplicationErrorCode.WRONG_STATUS: 409,
    ApplicationErrorCode.ACTIVE_APPLICATION_EXISTS: 409,
    ApplicationErrorCode.RESEND_LIMIT_REACHED: 429,
    ApplicationErrorCode.THROTTLED: 429,
    ApplicationErrorCode.REGISTRY_UNAVAILABLE: 503,
    ApplicationErrorCode.INVALID_PHOTO: 400,
}


class ApplicationError(CodedError):
    """A request the application rules refuse, with one of the codes above."""

    codes = ApplicationErrorCode
    statuses = HTTP_STATUS


class WrongStatus(ApplicationError):
    """The step cannot be taken from the application's current status (409 wrong_status, with current_status)."""

    def __init__(self, application, transition: str, message: str | None = None):
        self.application, self.transition = application, transition
        super().__init__(
            ApplicationErrorCode.WRONG_STATUS,
            message or _("This step cannot be taken while the application is %(status)s.")
            % {"status": Status(application.status).label},
            current_status=application.status)


class NotPermitted(ApplicationError):
    """The actor's role may not take this step: answered as 404, never 403, so nobody can probe what exists."""

    def __init__(self, reason: str = ""):
        self.reason = reason
        super().__init__(ApplicationErrorCode.NOT_FOUND, _("Not found."))
