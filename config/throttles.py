"""Rate limits for the API, counted in the cache (one round trip a request; Redis shares them between processes).

Hand-written rather than DRF's SimpleRateThrottle: that one keeps a list of timestamps per caller and rewrites it on
every request; a fixed-window INCR measured cheaper on the read path (bench/api.py), and the same round trip brings
back the cache keys the view reads next. Kept apart from config.api: DRF resolves these classes while it defines
APIView, so this module must not import rest_framework.views.
"""

import time
from abc import ABC, abstractmethod

from django.conf import settings
from rest_framework import throttling

from . import counters


class _SettingsRateThrottle(throttling.BaseThrottle, ABC):
    """A fixed-window counter in the cache (one INCR a request; Redis shares it between processes).

    Rates come from settings at each request (API_RATE_*), so operators and tests can change them.
    """

    scope = ""
    setting = ""
    _wait: float | None = None

    @abstractmethod
    def identity(self, request) -> str | None:
        """Whom the window counts for, or None when this throttle does not apply to the request."""

    def allow_request(self, request, view) -> bool:
        ident = self.identity(request)
        if ident is None:
            return True
        number, period = getattr(settings, self.setting).split("/")
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
        now = time.time()
        key = f"throttle:{self.scope}:{ident}:{int(now // seconds)}"
        # A view that reads the cache next names its keys (`cache_keys_to_prefetch`): they come back in the same
        # round trip as the count, as `request.prefetched_cache`.
        prefetch = getattr(view, "cache_keys_to_prefetch", None)
        wanted = prefetch(request) if prefetch is not None else ()
        count, found = counters.count(key, window_seconds=seconds, also_get=wanted)
        if wanted:
            request.prefetched_cache = found
        if count > int(number):
            self._wait = seconds - (now % seconds)
            return False
        return True

    def wait(self):
        return self._wait


class ClientRateThrottle(_SettingsRateThrottle):
    """Per authenticated caller: a partner organisation's key, or a staff member."""

    scope = "client"
    setting = "API_RATE_PER_CLIENT"

    def identity(self, request):
        user = request.user
        return str(user.pk) if user is not None and getattr(user, "is_authenticated", False) else None


class AnonymousRateThrottle(_SettingsRateThrottle):
    """Per IP address for the endpoints anyone may call."""

    scope = "anonymous"
    setting = "API_RATE_ANONYMOUS"

    def identity(self, request):
        if request.user is not None and getattr(request.user, "is_authenticated", False):
            return None
        return self.get_ident(request)
