"""Why an application was refused, in the citizen's language: which step refused, why, and what to do next."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Application, Check, RefusalReason, Registry


@dataclass(frozen=True)
class Refusal:
    step: int
    step_name: Promise
    reason: Promise
    next_step: Promise


REVIEW_STEP = gettext_lazy("Review by the police")

REFUSALS: dict[str, Refusal] = {
    "consent_failed": Refusal(
        4, Registry.CONSENT.label,
        gettext_lazy("consent to the use of your personal data was not given: it was declined, or the code was "
                     "entered wrongly too many times."),
        gettext_lazy("Apply again and confirm with the code that comes by SMS to your phone."),
    ),
    "person_not_found": Refusal(
        4, Registry.PERSON.label,
        gettext_lazy("the state registries do not know a person with this IIN."),
        gettext_lazy("Check the IIN. If it is right, contact a public service centre (TSON) to have your "
                     "details put in order."),
    ),
    "underage": Refusal(
        4, Registry.PERSON.label,
        gettext_lazy("you are younger than the minimum age for a category you asked for."),
        gettext_lazy("Apply again for the categories your age allows, or once you reach the minimum age."),
    ),
    "licence_exists": Refusal(
        5, Registry.LICENCE_REGISTRY.label,
        gettext_lazy("you already hold a valid driving licence."),
        gettext_lazy("To get a new card, apply for a replacement instead."),
    ),
    "licence_not_found": Refusal(
        5, Registry.LICENCE_REGISTRY.label,
        gettext_lazy("no licence that can be replaced was found in your name for these categories."),
        gettext_lazy("Check the categories and the reason for the replacement; if you never held a licence, "
                     "apply for a first licence."),
    ),
    "exam_ban": Refusal(
        6, Registry.ERAP.label,
        gettext_lazy("a court decision bars you from taking driving exams (Code of Administrative Offences, "
                     "Art. 608 parts 6-7 or Art. 613 parts 9-10)."),
        gettext_lazy("Apply again once the ban ends."),
    ),
    "licence_deprived": Refusal(
        6, Registry.ERAP.label,
        gettext_lazy("you are deprived of the right to drive."),
        gettext_lazy("Apply again once the deprivation ends."),
    ),
    "medical_certificate_missing": Refusal(
        7, Registry.MEDICAL.label,
        gettext_lazy("there is no valid medical certificate 073/у covering the categories you asked for."),
        gettext_lazy("Get a medical certificate 073/у at a clinic, then apply again."),
    ),
    "medical_registry": Refusal(
        8, Registry.ERDB.label,
        gettext_lazy("you are registered at a narcological or psychiatric dispensary."),
        gettext_lazy("Contact your dispensary about deregistration, then apply again."),
    ),
    "driving_school_certificate_missing": Refusal(
        9, Registry.DRIVING_SCHOOL.label,
        gettext_lazy("there is no driving school graduation certificate for a category you asked for."),
        gettext_lazy("Complete training at a driving school for that category, then apply again."),
    ),
    "officer_refused": Refusal(
        16, REVIEW_STEP,
        gettext_lazy("the police officer refused the application."),
        gettext_lazy("Read the officer's comment; you may apply again once it is resolved."),
    ),
}


def refusal_message(code: str) -> str:
    """The refusal in the active language: "Step 7, <step>: <reason> What you can do: <next step>"."""
    refusal = REFUSALS.get(code)
    if refusal is None:
        return _("The application was refused (%(code)s).") % {"code": code}
    return _("Step %(step)d, %(name)s: %(reason)s What you can do: %(next)s") % {
        "step": refusal.step, "name": refusal.step_name, "reason": refusal.reason, "next": refusal.next_step,
    }


def application_refusal_message(application: Application) -> str:
    """The refusal as the citizen reads it; an officer's refusal adds the reason of the catalogue and the comment."""
    message = refusal_message(application.refusal_code)
    if application.refusal_code == "officer_refused":
        if application.officer_reason_code:
            message += " " + _("Reason: %(reason)s.") % {
                "reason": RefusalReason.title_for(application.officer_reason_code)}
        if application.refusal_comment:
            message += " " + _("The officer's comment: %(comment)s") % {"comment": application.refusal_comment}
    return message


@dataclass(frozen=True)
class RefusedCheck:
    """One failed check as the refusal page shows it: the step, why, the registry's own facts, what to do."""

    step: int
    step_name: str
    reason: str
    next_step: str
    details: list[str] = field(default_factory=list)
    offer_replacement: bool = False


def _date(value: str) -> str:
    return datetime.date.fromisoformat(value).strftime("%d.%m.%Y")


def _details(code: str, facts: dict) -> list[str]:
    """The facts the registry gave that tell the citizen when, or what, to change."""
    if code == "exam_ban" and facts.get("until"):
        return [_("The ban ends on %(date)s.") % {"date": _date(facts["until"])}]
    if code == "licence_deprived" and facts.get("until"):
        return [_("The deprivation ends on %(date)s.") % {"date": _date(facts["until"])}]
    if code == "underage":
        return [_("Category %(category)s is issued from the age of %(age)d.")
                % {"category": item["category"], "age": item["minimum_age"]} for item in facts.get("underage", [])]
    if code == "medical_certificate_missing" and facts.get("valid_until"):
        valid_until = datetime.date.fromisoformat(facts["valid_until"])
        if valid_until < timezone.localdate():
            return [_("Your certificate was valid until %(date)s.") % {"date": _date(facts["valid_until"])}]
    return []


def refused_checks(application: Application) -> list[RefusedCheck]:
    """Every reason the application was refused, in the order of the algorithm: each failed check, or the
    officer's decision. The contract's `refusal.code` is the first of them."""
    failed = sorted((check for check in application.checks.all() if check.outcome == Check.Outcome.FAILED),
                    key=lambda check: check.position)
    codes = [check.code for check in failed]
    if application.refusal_code and application.refusal_code not in codes:
        failed = [Check(code=application.refusal_code, facts={}), *failed]
    shown = []
    for check in failed:
        refusal = REFUSALS.get(check.code)
        if refusal is None:
            shown.append(RefusedCheck(0, "", _("The application was refused (%(code)s).") % {"code": check.code}, ""))
            continue
        details = _details(check.code, check.facts or {})
        if check.code == "officer_refused" and application.officer_reason_code:
            details.append(_("Reason: %(reason)s.") % {
                "reason": RefusalReason.title_for(application.officer_reason_code)})
        if check.code == "officer_refused" and application.refusal_comment:
            details.append(_("The officer's comment: %(comment)s") % {"comment": application.refusal_comment})
        shown.append(RefusedCheck(refusal.step, str(refusal.step_name), str(refusal.reason), str(refusal.next_step),
                                  details, offer_replacement=check.code == "licence_exists"))
    return shown
