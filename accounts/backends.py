"""Sign-in lockout (django-axes) as the first authentication backend, with its settings read at each call."""

import datetime

from axes.backends import AxesStandaloneBackend
from django.conf import settings


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username or IP before any password is checked.

    A call without a request (the shell, the test client's login) is no sign-in from the web, so it is not counted.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_failure_limit(request, credentials) -> int:
    return settings.STAFF_SIGN_IN_FAILURE_LIMIT


def lockout_cool_off(request) -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.STAFF_LOCKOUT_MINUTES)
