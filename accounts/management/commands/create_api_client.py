from django.core.management.base import BaseCommand, CommandError

from accounts.models import ChannelKind
from accounts.services import AccountError, create_api_client


class Command(BaseCommand):
    help = "Create an API key for a partner organisation. The key is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("--channel", required=True, choices=ChannelKind.values)
        parser.add_argument("--name", required=True, help="the organisation's name")

    def handle(self, *args, channel, name, **options):
        try:
            api_key, key = create_api_client(channel=channel, name=name)
        except AccountError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"API key for {api_key.organisation} (prefix {api_key.prefix}); it is not shown again:")
        self.stdout.write(key)
