"""The channel side of API v1 (shared/api-v1.md): thin views over applications.services."""

import hashlib
import hmac

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.models import ChannelClient, Role, User
from config.api import CursorPagination, problem, problem_responses
from config.languages import current_language

from . import representation_cache, services
from .models import Application, Centre, Channel, PersonalDataAccess, StatusChange
from .serializers import (
    AccessLogEntrySerializer,
    ApplicationCreateSerializer,
    ApplicationSerializer,
    CentreSerializer,
    ConsentCodeSerializer,
    SubmitSerializer,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER,
    description="The same key and body within 24 h replays the first answer (header Idempotent-Replayed: true). "
                "Required from channel clients on POST /applications.")

# Staff who may read any application; each of their reads lands in the access log.
READING_STAFF = (Role.TSON_OPERATOR, Role.POLICE_OFFICER)


class IsChannelOrApplicationStaff(BasePermission):
    """Channel clients and the staff roles that handle applications; others get 404, never 403."""

    def has_permission(self, request, view):
        user = request.user
        return isinstance(user, ChannelClient) or (isinstance(user, User) and user.has_role(*READING_STAFF))


def applications_for(caller):
    """The applications a caller may see: a channel its own organisation's; handling staff any."""
    queryset = Application.objects.select_related("consent", "pickup_tson").prefetch_related(
        "checks", Prefetch("history", queryset=StatusChange.objects.order_by("at", "id")))
    if isinstance(caller, ChannelClient):
        return queryset.filter(organisation=caller.organisation)
    if isinstance(caller, User) and caller.has_role(*READING_STAFF):
        return queryset
    return queryset.none()


def may_read(caller, organisation_id) -> bool:
    """The same rule as applications_for, on what the cache remembers of an application."""
    if isinstance(caller, ChannelClient):
        return organisation_id == caller.organisation.pk
    return isinstance(caller, User) and caller.has_role(*READING_STAFF)


class ApplicationViewMixin:
    permission_classes = [IsChannelOrApplicationStaff]

    def get_application(self, request, pk, *, log_read: bool = False) -> Application:
        application = next(iter(applications_for(request.user).filter(pk=pk).order_by()[:1]), None)  # by key: no sort
        if application is None:
            from django.http import Http404

            raise Http404
        if log_read and isinstance(request.user, User):
            services.log_staff_read(application=application, user=request.user,
                                    purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
        return application

    def respond(self, application: Application, status_code=status.HTTP_200_OK, *, reload: bool = True) -> Response:
        """The Application as the contract shows it; after a change it is read again with its relations."""
        if reload:
            application = applications_for(self.request.user).get(pk=application.pk)
        return Response(ApplicationSerializer(application).data, status=status_code)


class ApplicationListCreate(ApplicationViewMixin, ListAPIView):
    serializer_class = ApplicationSerializer
    pagination_class = CursorPagination

    def get_queryset(self):
        queryset = applications_for(self.request.user)
        if status_filter := self.request.query_params.get("status"):
            queryset = queryset.filter(status=status_filter)
        if iin := self.request.query_params.get("iin"):
            queryset = queryset.filter(iin=iin)
        return queryset

    @extend_schema(description=(
        "Opens an application: `201` in `consent_pending`. Right after, the consent service is asked (a background "
        "task) to send the citizen a code; until it has, `POST .../consent` answers `409 wrong_status`. An IIN the "
        "registries do not know is refused within seconds with `person_not_found` (read the application to see it)."),
        request=ApplicationCreateSerializer, responses={201: ApplicationSerializer, **problem_responses(
        "invalid_iin", "invalid_category", "category_prerequisite", "missing_field", "validation_error",
        "idempotency_key_missing", "malformed_request", "channel_not_allowed", "not_found",
        "active_application_exists", "idempotency_key_in_use", "idempotency_key_reused", "unsupported_media_type")},
        parameters=[IDEMPOTENCY_KEY])
    @idempotent(required_for_channels=True)
    def post(self, request):
        serializer = ApplicationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        caller = request.user
        channel = caller.channel if isinstance(caller, ChannelClient) else Channel.TSON_BRANCH
        if isinstance(caller, User) and not caller.has_role(Role.TSON_OPERATOR):
            return problem("not_found", _("Not found."), status_code=404)
        application = services.start_application(
            service=data["service"], iin=data["iin"], categories=data.get("categories") or [], channel=channel,
            actor=caller, replacement_reason=data.get("replacement_reason"),
            foreign_licence=_json_ready(data.get("foreign_licence")), language=current_language(),
        )
        return self.respond(application, status.HTTP_201_CREATED, reload=False)


def _json_ready(foreign_licence):
    if not foreign_licence:
        return None
    return {**foreign_licence, "valid_until": foreign_licence["valid_until"].isoformat()}


class ApplicationDetail(ApplicationViewMixin, APIView):
    def cache_keys_to_prefetch(self, request):
        """Read by the throttle in its round trip to the cache (config.api)."""
        return representation_cache.keys(self.kwargs["pk"], current_language()) if request.method == "GET" else ()

    @extend_schema(responses={200: ApplicationSerializer, **problem_responses("not_found")})
    def get(self, request, pk):
        caller, current, prefetched = request.user, current_language(), getattr(request, "prefetched_cache", None)
        cached = representation_cache.get(pk, current, prefetched=prefetched)
        if cached is not None and may_read(caller, cached["organisation_id"]):
            if isinstance(caller, User):
                services.log_staff_read(application=Application(pk=pk), user=caller,
                                        purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
            # Already rendered: the bytes go out as they were stored.
            return HttpResponse(cached["body"], content_type="application/json")
        version_read = representation_cache.version(pk, prefetched=prefetched)  # read before the database is
        application = self.get_application(request, pk, log_read=True)
        body = ApplicationSerializer(application).data
        representation_cache.put(pk, current, version_read=version_read, organisation_id=application.organisation_id,
                                 body=JSONRenderer().render(body))
        return Response(body)


class ConsentConfirm(ApplicationViewMixin, APIView):
    @extend_schema(request=ConsentCodeSerializer, parameters=[IDEMPOTENCY_KEY], responses={
        200: ApplicationSerializer, **problem_responses(
            "invalid_consent_code", "consent_code_expired", "missing_field", "validation_error", "not_found",
            "wrong_status", "registry_unavailable", "idempotency_key_in_use", "idempotency_key_reused")})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk)
        serializer = ConsentCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.confirm_consent(application=application, code=serializer.validated_data["code"],
                                               actor=request.user)
        return self.respond(application)


class ConsentResend(ApplicationViewMixin, APIView):
    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses={202: None, **problem_responses(
        "not_found", "wrong_status", "resend_limit_reached", "throttled")})
    @idempotent()
    def post(self, request, pk):
        services.resend_consent_code(application=self.get_application(request, pk), actor=request.user)
        return Response(status=status.HTTP_202_ACCEPTED)


