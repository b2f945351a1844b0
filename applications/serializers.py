"""The contract's shapes (shared/api-v1.md): thin, no rules here beyond the shape of the input."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from config.api import MillisecondDateTimeField

from . import sections
from .access_log import describe_what
from .iin import validate_iin
from .models import (
    PHONE_PATTERN,
    Application,
    Centre,
    Check,
    Consent,
    ExamLanguage,
    PersonalDataAccess,
    PhotoSource,
    Registry,
    ReplacementReason,
    Service,
    ServicePolicy,
    Status,
)
from .refusals import REFUSALS, application_refusal_message

EXAM_LANGUAGES = ExamLanguage.choices
REFUSAL_CODES = list(REFUSALS)
# A failed check's code: a refusal code that the checks give (the officer's refusal is not a check).
CHECK_CODES = [code for code in REFUSALS if code != "officer_refused"]
BOOKING_STATUSES = ["booked", "cancelled", "passed", "failed"]
EXAM_KINDS = ["theory", "practical"]
LICENCE_STATUSES = ["valid", "replaced", "revoked", "expired"]


class ForeignLicenceSerializer(serializers.Serializer):
    country = serializers.RegexField(r"^[A-Z]{2}$", error_messages={"invalid": _("Use an ISO 3166-1 alpha-2 code.")},
                                     help_text="ISO 3166-1 alpha-2.")
    number = serializers.CharField(max_length=40)
    categories = serializers.ListField(child=serializers.CharField(max_length=4), allow_empty=False, max_length=15)
    valid_until = serializers.DateField()


class ApplicationCreateSerializer(serializers.Serializer):
    """A create whose `service` is missing or unknown: its errors, field by field (the variants below do the rest)."""

    service = serializers.ChoiceField(choices=Service.choices)
    iin = serializers.CharField(max_length=12, validators=[validate_iin])


class _CreateBase(serializers.Serializer):
    iin = serializers.CharField(max_length=12, validators=[validate_iin], help_text="12 digits, a valid IIN.")


def _categories(*, required: bool):
    return serializers.ListField(
        child=serializers.CharField(max_length=4), required=required, allow_empty=not required,
        min_length=1 if required else None, max_length=15,
        help_text="Category codes (`A`, `B`, `BE`, ...), each with its prerequisite." if required else
        "May be omitted: then those of the existing licence.")


@extend_schema_serializer(component_name="FirstIssueCreate")
class FirstIssueCreateSerializer(_CreateBase):
    service = serializers.ChoiceField(choices=[Service.FIRST_ISSUE])
    categories = _categories(required=True)


@extend_schema_serializer(component_name="ReplacementCreate")
class ReplacementCreateSerializer(_CreateBase):
    service = serializers.ChoiceField(choices=[Service.REPLACEMENT])
    categories = _categories(required=False)
    replacement_reason = serializers.ChoiceField(choices=ReplacementReason.choices)


@extend_schema_serializer(component_name="ForeignExchangeCreate")
class ForeignExchangeCreateSerializer(_CreateBase):
    service = serializers.ChoiceField(choices=[Service.FOREIGN_EXCHANGE])
    categories = _categories(required=True)
    foreign_licence = ForeignLicenceSerializer()


CREATE_SERIALIZERS = {Service.FIRST_ISSUE: FirstIssueCreateSerializer, Service.REPLACEMENT: ReplacementCreateSerializer,
                      Service.FOREIGN_EXCHANGE: ForeignExchangeCreateSerializer}

# One body per service (oneOf, told apart by `service`): a generated client gets a typed model for each, so that a
# replacement may leave out `categories` while the others cannot.
ApplicationCreateRequest = PolymorphicProxySerializer(
    component_name="ApplicationCreate", serializers={str(k): v for k, v in CREATE_SERIALIZERS.items()},
    resource_type_field_name="service")


def application_create_serializer(data) -> serializers.Serializer:
    """The serializer for this body's service."""
    service = data.get("service") if isinstance(data, Mapping) else None
    if not isinstance(service, str):
        return ApplicationCreateSerializer(data=data)
    return CREATE_SERIALIZERS.get(service, ApplicationCreateSerializer)(data=data)


class ConsentCodeSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^\d{6}$", error_messages={"invalid": _("The code is 6 digits.")})


