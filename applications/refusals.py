"""Why an application was refused, in the citizen's language: which step refused, why, and what to do next."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Registry


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
