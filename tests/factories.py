"""factory-boy factories for every model the tests build."""

import random

import factory
from django.utils import timezone

from accounts.models import ChannelApiKey, ChannelKind, Organisation, Role, User
from applications.iin import iin_check_digit
from applications.models import Application, Centre, Channel, Service, StatusChange


def make_iin(rng: random.Random | None = None, *, birth_year: int = 1990) -> str:
    """A valid IIN for someone born in `birth_year` (a random day and serial)."""
    rng = rng or random.Random()
    century_digit = {18: 1, 19: 3, 20: 5}[birth_year // 100]
    while True:
        birth = f"{birth_year % 100:02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        body = f"{birth}{century_digit}{rng.randint(0, 9999):04d}"
        check = iin_check_digit(body)
        if check is not None:
            return body + str(check)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.CITIZEN
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    role = Role.TSON_OPERATOR


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Partner {n}")
    channel = ChannelKind.BANK


def api_key_for(organisation: Organisation) -> str:
    """Create a key for the organisation and return it in clear, as the client would hold it."""
    _api_key, key = ChannelApiKey.objects.create_key(name=organisation.name[:50], organisation=organisation)
    return key


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Centre
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"centre-{n}")
    name = factory.Sequence(lambda n: f"TSON {n}")
    city = "Астана"
    offers_tson = True
    offers_exams = True


class ApplicationFactory(factory.django.DjangoModelFactory):
    """An application as just created: consent pending, with its first history entry."""

    class Meta:
        model = Application
        skip_postgeneration_save = True

    service = Service.FIRST_ISSUE
    channel = Channel.BANK
    iin = factory.LazyFunction(make_iin)
    categories = factory.LazyFunction(lambda: ["B"])
    organisation = factory.SubFactory(OrganisationFactory)

    @factory.post_generation
    def history(obj, create, extracted, **kwargs):
        if create:
            StatusChange.objects.create(application=obj, from_status="", to_status=obj.status, at=timezone.now(),
                                        actor_kind=StatusChange.ActorKind.SYSTEM)


# --- exams ----------------------------------------------------------------------------------------------------


def application_at_exams(*, status: str = "theory_exam", categories=("B",), **fields) -> Application:
    """An application past consent, checks and submit, waiting for its theory (or, with `status`, practical) exam."""
    from applications.services import next_application_number
    from applications.workflow import move_application

    application = ApplicationFactory(categories=list(categories), **fields)
    for step in ("record_consent", "mark_eligible"):
        application = move_application(application_id=application.pk, transition=step)
    Application.objects.filter(pk=application.pk).update(
        number=next_application_number(), phone="+77010000001", language="kk",
        pickup_tson=CentreFactory(code="pickup-tson", offers_exams=False))
    application = move_application(application_id=application.pk, transition="submit")
    if status == "practical_exam":
        application = move_application(application_id=application.pk, transition="pass_theory_exam")
    return Application.objects.get(pk=application.pk)


class ExamSlotFactory(factory.django.DjangoModelFactory):
    """A slot at an exam centre, starting tomorrow by default, serving category B."""

    class Meta:
        model = "exams.ExamSlot"
        skip_postgeneration_save = True

    centre = factory.SubFactory(CentreFactory, code="exam-centre", offers_exams=True)
    kind = "theory"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=1))
    capacity = 10

    @factory.post_generation
    def categories(obj, create, extracted, **kwargs):
        if create:
            from applications.models import Category

            obj.categories.set(Category.objects.filter(code__in=extracted or ["B"]))
