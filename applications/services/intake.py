"""Intake (steps 1 to 4): open an application and ask the consent service for the citizen's consent."""

from django.db import IntegrityError, connections, transaction
from django.utils.translation import gettext as _

from accounts.models import ChannelClient, User
from config.jobs import enqueue_on_commit
from config.languages import SERVICE_LANGUAGES

from .. import sections
from ..errors import ApplicationError, ApplicationErrorCode
from ..models import ALGORITHM_ORDER, Application, Category, Channel, Check, Consent, Registry, Service
from ..workflow import record_status
from .checks import applicable_registries, create_checks

# A service taken only through these channels; every other service is never taken at a TSON branch.
CHANNEL_SERVICES = {Service.FOREIGN_EXCHANGE: {Channel.TSON_BRANCH}}


def validate_categories(codes: list[str], *, required: bool) -> list[str]:
    """Known, issued categories, each with its prerequisite; returned in the order of the card."""
    if not codes:
        if required:
            raise ApplicationError(ApplicationErrorCode.MISSING_FIELD, _("Choose at least one category."),
                                   field="categories")
        return []
    issued = Category.issued_by_code()
    categories = {code: issued[code] for code in codes if code in issued}
    unknown = [code for code in codes if code not in categories]
    if unknown:
        raise ApplicationError(ApplicationErrorCode.INVALID_CATEGORY,
                               _("Unknown category: %(codes)s.") % {"codes": ", ".join(unknown)}, field="categories")
    for category in categories.values():
        if category.prerequisite and category.prerequisite.code not in categories:
            raise ApplicationError(
                ApplicationErrorCode.CATEGORY_PREREQUISITE,
                _("Category %(category)s needs category %(base)s as well.")
                % {"category": category.code, "base": category.prerequisite.code},
                field="categories",
            )
    return sorted(categories, key=lambda code: (categories[code].position, code))


def start_application(*, service: str, iin: str, categories: list[str], channel: str, actor,
                      replacement_reason: str | None = None, foreign_licence: dict | None = None,
                      language: str = "kk", savepoint: bool = True) -> Application:
    """Open an application and ask the consent service for the citizen's consent (steps 1 to 4).

    Nothing but the consent service is asked about the person until the citizen confirms. `savepoint=False`: the
    caller's transaction is rolled back whole on a refusal (the API's idempotent create), so inside it the writes
    take no savepoint of their own (two statements fewer); a conflict is then told from the error alone.
    """
    allowed_channels = CHANNEL_SERVICES.get(service)
    if (allowed_channels and channel not in allowed_channels) or (
        not allowed_channels and channel == Channel.TSON_BRANCH
    ):
        raise ApplicationError(ApplicationErrorCode.CHANNEL_NOT_ALLOWED,
                               _("This service is not taken through this channel."))
    categories = validate_categories(categories, required=service != Service.REPLACEMENT)
    try:
        with transaction.atomic(savepoint=savepoint):
            application = Application.objects.create(
                service=service, iin=iin, categories=categories, channel=channel,
                replacement_reason=replacement_reason if service == Service.REPLACEMENT else None,
                foreign_licence=foreign_licence if service == Service.FOREIGN_EXCHANGE else None,
                organisation=actor.organisation if isinstance(actor, ChannelClient) else None,
                citizen=actor if isinstance(actor, User) and not actor.is_staff_role else None,
                created_by=actor if isinstance(actor, User) and actor.is_staff_role else None,
                notify_language=language if language in SERVICE_LANGUAGES else "kk",
            )
            history = [record_status(application=application, from_status="", actor=actor)]
            checks = _create_checks(application)
            consent = Consent.objects.create(
                application=application, channel=channel,
                registries=[c.registry for c in checks if c.registry != Registry.CONSENT])
            # The consent service is asked by a task once the application is committed (so no code can reach the
            # citizen before the application knows its request): a slow consent service never holds up the
            # channel, and an unknown person is refused within seconds.
            _ask_for_consent(application.pk)
    except IntegrityError as error:
        if _is_active_application_conflict(error):
            raise ApplicationError(ApplicationErrorCode.ACTIVE_APPLICATION_EXISTS,
                                   _("This person already has an application in progress.")) from error
        raise
    # What the caller shows next is what was just written: no need to read it back. A new application has no
    # licence yet, nor anything of the apps that follow it (exam bookings).
    application._prefetched_objects_cache = {**sections.nothing_yet(), "checks": checks, "history": history}
    Application.licence_record.related.set_cached_value(application, None)
    application.consent = consent
    return application


def _ask_for_consent(application_id) -> None:
    enqueue_on_commit("applications.tasks.request_consent", str(application_id))


ACTIVE_APPLICATION_CONSTRAINT = "one_active_application_per_iin"


def _is_active_application_conflict(error: IntegrityError) -> bool:
    """The one-active-application-per-IIN index refused the row (read from the error: the transaction is aborted)."""
    diagnostic = getattr(error.__cause__, "diag", None)
    if diagnostic is not None:  # PostgreSQL names the constraint
        return diagnostic.constraint_name == ACTIVE_APPLICATION_CONSTRAINT
    return f"{Application._meta.db_table}.iin" in str(error)  # SQLite names the column of its only unique index


_CHECK_COLUMNS = [field.attname for field in Check._meta.concrete_fields]


def _create_checks(application: Application) -> list[Check]:
    """The application's checks, pending, in one INSERT from two arrays: bulk_create's per-row, per-field
    preparation of eight rows cost more than the rest of the rows of a create together (bench/api.py)."""
    connection = connections[Application.objects.db]
    if connection.vendor != "postgresql":
        return create_checks(application)
    registries = applicable_registries(service=application.service, replacement_reason=application.replacement_reason)
    positions = [ALGORITHM_ORDER.index(registry) for registry in registries]
    outcome = Check.Outcome.PENDING
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Check._meta.db_table)} (application_id, registry, position, outcome, code, "
            "error_reason, facts, attempts) SELECT %s, registry, position, %s, '', '', '{}'::jsonb, 0 "
            "FROM unnest(%s::varchar[], %s::smallint[]) AS pending(registry, position) RETURNING id, registry",
            [application.pk, outcome, registries, positions])
        ids = dict((registry, pk) for pk, registry in cursor.fetchall())
    # As the database holds them; `from_db` takes the values in the fields' order, the quickest way to a model.
    return [Check.from_db(connection.alias, _CHECK_COLUMNS,
                          (ids[registry], application.pk, registry, position, outcome, "", "", {}, None, 0, None))
            for registry, position in zip(registries, positions, strict=True)]
