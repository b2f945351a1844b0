"""The citizen portal: apply, consent, follow the checks, fill the form, get the number. Thin over services."""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from accounts.models import Role
from config.languages import current_language

from . import services
from .access_log import describe_what
from .forms import ApplicationDetailsForm, CategoriesForm, CodeForm, ReplacementForm
from .models import (
    Application,
    Channel,
    Consent,
    PersonalDataAccess,
    Registry,
    ReplacementReason,
    Service,
    Status,
    StatusChange,
)
from .refusals import refusal_message

PORTAL_SOURCES = {"egov_portal": Channel.EGOV_PORTAL, "egov_mobile": Channel.EGOV_MOBILE}
SERVICES = {Service.FIRST_ISSUE, Service.REPLACEMENT, Service.FOREIGN_EXCHANGE}


def citizen_required(view):
    """Signed in as a citizen; staff accounts do not use the citizen portal."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if request.user.role != Role.CITIZEN:
            raise Http404
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


def own_application(request, pk) -> Application:
    """The signed-in citizen's own application; anyone else's does not exist (404)."""
    application = (Application.objects.select_related("consent", "pickup_tson")
                   .prefetch_related("checks", Prefetch("history", queryset=StatusChange.objects.order_by("at", "id")))
                   .filter(pk=pk, citizen=request.user).first())
    if application is None:
        raise Http404
    return application


def apply_start(request, service):
    """Step 1 and the eGov deep link (`?source=egov_portal|egov_mobile`): the channel is remembered."""
    if service not in SERVICES:
        raise Http404
    if source := PORTAL_SOURCES.get(request.GET.get("source", "")):
        request.session["channel"] = source
    if service == Service.FOREIGN_EXCHANGE:
        return render(request, "portal/foreign_exchange.html")
    if not request.user.is_authenticated:
        return redirect(f"{reverse('portal:sign-in')}?next={request.path}")
    return apply_choose(request, service)


@citizen_required
def apply_choose(request, service):
    form_class = CategoriesForm if service == Service.FIRST_ISSUE else ReplacementForm
    draft = request.session.get("draft", {})
    initial = draft if draft.get("service") == service else None
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        request.session["draft"] = {"service": service, **form.cleaned_data}
        return redirect("portal:apply-check", service=service)
    return render(request, "portal/apply_choose.html", {"form": form, "service": Service(service)})


@citizen_required
def apply_check(request, service):
    """Check your answers, then open the application: the consent code goes out by SMS."""
    draft = request.session.get("draft")
    if not draft or draft.get("service") != service:
        return redirect("portal:apply", service=service)
    error = None
    if request.method == "POST":
        try:
            application = services.start_application(
                service=service, iin=request.user.iin, categories=draft.get("categories", []),
                replacement_reason=draft.get("replacement_reason"), actor=request.user, language=current_language(),
                channel=request.session.get("channel", Channel.PORTAL),
            )
        except services.ApplicationError as problem:
            error = problem.message
        else:
            request.session.pop("draft", None)
            return redirect("portal:consent", pk=application.pk)
    reason = draft.get("replacement_reason")
    return render(request, "portal/apply_check.html", {
        "draft": draft, "service": Service(service), "error": error,
        "reason_label": ReplacementReason(reason).label if reason else None})


@citizen_required
def consent(request, pk):
    application = own_application(request, pk)
    if application.status != Status.CONSENT_PENDING:
        return redirect("portal:application", pk=application.pk)
    form = CodeForm(request.POST or None)
    # The consent service is asked by a task: until it has sent the code, the page says so and refreshes itself.
    sending = application.consent.state == Consent.State.REQUESTED
    if request.method == "POST" and sending:
        form = CodeForm.blank_with_error(_("The code has not been sent yet. Please wait a moment."))
    elif request.method == "POST" and "resend" in request.POST:
        form = CodeForm()  # a fresh, empty form either way
        try:
            services.resend_consent_code(application=application, actor=request.user)
        except services.ApplicationError as problem:
            form = CodeForm.blank_with_error(getattr(problem, "message", str(problem)))
    elif request.method == "POST" and form.is_valid():
        try:
            services.confirm_consent(application=application, code=form.cleaned_data["code"], actor=request.user)
        except services.WrongStatus:
            return redirect("portal:application", pk=application.pk)
        except services.ApplicationError as problem:
            form.add_error("code", problem.message)
        else:
            return redirect("portal:application", pk=application.pk)
    declined = application.consent.state in (Consent.State.DECISION_PENDING,)
    return render(request, "portal/consent.html",
                  {"application": application, "form": form, "declined": declined, "sending": sending})


@citizen_required
def application_detail(request, pk):
    application = own_application(request, pk)
    context = {"application": application, "refusal": refusal_message(application.refusal_code)
               if application.status == Status.REFUSED else None,
               "waiting": application.status in (Status.CHECKS_RUNNING, Status.CONSENT_PENDING)}
    template = "portal/_status.html" if request.htmx else "portal/application.html"
    return render(request, template, context)


@citizen_required
def application_form(request, pk):
    """Step 11: contact, exam language, pickup TSON; submitting assigns the number (step 12)."""
    application = own_application(request, pk)
    if application.status != Status.ELIGIBLE:
        return redirect("portal:application", pk=application.pk)
    form = ApplicationDetailsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.submit_application(application=application, phone=data["phone"], email=data["email"],
                                        language=data["language"], pickup_tson=data["pickup_tson"].code,
                                        actor=request.user)
        except services.WrongStatus:
            return redirect("portal:application", pk=application.pk)  # submitted meanwhile (a double click)
        except services.ApplicationError as problem:
            form.add_error(problem.field, problem.message)
        else:
            return redirect("portal:application", pk=application.pk)
    return render(request, "portal/application_form.html", {"application": application, "form": form})


@require_POST
@citizen_required
def cancel(request, pk):
    application = own_application(request, pk)
    if can_proceed(application.cancel):  # the page offers Cancel only then; a stale form changes nothing
        services.cancel_application(application=application, actor=request.user)
    return redirect("portal:application", pk=application.pk)


@require_POST
@citizen_required
def withdraw_consent(request, pk):
    services.withdraw_consent(application=own_application(request, pk), actor=request.user)
    return redirect("portal:application", pk=pk)


@citizen_required
def my_applications(request):
    applications = (Application.objects.filter(citizen=request.user)
                    .prefetch_related(Prefetch("history", queryset=StatusChange.objects.order_by("at", "id")))
                    .order_by("-created_at"))
    return render(request, "portal/applications.html", {"applications": applications})


@citizen_required
def access_log(request):
    entries = (PersonalDataAccess.objects.filter(application__citizen=request.user)
               .select_related("application", "actor_organisation").order_by("-at", "-id"))
    rows = [{"entry": entry, "who": _who(entry), "what": describe_what(entry.what),
             "purpose": PersonalDataAccess.Purpose(entry.purpose).label} for entry in entries]
    return render(request, "portal/access_log.html", {"rows": rows})


def _who(entry: PersonalDataAccess) -> str:
    if entry.registry in Registry.values:
        return str(Registry(entry.registry).label)
    if entry.registry == "sms":
        return str(_("SMS gateway"))
    if entry.role in Role.values:
        return str(Role(entry.role).label)
    if entry.actor_organisation_id:
        return entry.actor_organisation.name
    return str(PersonalDataAccess.ActorKind(entry.actor_kind).label)
