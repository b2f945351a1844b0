"""The workflow's vocabulary: services, channels, statuses and registries, as the contract names them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Service(models.TextChoices):
    FIRST_ISSUE = "first_issue", _("First driving licence")
    REPLACEMENT = "replacement", _("Replacement of a driving licence")
    FOREIGN_EXCHANGE = "foreign_exchange", _("Exchange of a foreign driving licence")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Citizen portal")
    EGOV_PORTAL = "egov_portal", _("eGov portal")
    EGOV_MOBILE = "egov_mobile", _("EgovMobile")
    TSON_MOBILE = "tson_mobile", _("TSON mobile app")
    BANK = "bank", _("Bank")
    DRIVING_SCHOOL = "driving_school", _("Driving school")
    TSON_BRANCH = "tson_branch", _("TSON branch")


class ReplacementReason(models.TextChoices):
    EXPIRY = "expiry", _("Expiry")
    LOSS = "loss", _("Loss")
    THEFT = "theft", _("Theft")
    DAMAGE = "damage", _("Damage")
    PERSONAL_DATA_CHANGE = "personal_data_change", _("Change of personal data")


class Status(models.TextChoices):
    CONSENT_PENDING = "consent_pending", _("Waiting for consent")
    CHECKS_RUNNING = "checks_running", _("State registries are being checked")
    ELIGIBLE = "eligible", _("Eligible: fill in the application form")
    THEORY_EXAM = "theory_exam", _("Theory exam")
    PRACTICAL_EXAM = "practical_exam", _("Practical exam")
    FORMALIZATION = "formalization", _("State fee and photo")
    UNDER_REVIEW = "under_review", _("Under police review")
    APPROVED = "approved", _("Approved: waiting for printing")
    PRINTED = "printed", _("Printed: waiting at the TSON")
    ISSUED = "issued", _("Issued")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")


FINAL_STATUSES = (Status.ISSUED, Status.REFUSED, Status.CANCELLED)
# Before the form is submitted: no number yet, and the citizen may still withdraw consent and cancel.
PRE_SUBMIT_STATUSES = (Status.CONSENT_PENDING, Status.CHECKS_RUNNING, Status.ELIGIBLE)
ACTIVE_STATUSES = tuple(s for s in Status.values if s not in FINAL_STATUSES)
# A citizen or channel may cancel until the application reaches the police.
CANCELLABLE_STATUSES = (
    *PRE_SUBMIT_STATUSES,
    Status.THEORY_EXAM,
    Status.PRACTICAL_EXAM,
    Status.FORMALIZATION,
)


class ExamLanguage(models.TextChoices):
    """The exams are taken in Kazakh or Russian (policy); each named in its own language."""

    KK = "kk", "Қазақша"
    RU = "ru", "Русский"


# Notices and pages speak the service's three languages.
NOTICE_LANGUAGE_CHOICES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]

# A mobile number as the mobile-citizens database holds it: +7 and ten digits.
PHONE_PATTERN = r"^\+7\d{10}$"


class PhotoSource(models.TextChoices):
    TSON = "tson", _("Taken by a TSON operator")
    REGISTRY = "registry", _("Held by the person registry")


class Registry(models.TextChoices):
    """The checks of the contract's table, in the order of the algorithm (steps 4 to 10)."""

    CONSENT = "consent", _("Consent to the use of personal data")
    PERSON = "person", _("Person registry")
    LICENCE_REGISTRY = "licence_registry", _("Driving licence registry")
    ERAP = "erap", _("Register of administrative proceedings (ERAP)")
    MEDICAL = "medical", _("Medical certificate 073/у (Ministry of Health)")
    ERDB = "erdb", _("Register of dispensary patients (ERDB)")
    DRIVING_SCHOOL = "driving_school", _("Driving school certificate (Avtoshkola)")
    EXAM_ATTEMPTS = "exam_attempts", _("Earlier exam attempts")


ALGORITHM_ORDER = list(Registry.values)
PHASE_1 = (Registry.PERSON, Registry.LICENCE_REGISTRY, Registry.ERAP)
PHASE_2 = (Registry.MEDICAL, Registry.ERDB, Registry.DRIVING_SCHOOL, Registry.EXAM_ATTEMPTS)

