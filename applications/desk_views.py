"""The TSON desk, continued (/staff/desk/): the hand-over of a printed card (step 18), and the foreign-licence
exchange, the one service a TSON branch still opens: the intake, the consent code that the citizen reads out, the
checks, the form and the number. tson_operator only (others find no page); every page that shows a citizen's
personal data writes their access log. The forms live here with their pages: only these pages use them."""

import datetime
import re

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from config.languages import current_language

from . import services
from .errors import ApplicationError, ApplicationErrorCode, WrongStatus
from .forms import ApplicationDetailsForm, category_choices
from .iin import validate_iin
from .models import (
    Application,
    Category,
    Channel,
    Check,
    Consent,
    ForeignLicenceCountry,
    Licence,
    PhotoSource,
    Service,
    Status,
    StatusChange,
)
from .refusals import refused_checks
from .rights import Step, applications_for
from .staff_views import CASE_HANDLING, desk_required

# The exchange's statuses before the form is in: the intake pages lead the operator through them.
WAITING_STATUSES = (Status.CONSENT_PENDING, Status.CHECKS_RUNNING)
# The languages a citizen's SMS can be in, each named in its own language.
SMS_LANGUAGES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]


def _desk_application(request, application_id, step: Step, **filters) -> Application:
    application = (applications_for(request.user, step, full=False).select_related("pickup_tson")
                   .filter(pk=application_id, **filters).first())
    if application is None:
        raise Http404
    return application


def _log_read(request, application: Application) -> None:
    services.log_staff_read(application=application, user=request.user, purpose=CASE_HANDLING, what="application")


def _desk_url(application: Application) -> str:
    return reverse("desk:application", args=[application.pk])


# ---------------------------------------------------------------------------------------------------------------
# The hand-over (step 18)


class HandOverForm(forms.Form):
    identity_checked = forms.BooleanField(
        label=gettext_lazy("I checked the holder's identity document"),
        help_text=gettext_lazy("The face matches the photo, and the surname, the names and the IIN match the "
                               "licence."),
        error_messages={"required": gettext_lazy("Confirm that you checked the holder's identity document.")})


def _handed_over_at(application: Application):
    return (StatusChange.objects.filter(application=application, to_status=Status.ISSUED)
            .values_list("at", flat=True).first())


