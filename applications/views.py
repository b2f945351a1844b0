"""The citizen portal: apply, consent, follow the checks, fill the form, get the number. Thin over services."""

import hashlib

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from accounts.models import Role
from config.languages import current_language

from . import selectors, services
from .access_log import describe_what
from .category_names import category_labels
from .forms import ApplicationDetailsForm, CategoriesForm, CodeForm, ReplacementForm
from .models import (
    FINAL_STATUSES,
    Application,
    Channel,
    Check,
    Consent,
    Payment,
    PersonalDataAccess,
    PhotoSource,
    Registry,
    ReplacementReason,
    Service,
    ServicePolicy,
    Status,
)
from .receipts import receipt_filename, receipt_pdf, tenge, thousands
from .refusals import refused_checks
from .services.checks import applicable_registries

PORTAL_SOURCES = {"egov_portal": Channel.EGOV_PORTAL, "egov_mobile": Channel.EGOV_MOBILE}
SERVICES = {Service.FIRST_ISSUE, Service.REPLACEMENT, Service.FOREIGN_EXCHANGE}
WAITING_STATUSES = (Status.CONSENT_PENDING, Status.CHECKS_RUNNING)
# Once the number is assigned the page says what comes next, up to the card waiting at the TSON.
NEXT_STEP_STATUSES = (Status.THEORY_EXAM, Status.PRACTICAL_EXAM, Status.FORMALIZATION, Status.UNDER_REVIEW,
                      Status.APPROVED, Status.PRINTED)
# From formalisation on, the page tells the state of the fee (and links the receipt once it is paid).
FEE_STATUSES = (Status.FORMALIZATION, Status.UNDER_REVIEW, Status.APPROVED)
# The photo is taken in formalisation; during the exams the instructions already help to plan the visit.
PHOTO_STATUSES = (Status.THEORY_EXAM, Status.PRACTICAL_EXAM, Status.FORMALIZATION)


