"""Staff pages (/staff/): sign-in with a password and, where STAFF_REQUIRE_OTP is on, an authenticator code
(TOTP, django-otp); lockout after repeated failures (django-axes); a home page per role."""

import base64
import functools
import time
from urllib.parse import urlencode

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate, login, logout, user_login_failed
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from . import services
from .forms import AuthenticatorCodeForm, StaffSignInForm
from .models import STAFF_ROLES, Role, User

PENDING = "staff_sign_in"  # the session's memory of a right password while the authenticator code is asked for
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _is_staff(user) -> bool:
    return user.is_authenticated and user.is_active and user.role in STAFF_ROLES


def _is_signed_in_staff(user) -> bool:
    return _is_staff(user) and (not settings.STAFF_REQUIRE_OTP or user.is_verified())


def _refuse_citizens(request) -> None:
    """The staff pages do not exist for someone signed in on the citizen portal."""
    if request.user.is_authenticated and not _is_staff(request.user):
        raise Http404


def staff_required(view):
    """Signed in as staff (with the authenticator code where it is required); anyone else signed in gets 404."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        _refuse_citizens(request)
        if not _is_signed_in_staff(request.user):
            return redirect(f"{reverse('staff:sign-in')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out username or IP (AXES_LOCKOUT_CALLABLE), also for the admin's sign-in."""
    return render(request, "staff/locked_out.html", {"minutes": settings.STAFF_LOCKOUT_MINUTES,
                                                     "again": request.path},
                  status=settings.AXES_HTTP_RESPONSE_CODE)


def sign_in(request):
    _refuse_citizens(request)
    if _is_signed_in_staff(request.user):
        return redirect(_next_url(request) or "staff:home")
    form = StaffSignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is not None and not _is_staff(user):
            # A right password for an account that has no staff role is refused like a wrong one.
            user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
            user = None
        if getattr(request, "axes_locked_out", False):
            return locked_out(request)
        if user is None:
            form.add_error(None, _("The username or the password is not right."))
        elif not settings.STAFF_REQUIRE_OTP:
            return _complete_sign_in(request, user, device=None)
        else:
            request.session[PENDING] = {"user": user.pk, "at": time.time(), "next": _next_url(request)}
            if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
                return redirect("staff:authenticator")
            return redirect("staff:enrol")
    return render(request, "staff/sign_in.html", {"form": form, "next": _next_url(request)})


def _pending_user(request) -> User | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > settings.STAFF_OTP_STEP_MINUTES * 60:
        return None
    return User.objects.filter(pk=pending["user"], is_active=True, role__in=STAFF_ROLES).first()


def _complete_sign_in(request, user: User, *, device: TOTPDevice | None):
    next_url = request.session.get(PENDING, {}).get("next") or _next_url(request)
    login(request, user, backend=MODEL_BACKEND)  # a new session id
    if device is not None:
        otp_login(request, device)
    request.session.pop(PENDING, None)
    return redirect(next_url or "staff:home")


def _code_is_right(request, user: User, device: TOTPDevice, form: AuthenticatorCodeForm) -> bool:
    """The second step's check. A wrong code counts as a failed sign-in; the caller then looks at
    `request.axes_locked_out`. A right code does not count while the username or the IP is locked out."""
    credentials = {"username": user.username}
    if not AxesProxyHandler.is_allowed(request, credentials):
        request.axes_locked_out = True
        return False
    allowed, _reason = device.verify_is_allowed()
    if not allowed:
        form.add_error("otp_token", _("After a wrong code the next try waits a few seconds. "
                                      "Wait, then enter the code the app shows."))
        return False
    if device.verify_token(form.cleaned_data["otp_token"]):
        return True
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    form.add_error("otp_token", _("The code is not right. Enter the code that the app shows now."))
    return False


def authenticator(request):
    _refuse_citizens(request)
    user = _pending_user(request)
    if user is None:
        return redirect("staff:sign-in")
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None:
        return redirect("staff:enrol")
    form = AuthenticatorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _code_is_right(request, user, device, form):
            return _complete_sign_in(request, user, device=device)
        if getattr(request, "axes_locked_out", False):
            return locked_out(request)
    return render(request, "staff/authenticator.html", {"form": form, "staff_user": user})


def enrol(request):
    """First sign-in with STAFF_REQUIRE_OTP: the staff member scans a QR code and confirms it with a first code,
    only while an administrator has opened the window (a new account, or a lost phone)."""
    _refuse_citizens(request)
    user = _pending_user(request)
    if user is None:
        return redirect("staff:sign-in")
    if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        return redirect("staff:authenticator")
    if not user.may_enrol_authenticator:
        return render(request, "staff/ask_administrator.html", {
            "staff_user": user, "enrolment_hours": settings.STAFF_OTP_ENROLMENT_HOURS})
    device = (TOTPDevice.objects.filter(user=user, confirmed=False).first()
              or TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False))
    form = AuthenticatorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _code_is_right(request, user, device, form):
            services.confirm_authenticator(user=user, device=device)
            return _complete_sign_in(request, user, device=device)
        if getattr(request, "axes_locked_out", False):
            return locked_out(request)
    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "staff/enrol.html", {
        "form": form, "staff_user": user,
        "qr_code": segno.make(device.config_url, error="m").svg_inline(scale=4, title=_("QR code to scan")),
        "secret_groups": [secret[i:i + 4] for i in range(0, len(secret), 4)],
        "issuer": settings.OTP_TOTP_ISSUER})


ROLE_DUTIES = {
    Role.TSON_OPERATOR: "staff/roles/tson_operator.html",
    Role.EXAMINER: "staff/roles/examiner.html",
    Role.POLICE_OFFICER: "staff/roles/police_officer.html",
    Role.SUPERVISOR: "staff/roles/supervisor.html",
    Role.ADMIN: "staff/roles/admin.html",
}
# Who reads the performance dashboard (/staff/performance/).
PERFORMANCE_ROLES = (Role.SUPERVISOR, Role.ADMIN)


@staff_required
def home(request):
    user = request.user
    return render(request, "staff/home.html", {
        "role_template": ROLE_DUTIES[user.role],
        "token": Token.objects.filter(user=user).first(),
        "may_use_admin": user.is_staff,
        "may_see_performance": user.role in PERFORMANCE_ROLES,
        "signed_in_with_authenticator": bool(getattr(user, "otp_device", None)),
        "new_token": request.session.pop("staff_new_token", False),
    })


@require_POST
@staff_required
def replace_token(request):
    """A new API token for the signed-in staff member; the old one stops working at once."""
    services.replace_staff_token(user=request.user)
    request.session["staff_new_token"] = True
    return redirect("staff:home")


@require_POST
def sign_out(request):
    _refuse_citizens(request)
    logout(request)
    return redirect("staff:sign-in")