def _render_hand_over(request, application: Application, form: HandOverForm | None = None, *, refusal: str = "",
                      status: int = 200):
    _log_read(request, application)  # the holder's names and licence are on the page
    licence = Licence.objects.select_related("replaces").filter(application=application).first()
    photo = services.current_photo(application)
    done = application.status == Status.ISSUED
    return render(request, "staff/desk/handover.html", {
        "application": application, "licence": licence, "photo": photo,
        "photo_is_stored": bool(photo and photo.source == PhotoSource.TSON and photo.file),
        "form": None if done else (form or HandOverForm()), "refusal": refusal, "done": done,
        "handed_over_at": _handed_over_at(application) if done else None,
        "replaced_number": (licence.replaces.number if licence.replaces_id else licence.replaces_number)
        if licence else "",
    }, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@desk_required
def hand_over(request, application_id):
    """The printed card: the photo and the licence to compare with the holder, the identity box, "Hand over";
    once issued, the same address confirms it."""
    application = _desk_application(request, application_id, Step.HAND_OVER)
    if request.method == "GET":
        if application.status not in (Status.PRINTED, Status.ISSUED):
            messages.error(request, _("Only a printed card that waits at the TSON can be handed over."))
            return redirect(_desk_url(application))
        return _render_hand_over(request, application)
    form = HandOverForm(request.POST)
    # Past this step, or not yet there: the service's refusal says so, not the form.
    if form.is_valid() or application.status != Status.PRINTED:
        try:
            services.hand_over(application=application, actor=request.user,
                               identity_checked=form.cleaned_data.get("identity_checked") is True)
        except WrongStatus as error:
            application = _desk_application(request, application_id, Step.HAND_OVER)  # as the refusal found it
            if application.status == Status.ISSUED:  # a second click, or another desk was quicker
                messages.info(request, _("This card is already handed over."))
                return redirect("desk:handover", application.pk)
            return _render_hand_over(request, application, refusal=error.message, status=409)
        except ApplicationError as error:
            if error.code == ApplicationErrorCode.NOT_FOUND:
                raise Http404 from error
            form.add_error("identity_checked" if error.field == "identity_checked" else None, error.message)
            return _render_hand_over(request, application, form, status=400)
        return redirect("desk:handover", application.pk)
    return _render_hand_over(request, application, form, status=400)


# ---------------------------------------------------------------------------------------------------------------
# The foreign-licence exchange: the intake


def _category_codes():
    return [(code, code) for code in Category.objects.filter(is_issued=True).values_list("code", flat=True)]


class ExchangeIntakeForm(forms.Form):
    iin = forms.CharField(label=gettext_lazy("The citizen's IIN"), max_length=12, validators=[validate_iin],
                          help_text=gettext_lazy("12 digits, from the identity document."),
                          error_messages={"required": gettext_lazy("Enter the citizen's IIN.")},
                          widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                                        "spellcheck": "false", "class": "iin"}))
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("Categories the citizen asks for"), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one category.")})
    country = forms.CharField(
        label=gettext_lazy("Country that issued the licence"), max_length=2,
        help_text=gettext_lazy("Two letters, ISO 3166-1 alpha-2: for example RU, UZ, KG, DE."),
        error_messages={"required": gettext_lazy("Enter the country that issued the licence."),
                        "max_length": gettext_lazy("Use an ISO 3166-1 alpha-2 code.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters",
                                      "size": "3"}))
    number = forms.CharField(
        label=gettext_lazy("Number of the foreign licence"), max_length=40,
        error_messages={"required": gettext_lazy("Enter the number of the foreign licence."),
                        "max_length": gettext_lazy("A licence number has at most %(limit_value)d characters.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    foreign_categories = forms.MultipleChoiceField(
        label=gettext_lazy("Categories on the foreign licence"), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose the categories written on the foreign licence.")})
    # A text field, not the browser's date picker: the date is copied from the licence, day first.
    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"), input_formats=["%d.%m.%Y", "%Y-%m-%d"],
        help_text=gettext_lazy("As written on the foreign licence: day, month, year, for example 31.12.2030."),
        error_messages={"required": gettext_lazy("Enter the date until which the foreign licence is valid."),
                        "invalid": gettext_lazy("Enter a real date, for example 31.12.2030.")},
        widget=forms.DateInput(format="%d.%m.%Y", attrs={"autocomplete": "off", "inputmode": "numeric",
                                                         "size": "10"}))
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the citizen's SMS"), choices=SMS_LANGUAGES, widget=forms.RadioSelect,
        help_text=gettext_lazy("The consent code and every notice reach the citizen's phone in this language."),
        error_messages={"required": gettext_lazy("Choose a language.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["categories"].choices = category_choices()
        self.fields["foreign_categories"].choices = _category_codes()

    def clean_iin(self) -> str:
        return re.sub(r"\s+", "", self.cleaned_data["iin"])

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise forms.ValidationError(_("Use an ISO 3166-1 alpha-2 code."), code="invalid")
        return country

    def foreign_licence(self) -> dict:
        data = self.cleaned_data
        return {"country": data["country"], "number": data["number"].strip(), "categories": data["foreign_categories"],
                "valid_until": data["valid_until"].isoformat()}


def _exchange_url(application: Application) -> str:
    return reverse("desk:exchange", args=[application.pk])


@never_cache
@require_http_methods(["GET", "POST"])
@desk_required
def exchange_new(request):
    """The foreign licence and the categories asked for: the application opens (channel tson_branch) and the
    consent service sends the citizen a code."""
    language = current_language()
    form = ExchangeIntakeForm(request.POST if request.method == "POST" else None,
                              initial={"language": language if language in dict(SMS_LANGUAGES) else "kk"})
    if not form.is_bound:
        form.fields["iin"].widget.attrs["autofocus"] = True
    existing_iin = ""
    if form.is_bound and form.is_valid():
        try:
            application = services.start_application(
                service=Service.FOREIGN_EXCHANGE, iin=form.cleaned_data["iin"],
                categories=form.cleaned_data["categories"], channel=Channel.TSON_BRANCH, actor=request.user,
                foreign_licence=form.foreign_licence(), language=form.cleaned_data["language"])
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            if error.code == ApplicationErrorCode.ACTIVE_APPLICATION_EXISTS:
                existing_iin = form.cleaned_data.get("iin", "")
        else:
            return redirect("desk:exchange-consent", application.pk)
    return render(request, "staff/desk/exchange_new.html", {"form": form, "existing_iin": existing_iin},
                  status=400 if form.errors else 200)


# ---------------------------------------------------------------------------------------------------------------
# The consent code, read out by the citizen


class ConsentCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Consent code"), max_length=12,
        help_text=gettext_lazy("The 6 digits that came by SMS to the citizen's phone: the citizen reads them out."),
        error_messages={"required": gettext_lazy("Enter the 6 digits from the SMS.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}))

    def clean_code(self) -> str:
        code = re.sub(r"\s+", "", self.cleaned_data["code"])  # read out in two groups of three, typed as heard
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError(_("Enter the 6 digits from the SMS."), code="invalid")
        return code


def _tries_left(message: str, attempts_left) -> str:
    if attempts_left is None:
        return message
    return ngettext("%(message)s %(count)d try left.", "%(message)s %(count)d tries left.", attempts_left) % {
        "message": message, "count": attempts_left}


def _exchange(request, application_id, step: Step) -> Application:
    return _desk_application(request, application_id, step, service=Service.FOREIGN_EXCHANGE,
                             channel=Channel.TSON_BRANCH)


def _foreign_licence(application: Application) -> dict:
    """The foreign licence as entered, its date a date again (it is kept as JSON)."""
    foreign = dict(application.foreign_licence or {})
    try:
        foreign["valid_until"] = datetime.date.fromisoformat(foreign.get("valid_until") or "")
    except ValueError:
        foreign["valid_until"] = None
    return foreign


def _render_consent(request, application: Application, form: ConsentCodeForm, *, refusal: str = "",
                    status: int = 200):
    _log_read(request, application)
    state = application.consent.state
    if state == Consent.State.CODE_SENT and not form.errors:
        form.fields["code"].widget.attrs["autofocus"] = True  # what the operator types next
    return render(request, "staff/desk/exchange_consent.html", {
        "application": application, "foreign": _foreign_licence(application), "form": form, "refusal": refusal,
        "sending": state == Consent.State.REQUESTED, "code_sent": state == Consent.State.CODE_SENT,
        "deciding": state == Consent.State.DECISION_PENDING,
    }, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@desk_required
def exchange_consent(request, application_id):
    """The code the citizen reads out, confirmed with the consent service; or a new code sent."""
    application = _exchange(request, application_id, Step.CONSENT)
    if application.status != Status.CONSENT_PENDING:
        return redirect(_exchange_url(application))
    consent = application.consent
    if request.method == "GET":
        return _render_consent(request, application, ConsentCodeForm())
    if "resend" in request.POST:
        if consent.state != Consent.State.CODE_SENT:
            return _render_consent(request, application, ConsentCodeForm(), status=409,
                                   refusal=_("The code has not been sent yet. Try again in a few seconds."))
        try:
            services.resend_consent_code(application=application, actor=request.user)
        except ApplicationError as error:
            return _render_consent(request, application, ConsentCodeForm(), refusal=error.message,
                                   status=error.http_status)
        messages.success(request, _("A new code is on its way to the citizen's phone. The earlier code no longer "
                                    "works."))
        return redirect("desk:exchange-consent", application.pk)
    form = ConsentCodeForm(request.POST)
    if consent.state != Consent.State.CODE_SENT:
        return _render_consent(request, application, ConsentCodeForm(), status=409,
                               refusal=_("The code has not been sent yet. Try again in a few seconds."))
    if not form.is_valid():
        return _render_consent(request, application, form, status=400)
    try:
        services.confirm_consent(application=application, code=form.cleaned_data["code"], actor=request.user)
    except WrongStatus:
        return redirect(_exchange_url(application))  # refused or confirmed meanwhile: the status page says which
    except ApplicationError as error:
        if error.extra.get("attempts_left") == 0:
            return redirect(_exchange_url(application))  # no tries left: refused, and the status page says why
        if error.field == "code":
            form.add_error("code", _tries_left(error.message, error.extra.get("attempts_left")))
            return _render_consent(request, application, form, status=400)
        return _render_consent(request, application, form, refusal=error.message, status=error.http_status)
    return redirect(_exchange_url(application))


# ---------------------------------------------------------------------------------------------------------------
# The checks, the form, the number


class DeskDetailsForm(ApplicationDetailsForm):
    """The portal's form (step 11) asked by the operator: the same fields and rules, the operator's words."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].label = _("The citizen's mobile phone")
        self.fields["pickup_tson"].label = _("TSON where the citizen collects the licence")


def _check_rows(application: Application) -> list[dict]:
    """Each check with what it says now; one never reached says "not asked", not "pending"."""
    waiting = application.status in WAITING_STATUSES
    rows = []
    for check in sorted(application.checks.all(), key=lambda check: check.position):
        if check.outcome == Check.Outcome.PENDING:
            result = _("Not asked yet") if waiting else _("Not asked")
        elif check.outcome == Check.Outcome.ERROR and waiting:
            result = _("Not answering: asked again automatically")
        else:
            result = check.get_outcome_display()
        rows.append({"check": check, "result": result})
    return rows


def _exchange_context(application: Application) -> dict:
    country = (application.foreign_licence or {}).get("country", "")
    return {"application": application, "foreign": _foreign_licence(application),
            "check_rows": _check_rows(application),
            "theory_required": ForeignLicenceCountry.theory_exam_required_for(country) if country else True}


@never_cache
@require_http_methods(["GET", "POST"])
@desk_required
def exchange(request, application_id):
    """Where the exchange is: the checks (and a refusal, with its step and reason), the form once it is eligible,
    then the number and what comes next."""
    application = _exchange(request, application_id, Step.SUBMIT if request.method == "POST" else Step.READ)
    if application.status == Status.CONSENT_PENDING:
        return redirect("desk:exchange-consent", application.pk)
    application = Application.objects.prefetch_related("checks").select_related("pickup_tson").get(
        pk=application.pk)
    status = 200
    form = None
    if application.status == Status.ELIGIBLE:
        form = DeskDetailsForm(request.POST if request.method == "POST" else None, application=application)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                services.submit_application(application=application, phone=data["phone"], email=data["email"],
                                            language=data.get("language", ""), pickup_tson=data["pickup_tson"].code,
                                            actor=request.user)
            except WrongStatus:
                pass  # submitted meanwhile (a double click): the page as it is now says so
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                return redirect(_exchange_url(application))
        if form.errors:
            status = 400
        elif form.is_bound:
            return redirect(_exchange_url(application))
    elif request.method == "POST":
        return redirect(_exchange_url(application))  # nothing to submit now: the page says where it is
    _log_read(request, application)
    context = _exchange_context(application)
    if application.status in (*WAITING_STATUSES, Status.REFUSED, Status.CANCELLED):
        context["refused"] = refused_checks(application) if application.status == Status.REFUSED else []
        return render(request, "staff/desk/exchange_checks.html", context)
    if form is not None:
        return render(request, "staff/desk/exchange_form.html", {**context, "form": form}, status=status)
    return render(request, "staff/desk/exchange_done.html", context)
