"""The police officer's pages (/staff/review/): the queue, the application with everything the decision needs, and
the decision. They call the same services as the API (reviews.services); any role but police_officer finds no page."""

import functools
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import Role
from accounts.staff_views import staff_required
from applications import sections
from applications.errors import ApplicationError
from applications.models import Application, Check, Payment, RefusalReason, Status, StatusChange

from . import selectors, services
from .errors import ReviewError, ReviewErrorCode
from .staff_forms import DecisionForm, QueueFilterForm, make_cursor, parse_cursor

PAGE_SIZE = 50
APPROVED_STATUSES = (Status.APPROVED, Status.PRINTED, Status.ISSUED)  # an approval stays one after printing
# A decision that cannot be taken now (another officer holds it, or it was decided meanwhile) is a conflict.
CONFLICT_CODES = {ReviewErrorCode.CLAIMED, "wrong_status"}


def police_required(view):
    """A signed-in police officer; any other staff role (and a citizen) finds no page here."""

    @staff_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.role != Role.POLICE_OFFICER:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _active_claim(application, now):
    # Reverse one-to-one: a missing claim raises an AttributeError subclass, so getattr's default answers it.
    claim = getattr(application, "review_claim", None)
    return claim if claim is not None and claim.expires_at > now else None


# ---------------------------------------------------------------------------------------------------------------
# The queue


def _queue_rows(applications, now) -> list[dict]:
    return [{"application": application, "claim": _active_claim(application, now),
             "days": (now - application.under_review_since).days} for application in applications]


@never_cache
@require_safe
@police_required
def queue(request):
    form = QueueFilterForm(request.GET or None)
    context = {"form": form, "rows": [], "count": None}
    if form.is_bound and not form.is_valid():
        context["error_links"] = [(form[name].id_for_label, error) for name, errors in form.errors.items()
                                  for error in errors]
        return render(request, "staff/review/queue.html", context, status=400)
    applications = selectors.review_queue(**(form.filters() if form.is_bound else {}))
    context["count"] = applications.count()
    # Keyset pagination on the queue's order: each page costs the same, however deep (an index covers it).
    position = parse_cursor(request.GET.get("after", ""))
    if position is not None:
        at, pk = position
        applications = applications.filter(Q(under_review_since__gt=at) | Q(under_review_since=at, pk__gt=pk))
    page = list(applications[:PAGE_SIZE + 1])
    now = timezone.now()
    context["rows"] = _queue_rows(page[:PAGE_SIZE], now)
    chosen = {name: request.GET[name] for name in form.fields if request.GET.get(name)}
    if len(page) > PAGE_SIZE:
        context["next_page"] = f"?{urlencode({**chosen, 'after': make_cursor(page[PAGE_SIZE - 1])})}"
    if position is not None:
        context["first_page"] = f"?{urlencode(chosen)}" if chosen else reverse("review:queue")
    context["filtered"] = bool(chosen)
    return render(request, "staff/review/queue.html", context)


# ---------------------------------------------------------------------------------------------------------------
# The application


def _in_full(pk) -> Application:
    """The application with all that its page shows, in a fixed number of queries."""
    return (Application.objects.select_related("pickup_tson", "organisation", "review_claim__officer")
            .prefetch_related(
                Prefetch("checks", queryset=Check.objects.order_by("position")),
                Prefetch("history", queryset=StatusChange.objects.select_related("actor_user", "actor_organisation")
                         .order_by("at", "id")),
                Prefetch("payments", queryset=Payment.objects.order_by("created_at")),
                *sections.prefetches())  # the exam bookings, which the exams app registers
            .get(pk=pk))


def _actor(change: StatusChange) -> str:
    if change.actor_kind == StatusChange.ActorKind.STAFF and change.actor_user is not None:
        return f"{change.actor_user.get_username()} · {change.actor_user.get_role_display()}"
    if change.actor_kind == StatusChange.ActorKind.CHANNEL and change.actor_organisation is not None:
        return f"{change.actor_organisation.name} · {change.get_actor_kind_display()}"
    return change.get_actor_kind_display()


