"""manage.py rollup_performance [--full]: bring the dashboard's facts up to date now, or rebuild them from scratch
(after a deployment that adds them, or to repair them)."""

import time

from django.core.management.base import BaseCommand

from performance import rollup


class Command(BaseCommand):
    help = "Bring the performance dashboard's rollup up to date (--full: rebuild it from the history and checks)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="rebuild every fact from scratch")

    def handle(self, *args, full: bool = False, **options):
        began = time.monotonic()
        applications = rollup.roll_up(full=full)
        self.stdout.write(f"{applications} applications rolled up in {time.monotonic() - began:.1f} s"
                          f"{' (full rebuild)' if full else ''}")
