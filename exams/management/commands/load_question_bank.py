"""Load theory questions from a folder of JSON files (the demo bank's format: exams/question_bank/README.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exams.demo import DEMO_BANK, load_question_bank


class Command(BaseCommand):
    help = "Create or update theory questions, by reference, from the JSON files of a folder (default: the demo bank)."

    def add_arguments(self, parser):
        parser.add_argument("folder", nargs="?", default=str(DEMO_BANK))
        parser.add_argument("--official", action="store_true", help="Not demo questions: do not mark them as demo.")

    def handle(self, *args, folder, official, **options):
        path = Path(folder)
        if not path.is_dir():
            raise CommandError(f"{folder} is not a folder")
        self.stdout.write(f"{load_question_bank(path, demo=not official)} questions loaded from {path}")