class ApplicationListQuerySerializer(serializers.Serializer):
    """The list's filters (query parameters)."""

    status = serializers.ChoiceField(choices=Status.choices, required=False, help_text="Only in this status.")
    iin = serializers.RegexField(r"^\d{12}$", required=False, help_text="Only this person's (12 digits).",
                                 error_messages={"invalid": _("An IIN is 12 digits.")})


def _time(value):
    return MillisecondDateTimeField().to_representation(value)


# Shapes of the nested members, for the OpenAPI schema.
@extend_schema_serializer(component_name="Check")
class CheckSchema(serializers.Serializer):
    registry = serializers.ChoiceField(choices=Registry.choices)
    outcome = serializers.ChoiceField(choices=Check.Outcome.choices)
    code = serializers.ChoiceField(choices=CHECK_CODES, allow_null=True, help_text="Why it failed; else null.")
    checked_at = MillisecondDateTimeField(allow_null=True)


@extend_schema_serializer(component_name="Refusal")
class RefusalSchema(serializers.Serializer):
    code = serializers.ChoiceField(choices=REFUSAL_CODES,
                                   help_text="The first failed check in the order of the algorithm, or "
                                             "`officer_refused`.")
    message = serializers.CharField(help_text="Which step refused and why, in the request's language.")
    decided_at = MillisecondDateTimeField()


@extend_schema_serializer(component_name="Slot")
class SlotSchema(serializers.Serializer):
    id = serializers.IntegerField()
    centre = serializers.CharField(help_text="The centre's code.")
    kind = serializers.ChoiceField(choices=EXAM_KINDS)
    starts_at = MillisecondDateTimeField()
    categories = serializers.ListField(child=serializers.CharField())
    capacity = serializers.IntegerField(min_value=1)
    free = serializers.IntegerField(min_value=0)


@extend_schema_serializer(component_name="Booking")
class BookingSchema(serializers.Serializer):
    id = serializers.IntegerField()
    slot = SlotSchema(help_text="Inside an Application, the slot's `free` may be up to a minute old (another "
                                "applicant's booking does not renew the copy); `GET /exam-slots/{id}` is current.")
    status = serializers.ChoiceField(choices=BOOKING_STATUSES)


@extend_schema_serializer(component_name="ExamAttempt")
class ExamAttemptSchema(serializers.Serializer):
    at = MillisecondDateTimeField()
    passed = serializers.BooleanField()
    score = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="Exam")
class ExamSchema(serializers.Serializer):
    booking = BookingSchema(allow_null=True, help_text="The latest booking of this kind (its `status` says "
                                                       "whether it is still active); null before the first.")
    attempts = ExamAttemptSchema(many=True)


@extend_schema_serializer(component_name="Exams")
class ExamsSchema(serializers.Serializer):
    theory = ExamSchema()
    practical = ExamSchema()


@extend_schema_serializer(component_name="Fee")
class FeeSchema(serializers.Serializer):
    amount_kzt = serializers.IntegerField()
    paid = serializers.BooleanField()


@extend_schema_serializer(component_name="Photo")
class PhotoSchema(serializers.Serializer):
    captured = serializers.BooleanField()
    source = serializers.ChoiceField(choices=PhotoSource.choices, allow_null=True)


# Not "Decision": a generated client names its local variable after the model, and the member is `decision` too.
@extend_schema_serializer(component_name="OfficerDecision")
class DecisionSchema(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "refuse"])
    reason_code = serializers.CharField(allow_null=True)
    decided_at = MillisecondDateTimeField()


@extend_schema_serializer(component_name="Licence")
class LicenceSchema(serializers.Serializer):
    number = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    issued_on = serializers.DateField()
    expires_on = serializers.DateField()
    status = serializers.ChoiceField(choices=LICENCE_STATUSES)
    verification_code = serializers.CharField(allow_null=True, help_text="The text the card's QR code holds "
                                                                         "(`KZDL1:`, COSE_Sign1, Base45).")


