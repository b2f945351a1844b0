"""Citizen sign-in pages: IIN, then the code from the SMS. The first page answers alike for every valid IIN."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config.languages import current_language

from .client_ip import client_ip
from .forms import CodeForm, SignInForm
from .portal import NewCodeTooSoon, SignInError, check_sign_in_code, request_sign_in_code


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def sign_in(request):
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        iin = form.cleaned_data["iin"]
        try:
            request_sign_in_code(iin=iin, ip=client_ip(request), language=current_language())
        except NewCodeTooSoon:
            pass  # the code sent a moment ago is still valid: the next page is the same
        except SignInError as error:
            form.add_error("iin", error.message)
        if form.is_valid():
            request.session["sign_in_iin"] = iin
            next_url = _next_url(request)
            query = f"?{urlencode({'next': next_url})}" if next_url else ""
            return redirect(reverse("portal:sign-in-code") + query)
    return render(request, "portal/sign_in.html", {"form": form, "next": _next_url(request)})


def sign_in_code(request):
    iin = request.session.get("sign_in_iin")
    if not iin:
        return redirect("portal:sign-in")
    form = CodeForm(request.POST or None)
    new_code_sent = False
    if request.method == "POST" and "resend" in request.POST:
        form = CodeForm()  # a fresh, empty form either way
        try:
            request_sign_in_code(iin=iin, ip=client_ip(request), language=current_language())
        except SignInError as error:
            form = CodeForm.blank_with_error(error.message)
        else:
            new_code_sent = True
    elif request.method == "POST" and form.is_valid():
        try:
            user = check_sign_in_code(iin=iin, code=form.cleaned_data["code"], ip=client_ip(request))
        except SignInError as error:
            form.add_error("code", error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # a new session id
            request.session.pop("sign_in_iin", None)
            return redirect(_next_url(request) or "portal:applications")
    return render(request, "portal/sign_in_code.html", {
        "form": form, "next": _next_url(request), "masked_iin": f"{iin[:4]}••••{iin[-2:]}",
        "new_code_sent": new_code_sent, "minutes": settings.SIGN_IN_CODE_MINUTES})


@require_POST
def sign_out(request):
    logout(request)
    return redirect("home")
