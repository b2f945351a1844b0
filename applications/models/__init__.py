"""The applications app's models, one module per concern; every name is importable from here."""

from .application import Application, ApplicationNumberCounter, is_police_officer, is_tson_operator
from .audit import GENESIS_HASH, SEALED_FIELDS, AccessLogHead, AppendOnly, PersonalDataAccess, StatusChange
from .checks import Check, Consent
from .choices import (
    ACTIVE_STATUSES,
    ALGORITHM_ORDER,
    CANCELLABLE_STATUSES,
    FINAL_STATUSES,
    NOTICE_LANGUAGE_CHOICES,
    PHASE_1,
    PHASE_2,
    PHONE_PATTERN,
    PRE_SUBMIT_STATUSES,
    Channel,
    ExamLanguage,
    PhotoSource,
    Registry,
    ReplacementReason,
    Service,
    Status,
)
from .formalization import (
    CallbackNonce,
    Notice,
    Payment,
    Photo,
    RefusalReason,
    forget_refusal_reasons,
    photo_storage,
)
from .licence import CardPrint, Licence, LicenceNumberCounter
from .policy import (
    Category,
    Centre,
    ForeignLicenceCountry,
    MonthlyCalculationIndex,
    ServicePolicy,
    forget_categories,
    forget_fee,
)

__all__ = [
    "ACTIVE_STATUSES", "ALGORITHM_ORDER", "CANCELLABLE_STATUSES", "FINAL_STATUSES", "NOTICE_LANGUAGE_CHOICES",
    "PHASE_1", "PHASE_2",
    "PHONE_PATTERN", "PRE_SUBMIT_STATUSES", "ExamLanguage",
    "GENESIS_HASH", "SEALED_FIELDS", "AccessLogHead",
    "AppendOnly", "Application", "ApplicationNumberCounter", "Category", "Centre", "Channel", "Check", "Consent",
    "ForeignLicenceCountry", "MonthlyCalculationIndex", "PersonalDataAccess", "PhotoSource", "Registry",
    "ReplacementReason", "Service", "ServicePolicy", "Status", "StatusChange", "forget_categories", "forget_fee",
    "is_police_officer", "is_tson_operator",
    "CardPrint", "Licence", "LicenceNumberCounter",
    "CallbackNonce", "Notice", "Payment", "Photo", "RefusalReason", "forget_refusal_reasons", "photo_storage",
]
