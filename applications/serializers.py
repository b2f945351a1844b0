"""The contract's shapes (shared/api-v1.md): thin, no rules here beyond the shape of the input."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api import MillisecondDateTimeField

from .access_log import describe_what
from .iin import validate_iin
from .models import Application, Centre, PersonalDataAccess, ReplacementReason, Service, ServicePolicy, Status
from .refusals import refusal_message


class ForeignLicenceSerializer(serializers.Serializer):
    country = serializers.RegexField(r"^[A-Z]{2}$", error_messages={"invalid": _("Use an ISO 3166-1 alpha-2 code.")})
    number = serializers.CharField(max_length=40)
    categories = serializers.ListField(child=serializers.CharField(max_length=4), allow_empty=False, max_length=15)
    valid_until = serializers.DateField()


class ApplicationCreateSerializer(serializers.Serializer):
    service = serializers.ChoiceField(choices=Service.choices)
    iin = serializers.CharField(max_length=12, validators=[validate_iin])
    categories = serializers.ListField(child=serializers.CharField(max_length=4), required=False, max_length=15)
    replacement_reason = serializers.ChoiceField(choices=ReplacementReason.choices, required=False, allow_null=True)
    foreign_licence = ForeignLicenceSerializer(required=False, allow_null=True)

    def validate(self, data):
        service = data["service"]
        if service != Service.REPLACEMENT and not data.get("categories"):
            raise serializers.ValidationError({"categories": [serializers.ErrorDetail(
                _("This field is required."), code="required")]})
        if service == Service.REPLACEMENT and not data.get("replacement_reason"):
            raise serializers.ValidationError({"replacement_reason": [serializers.ErrorDetail(
                _("This field is required."), code="required")]})
        if service == Service.FOREIGN_EXCHANGE and not data.get("foreign_licence"):
            raise serializers.ValidationError({"foreign_licence": [serializers.ErrorDetail(
                _("This field is required."), code="required")]})
        return data


class ConsentCodeSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^\d{6}$", error_messages={"invalid": _("The code is 6 digits.")})


def _time(value):
    return MillisecondDateTimeField().to_representation(value)


# Shapes of the nested members, for the OpenAPI schema.
class CheckSchema(serializers.Serializer):
    registry = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["pending", "passed", "failed", "error"])
    code = serializers.CharField(allow_null=True)
    checked_at = MillisecondDateTimeField(allow_null=True)


class RefusalSchema(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField(help_text="Which step refused and why, in the request's language.")
    decided_at = MillisecondDateTimeField()


class ExamAttemptSchema(serializers.Serializer):
    at = MillisecondDateTimeField()
    passed = serializers.BooleanField()
    score = serializers.IntegerField(allow_null=True)


class ExamSchema(serializers.Serializer):
    booking = serializers.JSONField(allow_null=True)
    attempts = ExamAttemptSchema(many=True)


class ExamsSchema(serializers.Serializer):
    theory = ExamSchema()
    practical = ExamSchema()


class FeeSchema(serializers.Serializer):
    amount_kzt = serializers.IntegerField()
    paid = serializers.BooleanField()


class PhotoSchema(serializers.Serializer):
    captured = serializers.BooleanField()
    source = serializers.ChoiceField(choices=["tson", "registry"], allow_null=True)


class DecisionSchema(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "refuse"])
    reason_code = serializers.CharField(allow_null=True)
    decided_at = MillisecondDateTimeField()


class LicenceSchema(serializers.Serializer):
    number = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    issued_on = serializers.DateField()
    expires_on = serializers.DateField()
    status = serializers.ChoiceField(choices=["valid", "replaced", "revoked", "expired"])
    verification_code = serializers.CharField()


class HistorySchema(serializers.Serializer):
    status = serializers.CharField()
    at = MillisecondDateTimeField()


class ConsentSchema(serializers.Serializer):
    state = serializers.CharField()
    granted_at = MillisecondDateTimeField(allow_null=True)
    withdrawn_at = MillisecondDateTimeField(allow_null=True)


class ActorSchema(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["registry", "staff", "channel", "citizen", "system"])
    role = serializers.CharField(allow_null=True)
    organisation = serializers.CharField(allow_null=True)


class ApplicationSerializer(serializers.ModelSerializer):
    """The Application of the contract. Reads prefetched relations only: no query per row in a list."""

    checks = serializers.SerializerMethodField()
    refusal = serializers.SerializerMethodField()
    exams = serializers.SerializerMethodField()
    fee = serializers.SerializerMethodField()
    photo = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    licence = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    consent = serializers.SerializerMethodField()
    pickup_tson = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_at = MillisecondDateTimeField(read_only=True)
    updated_at = MillisecondDateTimeField(read_only=True)

    class Meta:
        model = Application
        fields = ["id", "number", "service", "channel", "status", "iin", "categories", "replacement_reason",
                  "foreign_licence", "checks", "refusal", "exams", "fee", "photo", "decision", "licence", "history",
                  "consent", "pickup_tson", "language", "created_at", "updated_at"]

    @extend_schema_field(CheckSchema(many=True))
    def get_checks(self, application):
        return [{"registry": c.registry, "outcome": c.outcome, "code": c.code or None,
                 "checked_at": _time(c.checked_at)} for c in application.checks.all()]

    @extend_schema_field(RefusalSchema(allow_null=True))
    def get_refusal(self, application):
        if application.status != Status.REFUSED:
            return None
        return {"code": application.refusal_code, "message": refusal_message(application.refusal_code),
                "decided_at": _time(application.decided_at)}

    @extend_schema_field(ExamsSchema(allow_null=True))
    def get_exams(self, application):
        if not application.has_exams:
            return None
        # Bookings and attempts arrive with the exams stage; until then there are none to show.
        return {"theory": {"booking": None, "attempts": []}, "practical": {"booking": None, "attempts": []}}

    @extend_schema_field(FeeSchema)
    def get_fee(self, application):
        return {"amount_kzt": ServicePolicy.current_fee_kzt(), "paid": application.fee_paid_at is not None}

    @extend_schema_field(PhotoSchema)
    def get_photo(self, application):
        return {"captured": bool(application.photo_source), "source": application.photo_source or None}

    @extend_schema_field(DecisionSchema(allow_null=True))
    def get_decision(self, application):
        if application.status == Status.REFUSED and application.refusal_code == "officer_refused":
            return {"decision": "refuse", "reason_code": application.refusal_code,
                    "decided_at": _time(application.decided_at)}
        if application.status in (Status.APPROVED, Status.PRINTED, Status.ISSUED):
            return {"decision": "approve", "reason_code": None, "decided_at": _time(application.decided_at)}
        return None

    @extend_schema_field(LicenceSchema(allow_null=True))
    def get_licence(self, application):
        return None  # the licence exists from printing on (a later stage)

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

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_registry(self, entry):
        return entry.registry or None

    @extend_schema_field(serializers.CharField())
    def get_purpose(self, entry):
        return str(PersonalDataAccess.Purpose(entry.purpose).label)

    @extend_schema_field(serializers.CharField())
    def get_what(self, entry):
        return describe_what(entry.what)


class SubmitSerializer(serializers.Serializer):
    phone = serializers.RegexField(r"^\+7\d{10}$", error_messages={"invalid": _("Use +7 and 10 digits.")})
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=[("kk", "Қазақша"), ("ru", "Русский")])
    pickup_tson = serializers.SlugField(max_length=32)


class CentreSerializer(serializers.ModelSerializer):
    # In the request's language (Accept-Language); the Kazakh name where no translation is filled in.
    name = serializers.CharField(source="name_in", read_only=True, help_text="In the request's language.")
    city = serializers.CharField(source="city_in", read_only=True, help_text="In the request's language.")
    services = serializers.ListField(child=serializers.ChoiceField(choices=["tson", "exams"]), read_only=True)

    class Meta:
        model = Centre
        fields = ["code", "name", "city", "services"]
