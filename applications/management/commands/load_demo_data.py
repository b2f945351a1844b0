"""Demo data for `make run` and by-hand trials: centres, staff of every role, a demo API client. Idempotent."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import ChannelApiKey, ChannelKind, Organisation, Role
from accounts.services import ensure_staff_user
from applications.models import Centre

DEMO_CENTRES = [
    # code, name, city, address, TSON desk, exams
    ("ast-spec", "Астана қаласы бойынша мамандандырылған ХҚКО", "Астана", "Бөгенбай батыр 2", True, True),
    ("ast-tson-1", "Есіл ауданының ХҚКО", "Астана", "Мәңгілік Ел даңғылы 12", True, False),
    ("alm-spec", "Алматы қаласы бойынша мамандандырылған ХҚКО", "Алматы", "Райымбек даңғылы 515", True, True),
    ("alm-tson-2", "Бостандық ауданының ХҚКО", "Алматы", "Байзақов көшесі 303", True, False),
    ("shy-spec", "Шымкент қаласы бойынша мамандандырылған ХҚКО", "Шымкент", "Байтұрсынов көшесі 14", True, True),
]

# Known demo credentials, shown in the README. Never created outside sandbox mode.
DEMO_STAFF = [
    (Role.TSON_OPERATOR, "operator", "demo-operator-2026"),
    (Role.EXAMINER, "examiner", "demo-examiner-2026"),
    (Role.POLICE_OFFICER, "officer", "demo-officer-2026"),
    (Role.ADMIN, "admin", "demo-admin-2026"),
]
DEMO_API_CLIENT = ("Demo Bank", ChannelKind.BANK, "demobank.kualik-demo-bank-api-key-0001")


class Command(BaseCommand):
    help = "Create or refresh the demo centres, staff (one per role) and API client. Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        if not settings.SANDBOX_MODE:
            raise CommandError("demo data carries known passwords and keys: it is only loaded in sandbox mode")
        for code, name, city, address, tson, exams in DEMO_CENTRES:
            Centre.objects.update_or_create(
                code=code,
                defaults={"name": name, "city": city, "address": address, "offers_tson": tson,
                          "offers_exams": exams, "is_active": True},
            )
        for role, username, password in DEMO_STAFF:
            ensure_staff_user(role=role, username=username, password=password)

        name, channel, key = DEMO_API_CLIENT
        organisation, _ = Organisation.objects.get_or_create(name=name, channel=channel)
        prefix = key.partition(".")[0]
        if not ChannelApiKey.objects.filter(prefix=prefix).exists():
            api_key = ChannelApiKey(name=name, organisation=organisation, prefix=prefix,
                                    hashed_key=ChannelApiKey.objects.key_generator.hash(key))
            api_key.id = f"{prefix}.{api_key.hashed_key}"
            api_key.save()

        self.stdout.write(f"Demo data ready: {len(DEMO_CENTRES)} centres, {len(DEMO_STAFF)} staff users, "
                          f"API client {name!r} with key {key}")
