"""The channel side of API v1 (shared/api-v1.md): thin views over applications.services."""

import hashlib
import hmac
import logging

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import IDEMPOTENCY_CODES, idempotency_key_parameter, idempotent
from accounts.models import ChannelClient, Role
from config.api import CursorPagination, problem, problem_responses
from config.languages import current_language

from . import representation_cache, rights, services
from .cards import card_filename, card_pdf
from .models import Application, Centre, Channel, Licence, Payment, PersonalDataAccess
from .receipts import receipt_filename, receipt_pdf
from .rights import Step
from .serializers import (
    AccessLogEntrySerializer,
    ApplicationCreateRequest,
    ApplicationListQuerySerializer,
    ApplicationSerializer,
    CentreSerializer,
    ConsentCodeSerializer,
    DeskPaymentSerializer,
    HandOverSerializer,
    LicenceVerificationSerializer,
    LicenceVerifyQuerySerializer,
    PaymentSerializer,
    PhotoUploadSerializer,
    SubmitSerializer,
    application_create_serializer,
    application_json,
)
from .verification import jwks

logger = logging.getLogger(__name__)


class StepPermission(BasePermission):
    """The view's step for this method (`steps`), checked against the rights table; others get 404, never 403."""

    def has_permission(self, request, view):
        step = view.step_for(request.method)
        if step is None:  # a method the view does not take (405), or OPTIONS: for any caller with credentials
            return bool(getattr(request.user, "is_authenticated", False))
        return rights.may_take(request.user, step)


