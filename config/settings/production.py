"""Production: every secret and address from the environment, HTTPS everywhere, no sandbox, second factor for staff.

Refuses to start without SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, PUBLIC_BASE_URL,
REGISTRY_BASE_URL, REGISTRY_CALLBACK_SECRET, LICENCE_SIGNING_KEYS and LICENCE_SIGNING_KEY_ID; tasks always go to the
broker's workers.
"""

from .base import *  # noqa: F403
from .base import LOGGING, database, env, shared_cache, with_replica

DEBUG = False
SANDBOX_MODE = False
SECRET_KEY = env.str("SECRET_KEY")
# Earlier keys, still accepted for sessions and signed values while SECRET_KEY is rotated (docs/operations.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": database(env.db("DATABASE_URL"), conn_max_age=60)}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES, REPORTING_DATABASE = with_replica(DATABASES)

# Every process (web, workers, beat) shares one Redis cache, so a worker's change is seen by the next read.
REDIS_URL = env.str("REDIS_URL")
CACHES = shared_cache(REDIS_URL)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The probes and the scrape come from inside the network, over plain HTTP (/metrics still wants its token).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

STAFF_REQUIRE_OTP = True

# One JSON object per log line, for the log collector (LOG_FORMAT=plain for people reading a terminal).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT

REGISTRY_BASE_URL = env.str("REGISTRY_BASE_URL")
REGISTRY_CALLBACK_SECRET = env.str("REGISTRY_CALLBACK_SECRET")
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL")

# The authority's card-signing keys: required, and never the development key the sandbox uses.
LICENCE_SIGNING_KEYS = env.json("LICENCE_SIGNING_KEYS")
LICENCE_SIGNING_KEY_ID = env.str("LICENCE_SIGNING_KEY_ID")
if not LICENCE_SIGNING_KEYS or LICENCE_SIGNING_KEY_ID not in LICENCE_SIGNING_KEYS or LICENCE_SIGNING_KEY_ID.startswith(
        "dev-"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("LICENCE_SIGNING_KEYS must hold LICENCE_SIGNING_KEY_ID, and no development key")
