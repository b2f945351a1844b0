"""Generate exam slots ahead from the centres' weekly timetables (WeeklySlot). Safe to run again: a slot already
generated for a timetable line and a start is left as it is. Run it daily (cron or beat) to keep the horizon."""

from django.core.management.base import BaseCommand, CommandError

from exams.models import WeeklySlot
from exams.services import generate_slots


class Command(BaseCommand):
    help = "Create exam slots for the next N days from every active weekly timetable line (or one centre's)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="How many days ahead, from today (default 30).")
        parser.add_argument("--centre", help="Only this centre's timetable (its code).")

    def handle(self, *args, days, centre, **options):
        if not 1 <= days <= 366:
            raise CommandError("--days is from 1 to 366")
        lines = WeeklySlot.objects.filter(is_active=True)
        if centre:
            lines = lines.filter(centre__code=centre)
            if not lines.exists():
                raise CommandError(f"no active timetable line for centre {centre!r}")
        generated = generate_slots(days=days, lines=lines)
        self.stdout.write(f"{generated.created} slots created, {generated.existing} already there")