def _exam_attempts(application: Application) -> list:
    """Each exam taken (passed or failed), in the order they were taken; booked or cancelled seats are not attempts."""
    attempts = [booking for booking in application.exam_bookings.all() if booking.status in ("passed", "failed")]
    return sorted(attempts, key=lambda booking: (booking.result_at, booking.pk))


def _decision(application: Application) -> dict | None:
    """The police decision taken on it, if any: approve, or refuse with the catalogue's reason and the comment."""
    if application.status in APPROVED_STATUSES:
        decision = DecisionForm.APPROVE
    elif application.status == Status.REFUSED and application.refusal_code == "officer_refused":
        decision = DecisionForm.REFUSE
    else:
        return None
    target = Status.APPROVED if decision == DecisionForm.APPROVE else Status.REFUSED
    change = next((change for change in application.history.all() if change.to_status == target), None)
    return {"decision": decision, "at": application.decided_at, "by": _actor(change) if change else "",
            "reason": RefusalReason.title_for(application.officer_reason_code)
            if application.officer_reason_code else "",
            "comment": application.refusal_comment}


def _render_application(request, application: Application, form: DecisionForm, *, status: int = 200):
    services.open_for_review(application=application, officer=request.user)
    application = _in_full(application.pk)
    now = timezone.now()
    claim = _active_claim(application, now)
    under_review = application.status == Status.UNDER_REVIEW
    paid = [payment for payment in application.payments.all() if payment.status == Payment.State.PAID]
    error_links = [(f"id_{name}" if name != "__all__" else "decision-title", error)
                   for name, errors in form.errors.items() for error in errors]
    return render(request, "staff/review/application.html", {
        "application": application, "form": form, "error_links": error_links,
        "under_review": under_review,
        "claim": claim if under_review else None,
        "held_by_me": under_review and claim is not None and claim.officer_id == request.user.pk,
        "held_by_other": under_review and claim is not None and claim.officer_id != request.user.pk,
        "days_waiting": (now - application.under_review_since).days if application.under_review_since else None,
        "checks": list(application.checks.all()),
        "attempts": _exam_attempts(application),
        "payment": paid[-1] if paid else None,
        "history": [{"change": change, "by": _actor(change)} for change in application.history.all()],
        "decision": _decision(application),
    }, status=status)


def _application_or_404(pk) -> Application:
    # The services lock and reload the row themselves: only what the messages name is read here.
    application = Application.objects.only("pk", "number").filter(pk=pk).first()
    if application is None:
        raise Http404
    return application


@never_cache
@require_http_methods(["GET", "POST"])
@police_required
def application_page(request, pk):
    """Opening it claims it for the officer (while nobody else holds it) and is logged in the citizen's access log."""
    application = _application_or_404(pk)
    if request.method == "GET":
        return _render_application(request, application, DecisionForm())
    form = DecisionForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            decided = services.decide_application(
                application=application, decision=data["decision"], officer=request.user,
                reason_code=data["reason_code"], comment=data["comment"])
        except (ReviewError, ApplicationError) as error:
            form.add_error(DecisionForm.SERVICE_FIELDS.get(error.field), error.message)
            status = 409 if error.code in CONFLICT_CODES else 400
        else:
            if decided.status == Status.APPROVED:
                messages.success(request, _("Application %(number)s is approved.") % {"number": decided.number})
            else:
                messages.success(request, _("Application %(number)s is refused: %(reason)s.") % {
                    "number": decided.number, "reason": RefusalReason.title_for(data["reason_code"])})
            return redirect("review:queue")
    return _render_application(request, application, form, status=status)


@require_POST
@police_required
def release(request, pk):
    """The officer gives the application back to the queue before the claim runs out."""
    application = _application_or_404(pk)
    services.release_claim(application=application, officer=request.user)
    messages.success(request, _("You released application %(number)s: another officer may take it now.")
                     % {"number": application.number})
    return redirect("review:queue")
