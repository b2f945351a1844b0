import time

from django.core.management.base import BaseCommand

from applications.tasks import sweep


class Command(BaseCommand):
    help = ("Push applications that wait on a registry, once or --every N seconds: what Celery beat does every 30 s, "
            "for an operator who needs it by hand.")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds until stopped")

    def handle(self, *args, every, **options):
        while True:
            result = sweep.apply().get()
            if any(result.values()):
                self.stdout.write(f"sweep: {result}")
            if not every:
                return
            time.sleep(every)
