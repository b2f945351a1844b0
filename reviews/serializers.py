"""The police side's request shapes (shared/api-v1.md): thin."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from applications.models import Channel, Service


class QueueQuerySerializer(serializers.Serializer):
    service = serializers.ChoiceField(choices=Service.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    centre = serializers.SlugField(max_length=32, required=False, help_text="The pickup TSON's code.")
    min_days_waiting = serializers.IntegerField(required=False, min_value=0, max_value=3650,
                                                help_text="Only those waiting at least this many days.")


# Not "Decision": a generated client names its local variable after the model, and the member is `decision` too.
@extend_schema_serializer(component_name="DecisionRequest")
class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "refuse"])
    reason_code = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                        help_text="For a refusal: a code of `GET /refusal-reasons`.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                    help_text="For a refusal: what the citizen reads, in the officer's words.")


class RefusalReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.SerializerMethodField(help_text="In the request's language.")

    def get_title(self, reason) -> str:
        return reason.title_in()


class ClaimSerializer(serializers.Serializer):
    officer = serializers.CharField(source="officer.username")
    until = serializers.DateTimeField(source="expires_at")


class ReprintSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why the card is printed again (spoiled, misprinted).")
