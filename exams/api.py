"""The exams' side of API v1 (shared/api-v1.md): slots (public reads, examiners create), bookings (the channel's
step `book`), results (examiners). Thin views over exams.services."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import IDEMPOTENCY_CODES, idempotency_key_parameter, idempotent
from accounts.models import Role, User
from applications.api import ApplicationViewMixin
from applications.models import Centre, ExamLanguage, PersonalDataAccess
from applications.rights import Step
from applications.serializers import BookingSchema, SlotSchema
from applications.services import log_staff_list_read
from config.api import CursorPagination, problem_responses

from . import selectors, services
from .representation import booking_json, examiner_booking_json, slot_json
from .serializers import (
    BookingCreateSerializer,
    DayQuerySerializer,
    ResultSerializer,
    SlotCreateSerializer,
    SlotQuerySerializer,
)


def is_examiner(user) -> bool:
    return isinstance(user, User) and user.has_role(Role.EXAMINER)


class ReadsArePublicWritesForExaminers(BasePermission):
    """Anyone reads slots; only an examiner creates them. Anyone else with credentials gets 404, never 403."""

    def has_permission(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if not getattr(request.user, "is_authenticated", False):
            return False  # 401
        if not is_examiner(request.user):
            raise Http404
        return True


class ExaminersOnly(BasePermission):
    def has_permission(self, request, view):
        if not getattr(request.user, "is_authenticated", False):
            return False
        if not is_examiner(request.user):
            raise Http404
        return True


class SlotPagination(CursorPagination):
    ordering = ("starts_at", "id")


class ExamSlotListCreate(ListAPIView):
    permission_classes = [ReadsArePublicWritesForExaminers]
    serializer_class = SlotCreateSerializer  # what OPTIONS describes for POST
    pagination_class = SlotPagination

    def get_queryset(self):
        query = SlotQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.bookable_slots(**query.validated_data)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([slot_json(slot) for slot in page])

    @extend_schema(
        description="Public: future slots with at least one free seat, soonest first, each with its `free` count.",
        parameters=[SlotQuerySerializer],
        responses={200: SlotSchema(many=True), **problem_responses("validation_error", authenticated=False)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        description="`examiner` only (anyone else: `404`). A slot at a centre that offers `exams`, in the future.",
        request=SlotCreateSerializer, parameters=[idempotency_key_parameter()],
        responses={201: SlotSchema, **problem_responses("missing_field", "validation_error", "not_found",
                                                        *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request):
        serializer = SlotCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        slot = services.create_slot(centre_code=data["centre"], kind=data["kind"], starts_at=data["starts_at"],
                                    capacity=data["capacity"], categories=data["categories"], actor=request.user)
        return Response(slot_json(selectors.slot(slot.pk)), status=status.HTTP_201_CREATED)


class ExamSlotDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(description="Public: any slot, full or not, started or not.",
                   responses={200: SlotSchema, **problem_responses("not_found", authenticated=False)})
    def get(self, request, pk):
        slot = selectors.slot(pk)
        if slot is None:
            raise Http404
        return Response(slot_json(slot))


class BookingCreate(ApplicationViewMixin, APIView):
    steps = {"POST": Step.BOOK}

    @extend_schema(
        description="A seat in the slot for the exam the application waits for (`theory_exam`: a theory slot; "
                    "`practical_exam`: a practical one). One active booking per exam kind; after a failed attempt, "
                    "none before the retake wait has passed (`retake_from`).",
        request=BookingCreateSerializer, parameters=[idempotency_key_parameter()],
        responses={201: BookingSchema, **problem_responses(
            "missing_field", "validation_error", "not_found", "wrong_status", "slot_full", "booking_exists",
            "slot_not_suitable", "retake_too_early", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk):
        application = self.get_application(request, pk, full=False)
        serializer = BookingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        booking = services.book_exam_slot(application=application, slot_id=serializer.validated_data["slot"],
                                          actor=request.user)
        return Response(booking_json(booking), status=status.HTTP_201_CREATED)  # the service's rows, as written


class BookingDetail(ApplicationViewMixin, APIView):
    steps = {"GET": Step.BOOK, "DELETE": Step.BOOK}

    @extend_schema(description="One of the application's bookings.",
                   responses={200: BookingSchema, **problem_responses("not_found")})
    def get(self, request, pk, booking_id):
        application = self.get_application(request, pk, full=False)
        booking = selectors.booking(booking_id, application=application)
        if booking is None:
            raise Http404
        return Response(booking_json(booking))

    @extend_schema(
        description="Cancels the booking: the seat is free again at once. Cancelling a cancelled booking again "
                    "answers `204` and changes nothing; a booking with a result, or whose exam has started, "
                    "is `409 wrong_status`.",
        responses={204: OpenApiResponse(description="Cancelled."),
                   **problem_responses("not_found", "wrong_status")})
    def delete(self, request, pk, booking_id):
        application = self.get_application(request, pk, full=False)
        services.cancel_booking(application=application, booking_id=booking_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BookingReschedule(ApplicationViewMixin, APIView):
    steps = {"POST": Step.BOOK}

    @extend_schema(
        description="Moves the booking to another slot: the cancel and the new booking happen in one transaction, "
                    "so on any error the old booking stands. Answers the new booking.",
        request=BookingCreateSerializer, parameters=[idempotency_key_parameter()],
        responses={201: BookingSchema, **problem_responses(
            "missing_field", "validation_error", "not_found", "wrong_status", "slot_full", "slot_not_suitable",
            *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, pk, booking_id):
        application = self.get_application(request, pk, full=False)
        serializer = BookingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        booking = services.reschedule_booking(application=application, booking_id=booking_id,
                                              slot_id=serializer.validated_data["slot"], actor=request.user)
        return Response(booking_json(selectors.booking(booking.pk)), status=status.HTTP_201_CREATED)


@extend_schema_serializer(component_name="ExaminerBooking")
class ExaminerBookingSchema(BookingSchema):
    application = inline_serializer("BookedApplication", {
        "number": serializers.CharField(), "iin": serializers.CharField(),
        "categories": serializers.ListField(child=serializers.CharField()),
        "language": serializers.ChoiceField(choices=ExamLanguage.choices),
    })
    score = serializers.IntegerField(allow_null=True)


class CentreBookings(ListAPIView):
    """What an exam centre's system reads: its bookings of a day, to check identities and record results."""

    permission_classes = [ExaminersOnly]

    class Pagination(CursorPagination):
        ordering = ("slot__starts_at", "id")

    pagination_class = Pagination

    def get_queryset(self):
        query = DayQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        centre = Centre.objects.filter(code=query.validated_data["centre"], offers_exams=True).first()
        if centre is None:
            raise Http404
        return selectors.bookings_of_day(centre=centre, day=query.validated_data["date"],
                                         kind=query.validated_data.get("kind"))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        # Each IIN shown is a read of the citizen's personal data, logged where the citizen sees it.
        log_staff_list_read(application_ids=[booking.application_id for booking in page], user=request.user,
                            purpose=PersonalDataAccess.Purpose.CASE_HANDLING, what="application")
        return self.get_paginated_response([examiner_booking_json(booking) for booking in page])

    @extend_schema(
        description="`examiner` only (anyone else: `404`). The centre's bookings of one local day that are not "
                    "cancelled, by start time, with the applicant's number, IIN (to match the identity document), "
                    "categories and exam language. **Each booking listed is written to its application's access "
                    "log.**",
        parameters=[DayQuerySerializer],
        responses={200: ExaminerBookingSchema(many=True), **problem_responses("validation_error", "missing_field",
                                                                             "not_found")})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BookingResult(APIView):
    permission_classes = [ExaminersOnly]

    @extend_schema(
        description="`examiner` only (anyone else: `404`). For a `booked` booking, from one hour before its slot "
                    "starts (earlier, or a booking that is not `booked`: `409 wrong_status`). A pass moves the "
                    "application on; a fail records the attempt and the retake rule applies. Theory `score`: "
                    "correct answers; practical: penalty points.",
        request=ResultSerializer, parameters=[idempotency_key_parameter()],
        responses={200: BookingSchema, **problem_responses(
            "missing_field", "validation_error", "not_found", "wrong_status", *IDEMPOTENCY_CODES)})
    @idempotent()
    def post(self, request, booking_id):
        serializer = ResultSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        booking = services.record_exam_result(booking_id=booking_id, actor=request.user,
                                              **serializer.validated_data)
        return Response(booking_json(selectors.booking(booking.pk)))