@extend_schema_serializer(component_name="HistoryEntry")
class HistorySchema(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    at = MillisecondDateTimeField()


@extend_schema_serializer(component_name="ConsentState")
class ConsentSchema(serializers.Serializer):
    state = serializers.ChoiceField(choices=Consent.State.choices)
    granted_at = MillisecondDateTimeField(allow_null=True)
    withdrawn_at = MillisecondDateTimeField(allow_null=True)


@extend_schema_serializer(component_name="Actor")
class ActorSchema(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PersonalDataAccess.ActorKind.choices)
    role = serializers.CharField(allow_null=True)
    organisation = serializers.CharField(allow_null=True)


class ApplicationSerializer(serializers.ModelSerializer):
    """An application, as the contract (API v1) shapes it. Every member is always sent; `null` where it says."""

    # Reads prefetched relations only: no query per row in a list.

    checks = serializers.SerializerMethodField()
    refusal = serializers.SerializerMethodField()
    exams = serializers.SerializerMethodField()
    fee = serializers.SerializerMethodField()
    photo = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    licence = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    consent = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    categories = serializers.ListField(child=serializers.CharField(), read_only=True)
    foreign_licence = ForeignLicenceSerializer(read_only=True, allow_null=True)
    pickup_tson = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True,
                                               help_text="The centre's code; null before submit.")
    language = serializers.SerializerMethodField()
    created_at = MillisecondDateTimeField(read_only=True)
    updated_at = MillisecondDateTimeField(read_only=True)

    class Meta:
        model = Application
        fields = ["id", "number", "service", "channel", "status", "iin", "categories", "replacement_reason",
                  "foreign_licence", "checks", "refusal", "exams", "fee", "photo", "decision", "licence", "history",
                  "consent", "pickup_tson", "language", "created_at", "updated_at"]
        # A response shape: everything in it is always sent, so the schema marks every member required.
        read_only_fields = fields
        extra_kwargs = {"number": {"help_text": "Assigned on submit; null before."}}

    @extend_schema_field(serializers.ChoiceField(choices=EXAM_LANGUAGES, allow_null=True,
                                                 help_text="The exam language; null before submit."))
    def get_language(self, application):
        return application.language or None

    @extend_schema_field(CheckSchema(many=True))
    def get_checks(self, application):
        return [{"registry": c.registry, "outcome": c.outcome, "code": c.code or None,
                 "checked_at": _time(c.checked_at)} for c in application.checks.all()]

    @extend_schema_field(RefusalSchema(allow_null=True))
    def get_refusal(self, application):
        if application.status != Status.REFUSED:
            return None
        return {"code": application.refusal_code, "message": application_refusal_message(application),
                "decided_at": _time(application.decided_at)}

    @extend_schema_field(ExamsSchema(allow_null=True))
    def get_exams(self, application):
        if not application.has_exams:
            return None
        # The exams app registers what it shows (applications never imports it).
        return sections.render("exams", application, default={"theory": {"booking": None, "attempts": []},
                                                                 "practical": {"booking": None, "attempts": []}})

    @extend_schema_field(FeeSchema)
    def get_fee(self, application):
        return {"amount_kzt": ServicePolicy.current_fee_kzt(), "paid": application.fee_paid_at is not None}

    @extend_schema_field(PhotoSchema)
    def get_photo(self, application):
        return {"captured": bool(application.photo_source), "source": application.photo_source or None}

    @extend_schema_field(DecisionSchema(allow_null=True))
    def get_decision(self, application):
        if application.status == Status.REFUSED and application.refusal_code == "officer_refused":
            return {"decision": "refuse", "reason_code": application.officer_reason_code or None,
                    "decided_at": _time(application.decided_at)}
        if application.status in (Status.APPROVED, Status.PRINTED, Status.ISSUED):
            return {"decision": "approve", "reason_code": None, "decided_at": _time(application.decided_at)}
        return None

    @extend_schema_field(LicenceSchema(allow_null=True))
    def get_licence(self, application):
        licence = getattr(application, "licence_record", None)  # select_related: no query when there is none
        if licence is None:
            return None
        card = next((card for card in licence.cards.all() if card.superseded_at is None), None)
        return {"number": licence.number, "categories": licence.categories,
                "issued_on": licence.issued_on.isoformat(), "expires_on": licence.expires_on.isoformat(),
                "status": licence.current_status(), "verification_code": card.verification_code if card else None}

    @extend_schema_field(HistorySchema(many=True))
    def get_history(self, application):
        return [{"status": change.to_status, "at": _time(change.at)} for change in application.history.all()]

    @extend_schema_field(ConsentSchema(allow_null=True))
    def get_consent(self, application):
        consent = getattr(application, "consent", None)
        if consent is None:
            return None
        return {"state": consent.state, "granted_at": _time(consent.granted_at),
                "withdrawn_at": _time(consent.withdrawn_at)}


