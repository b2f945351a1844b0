"""Creating the accounts that act in the system: staff users with tokens, partner organisations with keys."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from .models import ChannelApiKey, ChannelKind, Organisation, Role, User


class AccountError(Exception):
    """A request to create an account that cannot be honoured; the message says why."""


@transaction.atomic
def create_api_client(*, channel: str, name: str) -> tuple[ChannelApiKey, str]:
    """A new API key for the organisation `name` on `channel` (created if new). Returns the key once, in clear."""
    if channel not in ChannelKind.values:
        raise AccountError(f"unknown channel {channel!r}; choose one of: {', '.join(ChannelKind.values)}")
    name = name.strip()
    if not name:
        raise AccountError("the organisation needs a name")
    organisation, _created = Organisation.objects.get_or_create(name=name, channel=channel)
    api_key, key = ChannelApiKey.objects.create_key(name=name[:50], organisation=organisation)
    return api_key, key


@transaction.atomic
def create_staff_user(*, role: str, username: str, password: str | None = None) -> tuple[User, str, str | None]:
    """A staff user with an API token. Returns (user, token, generated password or None)."""
    if role not in Role.values or role == Role.CITIZEN:
        staff = ", ".join(r for r in Role.values if r != Role.CITIZEN)
        raise AccountError(f"unknown staff role {role!r}; choose one of: {staff}")
    if not username.strip():
        raise AccountError("the user needs a username")
    if User.objects.filter(username=username).exists():
        raise AccountError(f"a user named {username!r} exists already")
    generated = None
    if password is None:
        generated = password = get_random_string(20)
    is_admin = role == Role.ADMIN
    user = User.objects.create_user(
        username=username, password=password, role=role, is_staff=is_admin, is_superuser=is_admin,
        otp_enrolment_until=_enrolment_deadline(),
    )
    token = Token.objects.create(user=user)
    return user, token.key, generated


@transaction.atomic
def ensure_staff_user(*, role: str, username: str, password: str) -> User:
    """Idempotent form for demo data: the user exists with this role, password and a token."""
    is_admin = role == Role.ADMIN
    user, _created = User.objects.update_or_create(
        username=username, defaults={"role": role, "is_staff": is_admin, "is_superuser": is_admin, "is_active": True}
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    Token.objects.get_or_create(user=user)
    if not TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        user.otp_enrolment_until = _enrolment_deadline()  # the demo accounts set up their app at first sign-in
        user.save(update_fields=["otp_enrolment_until"])
    return user


def _enrolment_deadline() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=settings.STAFF_OTP_ENROLMENT_HOURS)


@transaction.atomic
def allow_authenticator_enrolment(*, user: User) -> None:
    """An administrator lets a staff member set up a (new) authenticator app: any app set up before stops working,
    and the next sign-in within STAFF_OTP_ENROLMENT_HOURS shows a new QR code."""
    TOTPDevice.objects.filter(user=user).delete()
    user.otp_enrolment_until = _enrolment_deadline()
    user.save(update_fields=["otp_enrolment_until"])


@transaction.atomic
def confirm_authenticator(*, user: User, device: TOTPDevice) -> None:
    """The first right code from a new app: the device counts from now on, and the enrolment window closes."""
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    user.otp_enrolment_until = None
    user.save(update_fields=["otp_enrolment_until"])


@transaction.atomic
def replace_staff_token(*, user: User) -> Token:
    """A new API token for a staff member: the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)