def citizen_required(view):
    """Signed in as a citizen; staff accounts do not use the citizen portal."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if request.user.role != Role.CITIZEN:
            raise Http404
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


def own_application(request, pk, *, to_act: bool = False) -> Application:
    """One of the signed-in citizen's applications; anyone else's does not exist (404). With `to_act`, only one
    the citizen opened here: the steps of an application a channel opened for them stay with that channel."""
    application = selectors.application_for_citizen(request.user, pk)
    if application is None or (to_act and not selectors.citizen_may_act(application, request.user)):
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
    form = form_class(request.POST if request.method == "POST" else None, initial=initial)
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
    # The consent covers the registries that this service (and reason) asks, as the contract's check table says.
    asked = [Registry(registry) for registry in applicable_registries(service=service, replacement_reason=reason)
             if registry != Registry.CONSENT]
    return render(request, "portal/apply_check.html", {
        "draft": draft, "service": Service(service), "error": error,
        "categories": category_labels(draft.get("categories", [])),
        "reason_label": ReplacementReason(reason).label if reason else None,
        "registries": [(registry.label, describe_what(f"registry:{registry}")) for registry in asked]})


def _not_changed(request, version: str) -> bool:
    """A page polling for news (htmx) that has none: 204, and htmx leaves the page as it is."""
    return bool(request.htmx) and request.GET.get("seen") == version


@citizen_required
def consent(request, pk):
    application = own_application(request, pk, to_act=True)
    if application.status != Status.CONSENT_PENDING:
        return redirect("portal:application", pk=application.pk)
    # The consent service is asked by a task: until it has sent the code, the page says so and offers to look again.
    sending = application.consent.state == Consent.State.REQUESTED
    if request.method == "GET" and _not_changed(request, application.consent.state):
        return HttpResponse(status=204)
    form = CodeForm(request.POST or None)
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
            attempts_left = problem.extra.get("attempts_left")
            if attempts_left == 0:
                return redirect("portal:application", pk=application.pk)  # refused: the page says why
            form.add_error(problem.field, _tries_left(problem.message, attempts_left))
        else:
            return redirect("portal:application", pk=application.pk)
    if request.htmx and not sending:
        form.fields["code"].widget.attrs["autofocus"] = True  # the code just came: the field the person needs now
    declined = application.consent.state == Consent.State.DECISION_PENDING
    return render(request, "portal/consent.html", {"application": application, "form": form, "declined": declined,
                                                   "sending": sending, "version": application.consent.state})


def _tries_left(message: str, attempts_left: int | None) -> str:
    if attempts_left is None:
        return message
    return ngettext("%(message)s %(count)d try left.", "%(message)s %(count)d tries left.", attempts_left) % {
        "message": message, "count": attempts_left}


def _check_rows(application: Application) -> list[dict]:
    """Each check with what the citizen reads for it: a check never reached says "not asked", not "pending"."""
    rows = []
    for check in sorted(application.checks.all(), key=lambda check: check.position):
        if check.outcome == Check.Outcome.PENDING:
            result = _("Not asked yet") if application.status in WAITING_STATUSES else _("Not asked")
        elif check.outcome == Check.Outcome.ERROR and application.status in WAITING_STATUSES:
            result = _("Not answering: asked again automatically")
        else:
            result = check.get_outcome_display()
        rows.append({"check": check, "result": result})
    return rows


def _unavailable_since(application: Application):
    """When the registries that keep the application waiting stopped answering (the earliest), or None."""
    if application.status not in WAITING_STATUSES:
        return None
    since = [check.facts.get("unavailable_since") or check.checked_at.isoformat()
             for check in application.checks.all() if check.outcome == Check.Outcome.ERROR and check.checked_at]
    return parse_datetime(min(since)) if since else None


def _version(application: Application) -> str:
    """What the status part shows, in short: it changes exactly when that part would look different."""
    parts = [application.status, application.number or ""]
    parts += [f"{check.registry}:{check.outcome}" for check in application.checks.all()]
    if application.status == Status.FORMALIZATION:
        latest = application.payments.order_by("-created_at").values_list("status", flat=True).first()
        parts += [str(application.fee_paid_at or ""), application.photo_source, latest or ""]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@citizen_required
def application_detail(request, pk):
    application = own_application(request, pk)
    version = _version(application)
    if _not_changed(request, version):
        return HttpResponse(status=204)
    may_act = selectors.citizen_may_act(application, request.user)
    context = {
        "application": application, "version": version, "may_act": may_act,
        "waiting": application.status in WAITING_STATUSES,
        "says_next_step": application.status in NEXT_STEP_STATUSES,
        "refused_checks": refused_checks(application) if application.status == Status.REFUSED else [],
        "check_rows": _check_rows(application),
        "unavailable_since": _unavailable_since(application),
        "categories": category_labels(application.categories),
        "pickup": application.pickup_tson,
        "fee": _fee_summary(application, may_act) if application.status in FEE_STATUSES else None,
        "may_cancel": may_act and can_proceed(application.cancel),
        "may_withdraw": may_act and application.status not in FINAL_STATUSES
        and hasattr(application, "consent") and application.consent.in_force,
    }
    template = "portal/_status.html" if request.htmx else "portal/application.html"
    return render(request, template, context)


def _fee_summary(application: Application, may_act: bool) -> dict:
    """The state fee as the citizen reads it: the amount, and what became of the latest try at paying it."""
    payments = list(application.payments.all())  # newest first
    paid = next((payment for payment in payments if payment.status == Payment.State.PAID), None)
    latest = payments[0] if payments else None
    pending = paid is None and latest is not None and latest.status == Payment.State.PENDING
    declined = paid is None and latest is not None and latest.status == Payment.State.DECLINED
    amount = paid.amount_kzt if paid else ServicePolicy.current_fee_kzt()
    if paid and paid.method == Payment.Method.DESK:
        state = _("Paid on %(date)s at a TSON desk, receipt no. %(receipt)s.") % {
            "date": _local(paid.decided_at), "receipt": paid.receipt}
    elif paid:
        state = _("Paid online on %(date)s.") % {"date": _local(paid.decided_at)}
    elif pending:
        state = _("Waiting for the payment provider to confirm the payment.")
    elif declined:
        state = _("Not paid: the payment was declined. You can try again.")
    else:
        state = _("Not paid yet.")
    return {
        "amount": tenge(amount), "amount_number": thousands(amount), "paid": paid, "pending": pending,
        "declined": declined, "state": state,
        "may_pay": may_act and paid is None and application.status == Status.FORMALIZATION,
        "button": _("Continue to the payment") if pending else _("Pay the state fee"),
    }


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%d.%m.%Y %H:%M")


@citizen_required
def fee(request, pk):
    """The state fee: the amount, whether it is paid, and the button that goes to the payment provider."""
    application = own_application(request, pk)
    if application.status not in FEE_STATUSES:
        return redirect("portal:application", pk=application.pk)
    return _fee_page(request, application)


def _fee_page(request, application: Application, error: str | None = None, status: int = 200):
    may_act = selectors.citizen_may_act(application, request.user)
    return render(request, "portal/fee.html", {
        "application": application, "fee": _fee_summary(application, may_act), "error": error}, status=status)


@require_POST
@citizen_required
def fee_pay(request, pk):
    """Step 15, online: a payment at the provider (the pending one again, if there is one), and off to its page."""
    application = own_application(request, pk, to_act=True)
    try:
        payment = services.create_payment(application=application, actor=request.user)
    except services.WrongStatus:
        return redirect("portal:application", pk=application.pk)  # paid meanwhile, or no longer in formalisation
    except services.ApplicationError as problem:
        return _fee_page(request, application, error=problem.message, status=503)
    return redirect(payment.pay_url)


@citizen_required
def payment_receipt(request, pk, payment_pk):
    """The receipt of a paid payment of the citizen's own application, as a PDF in the application's language."""
    application = own_application(request, pk)
    payment = Payment.objects.filter(pk=payment_pk, application=application, status=Payment.State.PAID).first()
    if payment is None:
        raise Http404
    payment.application = application
    response = HttpResponse(receipt_pdf(payment, application.notify_language or current_language()),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{receipt_filename(payment)}"'
    # It carries personal data: no shared cache keeps it.
    patch_cache_control(response, private=True, no_store=True)
    return response


@citizen_required
def photo_instructions(request, pk):
    """Where and how to have the licence photo taken; for a replacement, that the registry's photo is used."""
    application = own_application(request, pk)
    if not application.photo_source and application.status not in PHOTO_STATUSES:
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/photo_instructions.html", {
        "application": application, "pickup": application.pickup_tson,
        "from_registry": application.photo_source == PhotoSource.REGISTRY,
        "taken_at_tson": application.photo_source == PhotoSource.TSON,
        "before_formalization": application.status in (Status.THEORY_EXAM, Status.PRACTICAL_EXAM)})