_shape = ApplicationSerializer()


def application_json(application: Application) -> dict:
    """One Application as the contract shows it, rendered by one serializer kept for the process: a ModelSerializer
    builds and deep-copies its fields for every instance, which costs more than rendering an application. Rendering
    reads the application only (no per-call state on the serializer), so threads may share it."""
    return _shape.to_representation(application)


@extend_schema_serializer(component_name="AccessLogEntry")
class AccessLogEntrySerializer(serializers.ModelSerializer):
    at = MillisecondDateTimeField()
    actor = serializers.SerializerMethodField()
    registry = serializers.SerializerMethodField()
    purpose = serializers.SerializerMethodField()
    what = serializers.SerializerMethodField()

    class Meta:
        model = PersonalDataAccess
        fields = ["at", "actor", "registry", "purpose", "what"]

    @extend_schema_field(ActorSchema)
    def get_actor(self, entry):
        organisation = entry.actor_organisation.name if entry.actor_organisation_id else None
        return {"kind": entry.actor_kind, "role": entry.role or None, "organisation": organisation}

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="For a registry request: which registry "
                                                                           "(a check's registry, or `sms`)."))
    def get_registry(self, entry):
        return entry.registry or None

    @extend_schema_field(serializers.CharField())
    def get_purpose(self, entry):
        return str(PersonalDataAccess.Purpose(entry.purpose).label)

    @extend_schema_field(serializers.CharField())
    def get_what(self, entry):
        return describe_what(entry.what)


class SubmitSerializer(serializers.Serializer):
    phone = serializers.RegexField(PHONE_PATTERN, error_messages={"invalid": _("Use +7 and 10 digits.")})
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=EXAM_LANGUAGES, help_text="The exam language.")
    pickup_tson = serializers.SlugField(max_length=32, help_text="The code of a centre that offers `tson`.")


class CentreSerializer(serializers.ModelSerializer):
    # In the request's language (Accept-Language); the Kazakh name where no translation is filled in.
    name = serializers.CharField(source="name_in", read_only=True, help_text="In the request's language.")
    city = serializers.CharField(source="city_in", read_only=True, help_text="In the request's language.")
    services = serializers.ListField(child=serializers.ChoiceField(choices=["tson", "exams"]), read_only=True)

    class Meta:
        model = Centre
        fields = ["code", "name", "city", "services"]


@extend_schema_serializer(component_name="Payment")
class PaymentSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    amount_kzt = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=["pending", "paid", "declined"], read_only=True)
    pay_url = serializers.SerializerMethodField(help_text="Absolute: the provider's payment page (`POST` it "
                                                          "`{\"outcome\"}` in sandbox mode); null at the desk.")
    method = serializers.ChoiceField(choices=["online", "desk"], read_only=True)
    receipt = serializers.SerializerMethodField(help_text="The desk's receipt number; null online.")
    created_at = MillisecondDateTimeField(read_only=True)
    decided_at = MillisecondDateTimeField(read_only=True, allow_null=True)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_pay_url(self, payment):
        return payment.pay_url or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_receipt(self, payment):
        return payment.receipt or None


class DeskPaymentSerializer(serializers.Serializer):
    receipt = serializers.CharField(max_length=64, help_text="The number on the desk's receipt.")


class PhotoUploadSerializer(serializers.Serializer):
    photo = serializers.FileField(help_text="JPEG or PNG, portrait, at least 413×531 pixels, at most 5 MB.")


class HandOverSerializer(serializers.Serializer):
    identity_checked = serializers.BooleanField(help_text="The operator checked the holder's identity document.")


class LicenceVerifyQuerySerializer(serializers.Serializer):
    code = serializers.CharField(max_length=2000, help_text="The text of the card's QR code (`KZDL1:...`).")


@extend_schema_serializer(component_name="Holder")
class HolderSchema(serializers.Serializer):
    surname = serializers.CharField()
    initials = serializers.CharField()


@extend_schema_serializer(component_name="LicenceVerification")
class LicenceVerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    status = serializers.ChoiceField(choices=LICENCE_STATUSES, required=False,
                                     help_text="Absent for a forged or unreadable code.")
    number = serializers.CharField(required=False)
    categories = serializers.ListField(child=serializers.CharField(), required=False)
    expires_on = serializers.DateField(required=False)
    holder = HolderSchema(required=False)
