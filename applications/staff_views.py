"""The TSON operator's desk (/staff/desk/): find an application by number or IIN, its desk page, the state fee taken
at the desk, the photo taken with the computer's camera (or chosen as a file); and the photo view, which the police
officer uses as well. Every page that shows an application's personal data writes the citizen's access log."""

import functools

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import Role
from accounts.staff_views import staff_required
from config.security import allow_camera

from . import services
from .errors import ApplicationError, ApplicationErrorCode, WrongStatus
from .models import Application, Payment, PersonalDataAccess, PhotoSource, ServicePolicy, Status
from .rights import Step, applications_for
from .staff_forms import DeskPaymentForm, FindForm, PhotoForm

DESK_ROLES = (Role.TSON_OPERATOR,)
PHOTO_ROLES = (Role.TSON_OPERATOR, Role.POLICE_OFFICER)
# One IIN has few applications; past this many the list says that older ones are left out.
SEARCH_LIMIT = 20
# A multipart body carries the form's other fields and boundaries besides the file: the API allows as much.
MULTIPART_SPARE_BYTES = 64 * 1024
CASE_HANDLING = PersonalDataAccess.Purpose.CASE_HANDLING


def _role_required(*roles):
    """A signed-in staff member of one of `roles`; any other role (and a citizen) finds no page here."""

    def decorator(view):
        @staff_required
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_role(*roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


desk_required = _role_required(*DESK_ROLES)


def _application(request, application_id, step: Step) -> Application:
    application = (applications_for(request.user, step, full=False).select_related("pickup_tson")
                   .filter(pk=application_id).first())
    if application is None:
        raise Http404
    return application


def _log_read(request, application: Application, what: str = "application") -> None:
    services.log_staff_read(application=application, user=request.user, purpose=CASE_HANDLING, what=what)


def _desk_url(application: Application) -> str:
    return reverse("desk:application", args=[application.pk])


def _status_now(application: Application) -> str:
    return Application.objects.filter(pk=application.pk).values_list("status", flat=True).get()


def _tell_if_gone_to_review(request, application: Application) -> None:
    if _status_now(application) == Status.UNDER_REVIEW:
        messages.success(request, _("The fee and the photo are both in: the application has gone to a police "
                                    "officer for review."))


# ---------------------------------------------------------------------------------------------------------------
# Finding an application


@never_cache
@require_safe
@desk_required
def find(request):
    form = FindForm(request.GET if "q" in request.GET else None)
    if not form.is_bound:
        form.fields["q"].widget.attrs["autofocus"] = True  # the desk's first keystrokes are the number or the IIN
    context = {"form": form, "searched": False}
    if form.is_bound and form.is_valid():
        kind, value = form.cleaned_data["q"]
        found = (applications_for(request.user, Step.LIST, full=False).select_related("pickup_tson")
                 .filter(**{kind: value}).order_by("-created_at", "-id"))
        rows = list(found[:SEARCH_LIMIT + 1])
        shown = rows[:SEARCH_LIMIT]
        if shown:
            # The IINs and statuses on this list are personal data read by the operator: one row per application.
            services.log_staff_list_read(application_ids=[application.pk for application in shown],
                                         user=request.user, purpose=CASE_HANDLING, what="application")
        context.update(searched=True, kind=kind, value=value, applications=shown, more=len(rows) > SEARCH_LIMIT,
                       limit=SEARCH_LIMIT)
    return render(request, "staff/desk/find.html", context, status=400 if form.errors else 200)


# ---------------------------------------------------------------------------------------------------------------
# One application at the desk


def _fee(application: Application) -> dict:
    payments = list(application.payments.select_related("taken_by").order_by("-created_at"))
    paid = next((payment for payment in payments if payment.status == Payment.State.PAID), None)
    return {
        "paid": paid,
        "pending": next((payment for payment in payments if payment.status == Payment.State.PENDING), None),
        "amount_kzt": paid.amount_kzt if paid else ServicePolicy.current_fee_kzt(),
    }


def _fee_open(application: Application) -> bool:
    return application.status == Status.FORMALIZATION and application.fee_paid_at is None


def _render_desk(request, application: Application, *, fee_form=None, refusal: str = "", status: int = 200):
    _log_read(request, application)
    photo = services.current_photo(application)
    return render(request, "staff/desk/application.html", {
        "application": application, "fee": _fee(application), "photo": photo,
        "photo_is_stored": bool(photo and photo.source == PhotoSource.TSON and photo.file),
        "in_formalization": application.status == Status.FORMALIZATION,
        "error_form": fee_form, "refusal": refusal,
        "fee_form": (fee_form or DeskPaymentForm()) if _fee_open(application) else None,
    }, status=status)


@never_cache
@require_safe
@desk_required
def application_page(request, application_id):
    return _render_desk(request, _application(request, application_id, Step.READ))


@never_cache
@require_POST
@desk_required
def take_fee(request, application_id):
    application = _application(request, application_id, Step.DESK_PAYMENT)
    form = DeskPaymentForm(request.POST)
    # Paid already (another tab, or online meanwhile) or past this step: the service's refusal says so, not the form.
    if form.is_valid() or not _fee_open(application):
        try:
            payment = services.pay_at_desk(application=application, receipt=form.cleaned_data.get("receipt", ""),
                                           actor=request.user)
        except ApplicationError as error:
            if error.code == ApplicationErrorCode.NOT_FOUND:
                raise Http404 from error
            application = _application(request, application_id, Step.DESK_PAYMENT)  # as the refusal found it
            if error.field == "receipt":
                form.add_error("receipt", error.message)
                return _render_desk(request, application, fee_form=form, status=400)
            return _render_desk(request, application, refusal=error.message,
                                status=409 if isinstance(error, WrongStatus) else 400)
        messages.success(request, _("The state fee of %(amount)s tenge is paid at the desk, receipt %(receipt)s.")
                         % {"amount": payment.amount_kzt, "receipt": payment.receipt})
        _tell_if_gone_to_review(request, application)
        return redirect(_desk_url(application))
    return _render_desk(request, application, fee_form=form, status=400)


# ---------------------------------------------------------------------------------------------------------------
# The photo: the camera page, and the view that serves a stored photo


def _render_photo_page(request, application: Application, form: PhotoForm, *, status: int = 200):
    # Only the number and the service are shown here (no IIN): nothing of the citizen's is read, so nothing is logged.
    return render(request, "staff/desk/photo.html", {"application": application, "form": form}, status=status)


@csrf_protect
def _take_photo(request, application: Application):
    if application.status != Status.FORMALIZATION:
        if request.method == "POST":
            messages.error(request, WrongStatus(application, "photo").message)
        return redirect(_desk_url(application))
    if request.method != "POST":
        return _render_photo_page(request, application, PhotoForm())
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.capture_photo(application=application, upload=form.cleaned_data["photo"], actor=request.user)
        except WrongStatus as error:
            messages.error(request, error.message)
            return redirect(_desk_url(application))
        except ApplicationError as error:
            if error.code == ApplicationErrorCode.NOT_FOUND:
                raise Http404 from error
            form.add_error("photo" if error.field == "photo" else None, error.message)
        else:
            messages.success(request, _("The photo is saved."))
            _tell_if_gone_to_review(request, application)
            return redirect(_desk_url(application))
    return _render_photo_page(request, application, form, status=400)


@csrf_exempt  # _take_photo checks the token once the body's size allows reading it: a huge upload is refused unread
@never_cache
@allow_camera
@require_http_methods(["GET", "POST"])
@desk_required
def take_photo(request, application_id):
    application = _application(request, application_id, Step.PHOTO)
    if request.method == "POST" and application.status == Status.FORMALIZATION:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.PHOTO_UPLOAD_MAX_BYTES + MULTIPART_SPARE_BYTES:
            form = PhotoForm(data={}, files={})
            form.errors["photo"] = form.error_class([_("The photo is larger than 10 MB.")])  # instead of "required"
            return _render_photo_page(request, application, form, status=413)
    return _take_photo(request, application)


@require_safe
@_role_required(*PHOTO_ROLES)
def photo(request, application_id):
    """The current desk photo's bytes, for the desk and the police: never cached, and each view logged."""
    application = _application(request, application_id, Step.READ)
    shown = services.current_photo(application)
    if shown is None or shown.source != PhotoSource.TSON or not shown.file:
        raise Http404  # none yet, or the registry's photo, which stays with the registry
    try:
        stored = shown.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    _log_read(request, application, "photo")  # the citizen's log says their photo was seen
    response = FileResponse(stored, content_type=shown.content_type or "application/octet-stream")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response
