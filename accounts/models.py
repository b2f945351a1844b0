"""Who may act: people with a role, and partner organisations that call the API with hashed keys."""

from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager


class Role(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    TSON_OPERATOR = "tson_operator", _("TSON operator")
    EXAMINER = "examiner", _("Examiner")
    POLICE_OFFICER = "police_officer", _("Police officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = (Role.TSON_OPERATOR, Role.EXAMINER, Role.POLICE_OFFICER, Role.SUPERVISOR, Role.ADMIN)


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.CITIZEN, db_index=True)
    # Citizens sign in by IIN; staff by username. Empty for staff.
    iin = models.CharField(_("IIN"), max_length=12, null=True, blank=True, unique=True)
    # Until when this staff member may set up an authenticator app at sign-in; an administrator opens the window.
    otp_enrolment_until = models.DateTimeField(_("may set up an authenticator app until"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles

    @property
    def may_enrol_authenticator(self) -> bool:
        return self.otp_enrolment_until is not None and self.otp_enrolment_until > timezone.now()


class ChannelKind(models.TextChoices):
    """Partner channels that integrate through the API with an API key."""

    EGOV_MOBILE = "egov_mobile", _("EgovMobile")
    TSON_MOBILE = "tson_mobile", _("TSON mobile app")
    BANK = "bank", _("Bank")
    DRIVING_SCHOOL = "driving_school", _("Driving school")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=32, choices=ChannelKind.choices, db_index=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner organisation")
        verbose_name_plural = _("partner organisations")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name", "channel"], name="organisation_unique_name_channel")]

    def __str__(self):
        return f"{self.name} ({self.get_channel_display()})"


class ChannelApiKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        return super().get_usable_keys().select_related("organisation")


class ChannelApiKey(AbstractAPIKey):
    """An organisation's API key: only its prefix and a SHA-512 hash are stored, never the key."""

    objects = ChannelApiKeyManager()

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("organisation")
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("channel API key")
        verbose_name_plural = _("channel API keys")


class ChannelClient:
    """The authenticated caller behind an API key: what DRF sees as request.user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    role = "channel"

    def __init__(self, api_key: ChannelApiKey):
        self.api_key = api_key
        self.organisation = api_key.organisation
        self.channel = api_key.organisation.channel
        self.pk = f"org-{self.organisation.pk}"

    def has_role(self, *roles: str) -> bool:
        return False

    def __str__(self):
        return str(self.organisation)


class IdempotencyRecord(models.Model):
    """One caller's Idempotency-Key: the request it stood for and, once answered, the answer (24 hours)."""

    caller = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="idempotency_key_per_caller")]

    def __str__(self):
        return f"{self.caller}:{self.key}"


class SignInCode(models.Model):
    """A one-time code sent by SMS to sign a citizen in to the portal; only its HMAC is kept."""

    iin = models.CharField(_("IIN"), max_length=12, db_index=True)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts_left = models.PositiveSmallIntegerField(default=5)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")

    def __str__(self):
        return f"{self.iin} {self.created_at:%Y-%m-%d %H:%M}"


class SignInAttempt(models.Model):
    """One request for a citizen sign-in code, or one check of a code, from an IP: what the per-IP limits count.
    Kept for an hour."""

    class Kind(models.TextChoices):
        CODE_REQUEST = "code_request", _("code asked for")
        CODE_CHECK = "code_check", _("code checked")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    ip = models.GenericIPAddressField(_("IP address"))
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("sign-in attempt")
        verbose_name_plural = _("sign-in attempts")
        indexes = [models.Index(fields=["ip", "kind", "created_at"], name="sign_in_attempt_per_ip")]

    def __str__(self):
        return f"{self.ip} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"
