"""The licence (steps 17 and 18): its number, the card and its verification code, a reprint, the verification of a
code, and the hand-over at the TSON (for a replacement the old licence becomes replaced, here and in the registry).

Printing is the police's step (`reviews.services.print_licence` calls `issue_licence` here): the applications app
keeps the licence, the reviews app decides when it is printed.
"""

import datetime
import logging
import uuid

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.jobs import enqueue_on_commit
from registries.clients import PersonQuery, licence_records_client, person_client
from registries.results import Outcome

from .. import representation_cache
from ..access_log import registry_access
from ..errors import ApplicationError, ApplicationErrorCode, WrongStatus
from ..models import (
    Application,
    CardPrint,
    Category,
    Check,
    Licence,
    LicenceNumberCounter,
    PersonalDataAccess,
    Registry,
    Service,
    ServicePolicy,
    Status,
)
from ..verification import InvalidCode, LicenceSeal, sign, verify
from ..workflow import lock, move_application

logger = logging.getLogger(__name__)


def next_licence_number(policy: ServicePolicy | None = None) -> str:
    """A new licence number in the policy's format. The counter row is locked by its UPDATE until the caller's
    transaction ends (after the application's lock: the kernel's order), so no number is given twice or reused."""
    policy = policy or ServicePolicy.current()
    with transaction.atomic():
        LicenceNumberCounter.objects.get_or_create(name="licence")
        LicenceNumberCounter.objects.filter(name="licence").update(last_value=F("last_value") + 1)
        serial = LicenceNumberCounter.objects.get(name="licence").last_value
    return policy.licence_number(serial)


def _ordered_categories(codes) -> list[str]:
    positions = {code: category.position for code, category in Category.issued_by_code().items()}
    return sorted(dict.fromkeys(codes), key=lambda code: (positions.get(code, 999), code))


def _seal(licence: Licence) -> LicenceSeal:
    return LicenceSeal(number=licence.number, categories=licence.categories, issued_on=licence.issued_on,
                       expires_on=licence.expires_on, surname=licence.surname, initials=licence.initials,
                       issuer=settings.LICENCE_ISSUER, key_id=settings.LICENCE_SIGNING_KEY_ID,
                       card_id=uuid.uuid4().hex)


def _new_card(licence: Licence, *, officer, reason: str = "") -> CardPrint:
    return CardPrint.objects.create(licence=licence, verification_code=sign(_seal(licence)),
                                    key_id=settings.LICENCE_SIGNING_KEY_ID, printed_by=officer,
                                    reprint_reason=reason)


def _person_for_card(application: Application) -> dict:
    consent = getattr(application, "consent", None)
    query = PersonQuery(iin=application.iin, consent_request=consent.request_id if consent else "")
    person = person_client("person").details(query)
    registry_access(application, "person", PersonalDataAccess.Purpose.CASE_HANDLING).save()
    if person is None:
        raise ApplicationError(ApplicationErrorCode.REGISTRY_UNAVAILABLE,
                               _("The person registry does not answer: the card cannot be printed now. Please try "
                                 "again in a few minutes."))
    return person


def _licence_being_replaced(application: Application) -> Licence | None:
    if application.service != Service.REPLACEMENT:
        return None
    facts = (Check.objects.filter(application=application, registry=Registry.LICENCE_REGISTRY)
             .values_list("facts", flat=True).first()) or {}
    number = facts.get("number")
    return Licence.objects.filter(number=number).first() if number else None


def issue_licence(*, application: Application, officer) -> Licence:
    """The licence for an approved application, printed: number, dates from policy, the holder as the person
    registry has them, the first card with its signed code. Inside the caller's transaction and lock."""
    person = _person_for_card(application)
    policy = ServicePolicy.current()
    today = timezone.localdate()
    replaced = _licence_being_replaced(application)
    check_facts = (Check.objects.filter(application=application, registry=Registry.LICENCE_REGISTRY)
                   .values_list("facts", flat=True).first()) or {}
    licence = Licence.objects.create(
        number=next_licence_number(policy), application=application, iin=application.iin,
        categories=_ordered_categories(application.categories or check_facts.get("categories") or []),
        issued_on=today, expires_on=today + relativedelta(years=policy.licence_validity_years) - datetime.timedelta(
            days=1),
        authority=policy.issuing_authority, surname=person["surname"],
        given_names=" ".join(part for part in (person["given_names"], person["patronymic"]) if part),
        birth_date=datetime.date.fromisoformat(person["birth_date"]) if person.get("birth_date") else None,
        birth_place=person["birth_place"], residence=person["address"], replaces=replaced,
        replaces_number=(replaced.number if replaced else check_facts.get("number", "")) or "")
    _new_card(licence, officer=officer)
    return licence


