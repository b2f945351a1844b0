from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import AccountError, create_staff_user


class Command(BaseCommand):
    help = "Create a staff user with a role. The API token is printed as the last line."

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, choices=[r for r in Role.values if r != Role.CITIZEN])
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", help="omitted: a random password is generated and printed")

    def handle(self, *args, role, username, password, **options):
        try:
            user, token, generated = create_staff_user(role=role, username=username, password=password)
        except AccountError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Created {user.username} ({user.get_role_display()}).")
        if generated:
            self.stdout.write(f"Password: {generated}")
        self.stdout.write("API token:")
        self.stdout.write(token)
