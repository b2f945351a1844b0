"""The registry sandbox as a process of its own (benchmarks, or a shared demo): its URLs only, no middleware.

The same views are mounted in the web process in sandbox mode; served alone they skip the sessions, CSRF,
authentication and locale layers that a registry protocol does not use, so that the sandbox models the gateway's
latency rather than adding Django's per-request cost to it.
"""

from .development import *  # noqa: F403

ROOT_URLCONF = "registries.sandbox.standalone_urls"
MIDDLEWARE = ["django.middleware.locale.LocaleMiddleware"]
SANDBOX_MODE = True
