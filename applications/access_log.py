"""The personal-data access log: writing it, and saying each entry in plain words."""

from django.utils.translation import gettext_lazy as _

from .models import Application, PersonalDataAccess

# What each kind of access reads, as the citizen is told.
WHAT = {
    "registry:consent": _("Your IIN, to ask for your consent"),
    "registry:person": _("Your name, date of birth and whether a photo is held"),
    "registry:licence_registry": _("The driving licences you hold"),
    "registry:erap": _("Exam bans and deprivations of the right to drive"),
    "registry:medical": _("Whether a valid medical certificate 073/у exists"),
    "registry:erdb": _("Whether you are registered at a dispensary (yes or no only)"),
    "registry:driving_school": _("Your driving school certificates"),
    "registry:exam_attempts": _("The number of your earlier exam attempts"),
    "registry:sms": _("Your IIN, to send you an SMS"),
    "registry:exam_results": _("Your IIN and an exam result (passed or not, the score)"),
    "application": _("The application with your personal data"),
    "photo": _("Your licence photo"),
    "application:admin": _("The whole application in the administration site"),
}


def describe_what(key: str) -> str:
    return str(WHAT.get(key, key))


def registry_access(application: Application, registry: str, purpose: str) -> PersonalDataAccess:
    """An unsaved log row for one request to a registry about the application's person (bulk-created)."""
    return PersonalDataAccess(
        application=application, actor_kind=PersonalDataAccess.ActorKind.REGISTRY, registry=registry,
        actor_organisation=None, role="", purpose=purpose, what=f"registry:{registry}",
    )
