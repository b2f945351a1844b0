"""The demo data's hook: `load_demo_data` sends `demo_data_loaded` after its own rows, and the apps that follow the
application (exams: slots and the question bank) add theirs, so that applications never imports them."""

from django.dispatch import Signal

# Sent inside load_demo_data's transaction: sender=the command, stdout=its output stream.
demo_data_loaded = Signal()
