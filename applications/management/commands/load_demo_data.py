"""Demo data for `make run` and by-hand trials: centres, staff of every role, a demo API client, and what the apps
that follow add through `demo_data_loaded` (exam slots for the next 30 days, the demo question bank). Idempotent."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import ChannelApiKey, ChannelKind, Organisation, Role
from accounts.services import ensure_staff_user
from applications.demo import demo_data_loaded
from applications.models import Centre

DEMO_CENTRES = [
    # code, TSON desk, exams, then (name, city, address) in Kazakh, Russian and English
    ("ast-spec", True, True,
     ("Астана қаласы бойынша мамандандырылған ХҚКО", "Астана", "Бөгенбай батыр даңғылы, 2"),
     ("Специализированный ЦОН по городу Астане", "Астана", "проспект Богенбай батыра, 2"),
     ("Specialised Public Service Centre of Astana", "Astana", "2 Bogenbay Batyr Avenue")),
    ("ast-tson-1", True, False,
     ("Есіл ауданының ХҚКО", "Астана", "Мәңгілік Ел даңғылы, 12"),
     ("ЦОН района Есиль", "Астана", "проспект Мангилик Ел, 12"),
     ("Public Service Centre of Yesil District", "Astana", "12 Mangilik Yel Avenue")),
    ("alm-spec", True, True,
     ("Алматы қаласы бойынша мамандандырылған ХҚКО", "Алматы", "Райымбек даңғылы, 515"),
     ("Специализированный ЦОН по городу Алматы", "Алматы", "проспект Райымбека, 515"),
     ("Specialised Public Service Centre of Almaty", "Almaty", "515 Raiymbek Avenue")),
    ("alm-tson-2", True, False,
     ("Бостандық ауданының ХҚКО", "Алматы", "Байзақов көшесі, 303"),
     ("ЦОН Бостандыкского района", "Алматы", "улица Байзакова, 303"),
     ("Public Service Centre of Bostandyk District", "Almaty", "303 Baizakov Street")),
    ("shy-spec", True, True,
     ("Шымкент қаласы бойынша мамандандырылған ХҚКО", "Шымкент", "Байтұрсынов көшесі, 14"),
     ("Специализированный ЦОН по городу Шымкенту", "Шымкент", "улица Байтурсынова, 14"),
     ("Specialised Public Service Centre of Shymkent", "Shymkent", "14 Baitursynov Street")),
]

# Known demo credentials, shown in the README. Never created outside sandbox mode.
DEMO_STAFF = [
    (Role.TSON_OPERATOR, "operator", "demo-operator-2026"),
    (Role.EXAMINER, "examiner", "demo-examiner-2026"),
    (Role.POLICE_OFFICER, "officer", "demo-officer-2026"),
    (Role.SUPERVISOR, "supervisor", "demo-supervisor-2026"),
    (Role.ADMIN, "admin", "demo-admin-2026"),
]
DEMO_API_CLIENT = ("Demo Bank", ChannelKind.BANK, "demobank.kualik-demo-bank-api-key-0001")


class Command(BaseCommand):
    help = "Create or refresh the demo centres, staff (one per role) and API client. Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        if not settings.SANDBOX_MODE:
            raise CommandError("demo data carries known passwords and keys: it is only loaded in sandbox mode")
        for code, tson, exams, kazakh, russian, english in DEMO_CENTRES:
            names = {}
            for suffix, (name, city, address) in (("", kazakh), ("_ru", russian), ("_en", english)):
                names.update({f"name{suffix}": name, f"city{suffix}": city, f"address{suffix}": address})
            Centre.objects.update_or_create(
                code=code, defaults={**names, "offers_tson": tson, "offers_exams": exams, "is_active": True})
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

        demo_data_loaded.send(sender=self.__class__, stdout=self.stdout)
        self.stdout.write(f"Demo data ready: {len(DEMO_CENTRES)} centres, {len(DEMO_STAFF)} staff users, "
                          f"API client {name!r} with key {key}")