class ApplicationViewMixin:
    permission_classes = [StepPermission]
    steps: dict[str, Step] = {}  # HTTP method -> the step it takes

    def step_for(self, method: str) -> Step | None:
        return self.steps.get("GET" if method == "HEAD" else method)

    def get_application(self, request, pk, *, log_read: bool = False, full: bool = True) -> Application:
        step = self.step_for(request.method)
        application = next(iter(rights.applications_for(request.user, step, full=full).filter(pk=pk).order_by()[:1]),
                           None)
        if application is None:
            raise Http404
        if log_read and rights.reads_are_logged(request.user):
            services.log_staff_read(application=application, user=request.user,
                                    purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
        return application

    def respond(self, application: Application, status_code=status.HTTP_200_OK, *, reload: bool = True) -> Response:
        """The Application as the contract shows it; after a change it is read again with its relations."""
        if reload:
            application = rights.applications_for(self.request.user).get(pk=application.pk)
        return Response(application_json(application), status=status_code)


class ApplicationListCreate(ApplicationViewMixin, ListAPIView):
    steps = {"GET": Step.LIST, "POST": Step.CREATE}
    serializer_class = ApplicationSerializer
    pagination_class = CursorPagination

    def get_queryset(self):
        query = ApplicationListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        queryset = rights.applications_for(self.request.user, Step.LIST)
        if status_filter := query.validated_data.get("status"):
            queryset = queryset.filter(status=status_filter)
        if iin := query.validated_data.get("iin"):
            queryset = queryset.filter(iin=iin)
        return queryset

    @extend_schema(
        description="The caller's applications, newest first: a channel client sees its own organisation's; a "
                    "`tson_operator` or `police_officer` sees every application, and **every application a staff "
                    "list shows is written to that application's access log** (a read of the citizen's personal "
                    "data, purpose case handling). Any other role: `404`.",
        parameters=[ApplicationListQuerySerializer],
        responses={200: ApplicationSerializer(many=True), **problem_responses("validation_error", "not_found")})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        if rights.reads_are_logged(request.user):
            services.log_staff_list_read(application_ids=[application.pk for application in page], user=request.user,
                                         purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        description="Opens an application: `201` in `consent_pending`. Right after, the consent service is asked "
                    "(a background task) to send the citizen a code; until it has, `POST .../consent` answers `409 "
                    "wrong_status`. An IIN the registries do not know is refused within seconds with "
                    "`person_not_found` (read the application to see it). The body's shape depends on `service`: "
                    "`categories` is required for `first_issue` and `foreign_exchange` and may be omitted for a "
                    "`replacement` (then: those of the existing licence). Channel clients must send "
                    "`Idempotency-Key`; a `tson_operator` opens `foreign_exchange` only (channel `tson_branch`).",
        request=ApplicationCreateRequest, parameters=[idempotency_key_parameter(required=True)],
        responses={201: ApplicationSerializer, **problem_responses(
            "invalid_iin", "invalid_category", "category_prerequisite", "missing_field", "validation_error",
            "idempotency_key_missing", "channel_not_allowed", "not_found", "active_application_exists",
            *IDEMPOTENCY_CODES)})
    @idempotent(required_for_channels=True, atomic=True)
    def post(self, request):
        serializer = application_create_serializer(request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        caller = request.user
        channel = caller.channel if isinstance(caller, ChannelClient) else Channel.TSON_BRANCH
        application = services.start_application(
            service=data["service"], iin=data["iin"], categories=data.get("categories") or [], channel=channel,
            actor=caller, replacement_reason=data.get("replacement_reason"),
            foreign_licence=_json_ready(data.get("foreign_licence")), language=current_language(),
            savepoint=False,  # @idempotent(atomic=True) rolls the view's transaction back whole on a conflict
        )
        return self.respond(application, status.HTTP_201_CREATED, reload=False)


def _json_ready(foreign_licence):
    if not foreign_licence:
        return None
    return {**foreign_licence, "valid_until": foreign_licence["valid_until"].isoformat()}


class ApplicationDetail(ApplicationViewMixin, APIView):
    steps = {"GET": Step.READ}

    def cache_keys_to_prefetch(self, request):
        """Read by the throttle in its round trip to the cache (config.api)."""
        return representation_cache.keys(self.kwargs["pk"], current_language()) if request.method == "GET" else ()

    @extend_schema(description="The application. A read by a `tson_operator` or `police_officer` is written to its "
                               "access log.",
                   responses={200: ApplicationSerializer, **problem_responses("not_found")})
    def get(self, request, pk):
        caller, current, prefetched = request.user, current_language(), getattr(request, "prefetched_cache", None)
        cached = representation_cache.get(pk, current, prefetched=prefetched)
        if cached is not None and rights.may_read(caller, cached["organisation_id"]):
            if rights.reads_are_logged(caller):
                services.log_staff_read(application=Application(pk=pk), user=caller,
                                        purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
            # Already rendered: the bytes go out as they were stored.
            return HttpResponse(cached["body"], content_type="application/json")
        version_read = representation_cache.version(pk, prefetched=prefetched)  # read before the database is
        application = self.get_application(request, pk, log_read=True)
        body = application_json(application)
        representation_cache.put(pk, current, version_read=version_read, organisation_id=application.organisation_id,
                                 body=JSONRenderer().render(body))
        return Response(body)


class ConsentConfirm(ApplicationViewMixin, APIView):
    steps = {"POST": Step.CONSENT}

    @extend_schema(
        description="The code the citizen received. A wrong code answers `400 invalid_consent_code` with "
                    "`attempts_left`; the fifth wrong code answers it with `attempts_left: 0` and the application "
                    "is refused with `consent_failed`.",
        request=ConsentCodeSerializer, parameters=[idempotency_key_parameter()], responses={
            200: ApplicationSerializer, **problem_responses(
                "invalid_consent_code", "consent_code_expired", "missing_field", "validation_error", "not_found",
                "wrong_status", "registry_unavailable", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk)
        serializer = ConsentCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.confirm_consent(application=application, code=serializer.validated_data["code"],
                                               actor=request.user)
        return self.respond(application)


class ConsentResend(ApplicationViewMixin, APIView):
    steps = {"POST": Step.CONSENT}

    @extend_schema(
        description="A new consent code is sent to the citizen (the old one dies). Too soon after the last one: "
                    "`429 throttled` with `retry_after` (seconds, also the `Retry-After` header).",
        request=None, parameters=[idempotency_key_parameter()], responses={
            202: OpenApiResponse(description="The new code is on its way."), **problem_responses(
                "not_found", "wrong_status", "resend_limit_reached", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        services.resend_consent_code(application=self.get_application(request, pk), actor=request.user)
        return Response(status=status.HTTP_202_ACCEPTED)


class ConsentWithdraw(ApplicationViewMixin, APIView):
    steps = {"POST": Step.CONSENT}

    @extend_schema(
        description="The citizen takes consent back: no registry is asked anything more, and an application that "
                    "can still be cancelled is cancelled. Withdrawing twice changes nothing.",
        request=None, parameters=[idempotency_key_parameter()],
        responses={200: ApplicationSerializer, **problem_responses("not_found", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = services.withdraw_consent(application=self.get_application(request, pk), actor=request.user)
        return self.respond(application)


class ApplicationSubmit(ApplicationViewMixin, APIView):
    steps = {"POST": Step.SUBMIT}

    @extend_schema(
        description="The citizen's form, on an `eligible` application: the number is assigned, and the "
                    "application moves on to `theory_exam` or `formalization`.",
        request=SubmitSerializer, parameters=[idempotency_key_parameter()], responses={
            200: ApplicationSerializer, **problem_responses("missing_field", "validation_error", "not_found",
                                                            "wrong_status", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk)
        serializer = SubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.submit_application(application=application, actor=request.user,
                                                  **serializer.validated_data)
        return self.respond(application)


class ApplicationCancel(ApplicationViewMixin, APIView):
    steps = {"POST": Step.CANCEL}

    @extend_schema(description="Cancelled before the police review; later: `409 wrong_status`.",
                   request=None, parameters=[idempotency_key_parameter()],
                   responses={200: ApplicationSerializer, **problem_responses("not_found", "wrong_status",
                                                                              *IDEMPOTENCY_CODES)})
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

    @extend_schema(responses={200: CentreSerializer(many=True), **problem_responses(
        "validation_error", authenticated=False)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AccessLog(ApplicationViewMixin, ListAPIView):
    steps = {"GET": Step.ACCESS_LOG}
    serializer_class = AccessLogEntrySerializer

    class Pagination(CursorPagination):
        ordering = ("at", "id")

    pagination_class = Pagination

    def get_queryset(self):
        application = self.get_application(self.request, self.kwargs["pk"])
        return application.access_log.select_related("actor_organisation")

    @extend_schema(description="Every access to this application's personal data, oldest first, registry requests "
                               "included. For the channel that follows the application (a `tson_operator` for a "
                               "TSON branch's), not for the police.",
                   responses={200: AccessLogEntrySerializer(many=True),
                              **problem_responses("not_found", "validation_error")})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


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
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return problem("not_authenticated", _("The callback signature is not valid."), status_code=401)
        if request.data.get("status") == "declined" and request.data.get("request_id"):
            services.record_consent_decline(request_id=str(request.data["request_id"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- formalisation: the state fee and the photo ---------------------------------------------------------------


class PaymentCreate(ApplicationViewMixin, APIView):
    steps = {"POST": Step.PAY}

    @extend_schema(
        description="An online payment of the state fee (`formalization` only). No body: the amount is policy, and "
                    "an amount sent is ignored. Asked again while a payment is pending (or twice at once), it "
                    "answers that same payment. Open `pay_url` (absolute) to pay; the provider confirms with a "
                    "signed callback. A declined payment leaves the fee unpaid: create another.",
        request=None, parameters=[idempotency_key_parameter(required=True)],
        responses={201: PaymentSerializer, **problem_responses(
            "not_found", "wrong_status", "idempotency_key_missing", "registry_unavailable", *IDEMPOTENCY_CODES)})
    @idempotent(required_for_channels=True)
    def post(self, request, pk):
        payment = services.create_payment(application=self.get_application(request, pk, full=False),
                                          actor=request.user)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class PaymentDesk(ApplicationViewMixin, APIView):
    steps = {"POST": Step.DESK_PAYMENT}

    @extend_schema(
        description="`tson_operator`: the state fee paid at the desk, with the receipt number. A second payment "
                    "is `409 wrong_status`.",
        request=DeskPaymentSerializer, parameters=[idempotency_key_parameter()],
        responses={200: PaymentSerializer, **problem_responses(
            "missing_field", "validation_error", "not_found", "wrong_status", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk, full=False)
        serializer = DeskPaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.pay_at_desk(application=application, receipt=serializer.validated_data["receipt"],
                                       actor=request.user)
        return Response(PaymentSerializer(payment).data)


class PaymentReceipt(ApplicationViewMixin, APIView):
    steps = {"GET": Step.PAY}

    @extend_schema(
        description="The receipt of a paid payment, a PDF in the application's language (`Accept-Language` where "
                    "it has none): the amount, the date, the application number and the payment id.",
        responses={(200, "application/pdf"): OpenApiResponse(description="The receipt."),
                   **problem_responses("not_found")})
    def get(self, request, pk, payment_id):
        application = self.get_application(request, pk, full=False)
        payment = (Payment.objects.select_related("application").filter(
            pk=payment_id, application=application, status=Payment.State.PAID).first())
        if payment is None:
            raise Http404
        response = HttpResponse(receipt_pdf(payment, application.notify_language or current_language()),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{receipt_filename(payment)}"'
        response["Cache-Control"] = "private, no-store"
        return response


class PhotoUpload(ApplicationViewMixin, APIView):
    steps = {"PUT": Step.PHOTO}
    parser_classes = [MultiPartParser]

    @extend_schema(
        description="`tson_operator`: the licence photo, multipart field `photo`: JPEG or PNG, portrait, at least "
                    "413×531 pixels, at most 5 MB (the image itself is read, not its name); else `400 "
                    "invalid_photo` with the reason, for uploads up to 10 MB. A larger body is refused unread.",
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={200: ApplicationSerializer, **problem_responses(
            "invalid_photo", "missing_field", "not_found", "wrong_status")})
    def put(self, request, pk):
        application = self.get_application(request, pk, full=False, log_read=True)
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.PHOTO_UPLOAD_MAX_BYTES + 64 * 1024:
            return problem("invalid_photo", _("The photo is larger than 10 MB."), errors={
                "photo": [_("The photo is larger than 10 MB.")]})
        upload = request.FILES.get("photo")
        if upload is None:
            return problem("missing_field", _("A required field is missing."),
                           errors={"photo": [_("Attach the photo (field “photo”).")]})
        services.capture_photo(application=application, upload=upload, actor=request.user)
        return self.respond(application)


class PaymentCallback(APIView):
    """The payment provider's word on a payment: signed (HMAC over the timestamp, the nonce and the body), fresh, and
    never replayed; anything else changes nothing and is logged."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(exclude=True)
    def post(self, request):
        verdict = services.verify_payment_callback(
            body=request.body, timestamp=request.headers.get("X-Payment-Timestamp", ""),
            nonce=request.headers.get("X-Payment-Nonce", ""), signature=request.headers.get("X-Payment-Signature", ""))
        if not verdict.accepted:
            logger.warning("payment callback refused (%s) from %s", verdict.reason, request.META.get("REMOTE_ADDR"))
            return problem("not_authenticated", _("The callback is not valid (%(reason)s).") % {
                "reason": verdict.reason}, status_code=401)
        data = request.data if isinstance(request.data, dict) else {}
        outcome = services.record_payment_outcome(reference=str(data.get("reference", "")),
                                                  status=str(data.get("status", "")),
                                                  amount_kzt=data.get("amount_kzt"))
        return Response({"outcome": outcome})



# --- the licence: hand-over, verification, the published keys ---------------------------------------------------


class HandOver(ApplicationViewMixin, APIView):
    steps = {"POST": Step.HAND_OVER}

    @extend_schema(
        description="`tson_operator`: the printed card handed to its holder, their identity document checked "
                    "(`identity_checked: true`). For a replacement the old licence becomes `replaced`, here and in "
                    "the licence registry.",
        request=HandOverSerializer, parameters=[idempotency_key_parameter()],
        responses={200: ApplicationSerializer, **problem_responses(
            "missing_field", "validation_error", "not_found", "wrong_status", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk, full=False, log_read=True)
        serializer = HandOverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.hand_over(application=application, actor=request.user,
                           identity_checked=serializer.validated_data["identity_checked"])
        return self.respond(application)


class LicenceVerify(APIView):
    """Public: is this card's code genuine, and what is its licence now."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        description="Public. Checks the code's signature (COSE_Sign1, Ed25519, with the keys published at "
                    "`/.well-known/kualik-licence-keys.json`) and the licence's current status. A forged, altered "
                    "or unreadable code answers `{\"valid\": false}`. `valid` is true only for a genuine code of a "
                    "licence that is valid now; a card superseded by a reprint answers `replaced`.",
        parameters=[LicenceVerifyQuerySerializer],
        responses={200: LicenceVerificationSerializer, **problem_responses("missing_field", "validation_error",
                                                                           authenticated=False)})
    def get(self, request):
        query = LicenceVerifyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(services.verify_licence_code(query.validated_data["code"]))


class LicenceKeys(APIView):
    """Public: the keys that sign the cards' codes, as a JSON Web Key Set (anyone checks a card offline)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        response = Response(jwks())
        response["Cache-Control"] = "public, max-age=3600"
        return response


class LicenceCard(APIView):
    """The card as PDF: for the police, and for the channel that follows the application."""

    permission_classes = [StepPermission]

    def step_for(self, method):
        return Step.READ

    @extend_schema(
        description="The printed card (ID-1, front and back) as PDF: for a `police_officer` and for the channel "
                    "client that follows the application (anyone else: `404`). Each read is written to the access "
                    "log.",
        responses={(200, "application/pdf"): OpenApiResponse(description="The card."),
                   **problem_responses("not_found")})
    def get(self, request, number):
        caller = request.user
        licence = Licence.objects.select_related("application").filter(number=number).first()
        if licence is None or not (isinstance(caller, ChannelClient) or caller.has_role(Role.POLICE_OFFICER)):
            raise Http404
        if not rights.applications_for(caller, Step.READ, full=False).filter(pk=licence.application_id).exists():
            raise Http404
        card = services.current_card(licence)
        if card is None:
            raise Http404
        if rights.reads_are_logged(caller):
            services.log_staff_read(application=licence.application, user=caller,
                                    purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
        response = HttpResponse(card_pdf(licence, card, photo_bytes=services.desk_photo_bytes(licence.application)),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{card_filename(licence)}"'
        response["Cache-Control"] = "private, no-store"
        return response