@citizen_required
def application_form(request, pk):
    """Step 11: contact, exam language (where there are exams), pickup TSON; submitting assigns the number."""
    application = own_application(request, pk, to_act=True)
    if application.status != Status.ELIGIBLE:
        return redirect("portal:application", pk=application.pk)
    form = ApplicationDetailsForm(request.POST if request.method == "POST" else None, application=application)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.submit_application(application=application, phone=data["phone"], email=data["email"],
                                        language=data.get("language", ""), pickup_tson=data["pickup_tson"].code,
                                        actor=request.user)
        except services.WrongStatus:
            return redirect("portal:application", pk=application.pk)  # submitted meanwhile (a double click)
        except services.ApplicationError as problem:
            form.add_error(problem.field, problem.message)
        else:
            return redirect("portal:application", pk=application.pk)
    return render(request, "portal/application_form.html", {"application": application, "form": form})


@citizen_required
def cancel(request, pk):
    """Cancelling asks first (a page with one button), so that one stray click cancels nothing."""
    application = own_application(request, pk, to_act=True)
    if not can_proceed(application.cancel):  # a stale link or form changes nothing
        return redirect("portal:application", pk=application.pk)
    if request.method == "POST":
        try:
            services.cancel_application(application=application, actor=request.user)
        except services.WrongStatus:
            pass  # moved on meanwhile: the application page shows where it is now
        return redirect("portal:application", pk=application.pk)
    return render(request, "portal/cancel.html", {"application": application})


@require_POST
@citizen_required
def withdraw_consent(request, pk):
    application = own_application(request, pk, to_act=True)
    if application.status not in FINAL_STATUSES:
        services.withdraw_consent(application=application, actor=request.user)
    return redirect("portal:application", pk=pk)


@citizen_required
def my_applications(request):
    applications = list(selectors.applications_for_citizen(request.user))
    for application in applications:
        application.with_channel = not selectors.citizen_may_act(application, request.user)
    return render(request, "portal/applications.html", {"applications": applications})


@citizen_required
def access_log(request):
    rows = [{"entry": entry, "who": _who(entry), "what": describe_what(entry.what),
             "purpose": PersonalDataAccess.Purpose(entry.purpose).label}
            for entry in selectors.access_log_for_citizen(request.user)]
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
