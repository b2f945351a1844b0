"""Reads that more than one page or API view needs. No request or HTTP objects here: callers pass the user."""

from django.db.models import Prefetch, Q, QuerySet

from . import sections
from .models import Application, PersonalDataAccess, StatusChange


def _history() -> Prefetch:
    return Prefetch("history", queryset=StatusChange.objects.order_by("at", "id"))


def applications_with_history() -> QuerySet[Application]:
    """Applications with their history loaded in one extra query, not one per application."""
    return Application.objects.select_related("pickup_tson", "organisation").prefetch_related(_history())


def applications_in_full() -> QuerySet[Application]:
    """Applications with all that the Application shows (checks, consent, history, and what the apps that follow
    register in `sections`, such as exam bookings): a fixed number of queries."""
    return (applications_with_history().select_related("consent", "licence_record")
            .prefetch_related("checks", "licence_record__cards", *sections.prefetches()))


def _of_citizen(user) -> Q:
    # Everything for the citizen's IIN, whatever the channel it came through, and whatever they opened themselves.
    condition = Q(citizen=user)
    if user.iin:
        condition |= Q(iin=user.iin)
    return condition


def applications_for_citizen(user) -> QuerySet[Application]:
    """The citizen's applications, newest first, each with its history (one query for all of them)."""
    return applications_with_history().filter(_of_citizen(user)).order_by("-created_at", "-id")


def application_for_citizen(user, application_id) -> Application | None:
    """One of the citizen's applications with its checks, consent and history; None if it is not theirs."""
    return applications_in_full().filter(_of_citizen(user), pk=application_id).first()


def citizen_may_act(application: Application, user) -> bool:
    """Whether the citizen takes the application's steps on the portal (consent, form, cancel). An application
    that a bank, a driving school, an app or a TSON opened for them stays with that channel: they may only read it."""
    return application.citizen_id is not None and application.citizen_id == user.pk


def access_log_for_citizen(user) -> QuerySet[PersonalDataAccess]:
    """Every read of the citizen's personal data, newest first, with the application each one is about."""
    applications = Application.objects.filter(_of_citizen(user)).values("pk")
    return (PersonalDataAccess.objects.filter(application__in=applications)
            .select_related("application", "actor_organisation").order_by("-at", "-id"))
