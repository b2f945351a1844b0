"""Every use case that changes an application: one function each, one module per concern.

Views, API views, admin actions and tasks call these; they move applications only through `..workflow`.
"""

from ..errors import ApplicationError, ApplicationErrorCode, NotPermitted, WrongStatus
from .access import log_staff_list_read, log_staff_read
from .checks import run_checks, stalled_checks
from .consent import (
    confirm_consent,
    expire_unconfirmed_consents,
    fail_consent,
    notify_consent_service_of_withdrawal,
    record_consent_decline,
    request_consent,
    resend_consent_code,
    send_new_consent_code,
    unrequested_consents,
    withdraw_consent,
)
from .formalization import (
    capture_photo,
    create_payment,
    current_photo,
    desk_photo_bytes,
    inspect_photo,
    pay_at_desk,
    record_payment_outcome,
    verify_payment_callback,
)
from .intake import start_application, validate_categories
from .licences import (
    current_card,
    hand_over,
    issue_licence,
    record_licence_in_registry,
    reprint_card,
    verify_licence_code,
)
from .notices import notice_text, notify_citizen, register_notice, unsent_move_notices
from .submission import cancel_application, next_application_number, submit_application

__all__ = [
    "ApplicationError", "ApplicationErrorCode", "NotPermitted", "WrongStatus",
    "cancel_application", "confirm_consent", "expire_unconfirmed_consents", "fail_consent", "log_staff_list_read",
    "log_staff_read", "next_application_number", "notice_text", "notify_citizen",
    "notify_consent_service_of_withdrawal", "record_consent_decline", "register_notice", "request_consent",
    "unsent_move_notices",
    "resend_consent_code",
    "run_checks", "send_new_consent_code", "stalled_checks", "start_application", "submit_application",
    "unrequested_consents", "validate_categories", "withdraw_consent",
    "capture_photo", "create_payment", "current_photo", "desk_photo_bytes", "inspect_photo", "pay_at_desk",
    "record_payment_outcome", "verify_payment_callback", "current_card", "hand_over", "issue_licence",
    "record_licence_in_registry", "reprint_card", "verify_licence_code",
]