@transaction.atomic
def reprint_card(*, application: Application, officer, reason: str) -> CardPrint:
    """A spoiled card printed again: the same number; the earlier card's code is superseded (and so no longer
    verifies as current). The reason is kept with the new card."""
    application = lock(application.pk).application
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(ApplicationErrorCode.MISSING_FIELD, _("Say why the card is printed again."),
                               field="reason")
    licence = Licence.objects.select_for_update().filter(application=application).first()
    if licence is None or application.status != Status.PRINTED:
        raise WrongStatus(application, "reprint", _("Only a printed card that waits at the TSON can be printed "
                                                    "again."))
    CardPrint.objects.filter(licence=licence, superseded_at__isnull=True).update(superseded_at=timezone.now())
    card = _new_card(licence, officer=officer, reason=reason[:300])
    representation_cache.forget(application.pk)
    return card


def current_card(licence: Licence) -> CardPrint | None:
    return next((card for card in licence.cards.all() if card.superseded_at is None), None)


def verify_licence_code(code: str) -> dict:
    """The contract's verify answer: a genuine code says what its licence is now; anything else `{"valid": false}`.
    A card superseded by a reprint answers as `replaced` (that card was)."""
    try:
        seal = verify(code)
    except InvalidCode:
        return {"valid": False}
    licence = Licence.objects.filter(number=seal.number).first()
    if licence is None:
        return {"valid": False}
    status = licence.current_status()
    superseded = CardPrint.objects.filter(licence=licence, verification_code=code.strip(),
                                          superseded_at__isnull=False).exists()
    if superseded and status == Licence.State.VALID:
        status = Licence.State.REPLACED
    return {"valid": status == Licence.State.VALID, "status": status, "number": licence.number,
            "categories": licence.categories, "expires_on": licence.expires_on.isoformat(),
            "holder": {"surname": seal.surname, "initials": seal.initials}}


@transaction.atomic
def hand_over(*, application: Application, identity_checked: bool, actor) -> Application:
    """The card handed to its holder at the TSON, once their identity document is checked. For a replacement the
    licence it replaces becomes replaced here, and the licence registry is told (after commit, retried)."""
    application = lock(application.pk).application
    if application.status != Status.PRINTED:
        raise WrongStatus(application, "hand_over")
    if identity_checked is not True:
        raise ApplicationError(ApplicationErrorCode.VALIDATION_ERROR,
                               _("Confirm that you checked the holder's identity document."), field="identity_checked")
    licence = Licence.objects.select_for_update().get(application=application)
    if licence.replaces_id:
        Licence.objects.filter(pk=licence.replaces_id, status=Licence.State.VALID).update(
            status=Licence.State.REPLACED, status_changed_at=timezone.now())
        representation_cache.forget(licence.replaces.application_id)  # that application shows its licence too
    application = move_application(application=application, transition="hand_over", actor=actor)
    enqueue_on_commit("applications.tasks.record_licence_in_registry", licence.pk)
    return application


def record_licence_in_registry(*, licence_id) -> str:
    """Tell the licence registry of the licence handed over (and of the one it replaces)."""
    licence = Licence.objects.select_related("application").filter(pk=licence_id).first()
    if licence is None:
        return "done"
    registry_access(licence.application, "licence_registry", PersonalDataAccess.Purpose.CASE_HANDLING).save()
    answer = licence_records_client.record(
        iin=licence.iin, number=licence.number, categories=licence.categories,
        issued_on=licence.issued_on.isoformat(), expires_on=licence.expires_on.isoformat(),
        replaces=licence.replaces_number)
    return "recorded" if answer.outcome == Outcome.PASSED else "unavailable"
