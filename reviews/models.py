"""The police side: who holds an application under review. No I/O here."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from applications.models import Application


class ReviewClaim(models.Model):
    """An officer who opened an application holds it for a while, so two officers do not decide the same one."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, primary_key=True,
                                       related_name="review_claim", verbose_name=_("application"))
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("officer"))
    claimed_at = models.DateTimeField(_("claimed at"), default=timezone.now)
    expires_at = models.DateTimeField(_("held until"))

    class Meta:
        verbose_name = _("review claim")
        verbose_name_plural = _("review claims")

    def __str__(self):
        return f"{self.application} {self.officer} until {self.expires_at:%H:%M}"

    def is_held_by_another(self, officer, now=None) -> bool:
        return self.officer_id != officer.pk and self.expires_at > (now or timezone.now())
