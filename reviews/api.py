"""The police side of API v1 (shared/api-v1.md): the review queue, the claim, the decision, the refusal catalogue.
`police_officer` only: any other caller with credentials gets 404."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import IDEMPOTENCY_CODES, idempotency_key_parameter, idempotent
from applications.api import ApplicationViewMixin, StepPermission
from applications.models import PersonalDataAccess, RefusalReason
from applications.rights import Step
from applications.selectors import applications_in_full
from applications.serializers import ApplicationSerializer
from applications.services import log_staff_list_read, reprint_card
from config.api import CursorPagination, MillisecondDateTimeField, problem_responses

from . import selectors, services
from .serializers import DecisionSerializer, QueueQuerySerializer, RefusalReasonSerializer, ReprintSerializer


class ReviewQueue(ListAPIView):
    """What waits for the police, oldest first."""

    permission_classes = [StepPermission]
    serializer_class = ApplicationSerializer

    class Pagination(CursorPagination):
        ordering = ("under_review_since", "id")

        def get_paginated_response(self, data):
            response = super().get_paginated_response(data)
            response.data["count"] = self.count
            return response

        def get_paginated_response_schema(self, schema):
            shape = super().get_paginated_response_schema(schema)
            shape["properties"]["count"] = {"type": "integer", "description": "How many wait, with these filters."}
            shape["required"].append("count")
            return shape

    pagination_class = Pagination

    def step_for(self, method):
        return Step.REVIEW

    def get_queryset(self):
        query = QueueQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.review_queue(**query.validated_data)

    def list(self, request, *args, **kwargs):
        queryset = self.get_queryset()
        self.paginator.count = queryset.count()
        page_ids = [application.pk for application in self.paginate_queryset(queryset)]
        by_id = applications_in_full().in_bulk(page_ids)
        page = [by_id[pk] for pk in page_ids]
        # Each application shown is a read of the citizen's personal data.
        log_staff_list_read(application_ids=page_ids, user=request.user,
                            purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
        return self.get_paginated_response(ApplicationSerializer(page, many=True).data)

    @extend_schema(
        description="`police_officer` only (anyone else: `404`). Applications `under_review`, the longest waiting "
                    "first, with filters and `count`. Each application listed is written to its access log.",
        parameters=[QueueQuerySerializer],
        responses={200: ApplicationSerializer(many=True), **problem_responses("validation_error", "not_found")})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class Claim(ApplicationViewMixin, APIView):
    steps = {"POST": Step.REVIEW}

    @extend_schema(
        description="The officer takes the application for review for a while (REVIEW_CLAIM_MINUTES), so that two "
                    "officers do not decide the same one; held by another officer: `409 claimed`. Opening the "
                    "application on the officer's page claims it too. Written to the access log.",
        request=None, parameters=[idempotency_key_parameter()],
        responses={200: inline_serializer("ReviewClaim", {"officer": serializers.CharField(),
                                                          "until": MillisecondDateTimeField()}),
                   **problem_responses("not_found", "wrong_status", "claimed", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        claim = services.claim_for_review(application=self.get_application(request, pk, full=False),
                                          officer=request.user)
        return Response({"officer": claim.officer.get_username(),
                         "until": MillisecondDateTimeField().to_representation(claim.expires_at)})


class Decision(ApplicationViewMixin, APIView):
    steps = {"POST": Step.REVIEW}

    @extend_schema(
        description="Approve, or refuse with a `reason_code` of the refusal catalogue and a `comment` (both "
                    "required for a refusal). Only `under_review` (else `409 wrong_status`); held by another "
                    "officer: `409 claimed`.",
        request=DecisionSerializer, parameters=[idempotency_key_parameter()],
        responses={200: ApplicationSerializer, **problem_responses(
            "missing_field", "validation_error", "not_found", "wrong_status", "claimed", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk, full=False, log_read=True)
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.decide_application(application=application, officer=request.user, **serializer.validated_data)
        return self.respond(application)


class RefusalReasons(ListAPIView):
    permission_classes = [StepPermission]
    serializer_class = RefusalReasonSerializer

    class Pagination(CursorPagination):
        ordering = ("position", "code")

    pagination_class = Pagination

    def step_for(self, method):
        return Step.REVIEW

    def get_queryset(self):
        return RefusalReason.objects.filter(is_active=True)

    @extend_schema(description="`police_officer` only (anyone else: `404`). The refusal catalogue, `title` in the "
                               "request's language.",
                   responses={200: RefusalReasonSerializer(many=True), **problem_responses("not_found",
                                                                                           "validation_error")})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class Print(ApplicationViewMixin, APIView):
    steps = {"POST": Step.PRINT}

    @extend_schema(
        description="`police_officer`: an approved application's licence is numbered and its card printed "
                    "(`printed`, waiting at the pickup TSON). The Application answered carries `licence`.",
        request=None, parameters=[idempotency_key_parameter()],
        responses={200: ApplicationSerializer, **problem_responses(
            "not_found", "wrong_status", "registry_unavailable", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk, full=False, log_read=True)
        services.print_licence(application=application, officer=request.user)
        return self.respond(application)


class Reprint(ApplicationViewMixin, APIView):
    steps = {"POST": Step.PRINT}

    @extend_schema(
        description="`police_officer`: a spoiled card printed again, with the reason (logged with the card). The "
                    "number stays; the earlier card's code is superseded.",
        request=ReprintSerializer, parameters=[idempotency_key_parameter()],
        responses={200: ApplicationSerializer, **problem_responses(
            "missing_field", "validation_error", "not_found", "wrong_status", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk, full=False, log_read=True)
        serializer = ReprintSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reprint_card(application=application, officer=request.user, reason=serializer.validated_data["reason"])
        return self.respond(application)