class ConsentWithdraw(ApplicationViewMixin, APIView):
    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY],
                   responses={200: ApplicationSerializer, **problem_responses("not_found")})
    @idempotent()
    def post(self, request, pk):
        application = services.withdraw_consent(application=self.get_application(request, pk), actor=request.user)
        return self.respond(application)


class ApplicationSubmit(ApplicationViewMixin, APIView):
    @extend_schema(request=SubmitSerializer, parameters=[IDEMPOTENCY_KEY], responses={
        200: ApplicationSerializer, **problem_responses("missing_field", "validation_error", "not_found",
                                                        "wrong_status")})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk)
        serializer = SubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.submit_application(application=application, actor=request.user,
                                                  **serializer.validated_data)
        return self.respond(application)


class ApplicationCancel(ApplicationViewMixin, APIView):
    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY],
                   responses={200: ApplicationSerializer, **problem_responses("not_found", "wrong_status")})
    @idempotent()
    def post(self, request, pk):
        application = services.cancel_application(application=self.get_application(request, pk), actor=request.user)
        return self.respond(application)


class CentreList(ListAPIView):
    """Public: the centres, with what each offers (a TSON desk, exams)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = CentreSerializer

    class Pagination(CursorPagination):
        ordering = "code"

    pagination_class = Pagination
    queryset = Centre.objects.filter(is_active=True)


class AccessLog(ApplicationViewMixin, ListAPIView):
    serializer_class = AccessLogEntrySerializer

    class Pagination(CursorPagination):
        ordering = ("at", "id")

    pagination_class = Pagination

    def get_queryset(self):
        application = self.get_application(self.request, self.kwargs["pk"])
        return application.access_log.select_related("actor_organisation")


class ConsentCallback(APIView):
    """The consent service reports a decline. Only a correctly signed body is believed; a replay changes nothing."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []  # the consent service, proven by its signature

    @extend_schema(exclude=True)
    def post(self, request):
        signature = request.headers.get("X-Signature", "")
        expected = "sha256=" + hmac.new(settings.REGISTRY_CALLBACK_SECRET.encode(), request.body,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return problem("not_authenticated", _("The callback signature is not valid."), status_code=401)
        if request.data.get("status") == "declined" and request.data.get("request_id"):
            services.record_consent_decline(request_id=str(request.data["request_id"]))
        return Response(status=status.HTTP_204_NO_CONTENT)
