"""The form and the number (steps 11 and 12), and cancelling before the police review."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import representation_cache
from ..errors import ApplicationError, ApplicationErrorCode, WrongStatus
from ..models import Application, ApplicationNumberCounter, Centre, ForeignLicenceCountry, Service, Status
from ..workflow import lock, move_application
from .formalization import use_registry_photo


def next_application_number(*, on=None) -> str:
    """A new application number, DL-<year>-<serial>.

    The counter row is the last lock of the fixed order (after the application's): the UPDATE holds it until the
    caller's transaction ends, so two submissions never get the same number, and it only goes up, so none is reused.
    """
    year = (on or timezone.localdate()).year
    with transaction.atomic():
        ApplicationNumberCounter.objects.get_or_create(year=year)
        ApplicationNumberCounter.objects.filter(year=year).update(last_value=F("last_value") + 1)
        value = ApplicationNumberCounter.objects.get(year=year).last_value
    return f"DL-{year}-{value:06d}"


@transaction.atomic
def submit_application(*, application: Application, phone: str, language: str, pickup_tson: str,
                       email: str = "", actor) -> Application:
    """The citizen's form: contact, exam language and the TSON to collect the card. Assigns the number."""
    application = lock(application.pk).application
    if application.status != Status.ELIGIBLE:
        raise WrongStatus(application, "submit")
    centre = Centre.objects.filter(code=pickup_tson, is_active=True, offers_tson=True).first()
    if centre is None:
        raise ApplicationError(ApplicationErrorCode.VALIDATION_ERROR, _("Choose a TSON that hands out licences."),
                               field="pickup_tson")
    country = (application.foreign_licence or {}).get("country", "")
    theory_required = (application.service == Service.FOREIGN_EXCHANGE
                       and ForeignLicenceCountry.theory_exam_required_for(country))
    application.number = next_application_number()
    application.phone, application.email, application.language = phone, email, language
    application.pickup_tson = centre
    use_registry_photo(application)  # a replacement: the photo the person registry holds, if it holds one
    representation_cache.forget(application.pk)
    return move_application(application=application, transition="submit", actor=actor,
                            theory_exam_required=theory_required)


def cancel_application(*, application: Application, actor) -> Application:
    """Withdrawn by the citizen or the channel before the police review (exams free their bookings on the signal)."""
    return move_application(application_id=application.pk, transition="cancel", actor=actor)
