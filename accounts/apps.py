from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and API access")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import tasks  # noqa: F401 -- registers the tasks that services queue by name
        from .authentication import forget_keys
        from .models import ChannelApiKey, Organisation

        for model in (ChannelApiKey, Organisation):
            post_save.connect(forget_keys, sender=model, dispatch_uid=f"forget-keys-{model.__name__}")
            post_delete.connect(forget_keys, sender=model, dispatch_uid=f"forget-keys-delete-{model.__name__}")
