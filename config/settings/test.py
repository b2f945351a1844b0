"""Test settings: fast hashing, in-memory email; the database, cache and broker come from the environment."""

from .base import *  # noqa: F403
from .base import BASE_DIR, database, env, shared_cache, with_replica

SECRET_KEY = "kualik-tests-only-key-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "photos": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}
DATABASES = {"default": database(env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
DATABASES, REPORTING_DATABASE = with_replica(DATABASES)

SANDBOX_MODE = True
# The sandbox fixture sets these to the live server's address.
PUBLIC_BASE_URL = "http://127.0.0.1:8000"
REGISTRY_BASE_URL = f"{PUBLIC_BASE_URL}/sandbox/registries"
REGISTRY_CALLBACK_SECRET = "kualik-sandbox-callback-secret"

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
# Tests choose per test whether tasks run on a real worker; by default they run in-process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = shared_cache(REDIS_URL)

# Static files straight from the app folders: tests do not run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# GET /metrics without a token unless a test sets METRICS_TOKEN.
METRICS_WITHOUT_TOKEN = True
# Keys are checked against the database on every request unless a test turns the per-process memory on.
API_KEY_CACHE_SECONDS = 0

# The card-signing key: a development key committed for the sandbox (config/keys/), never used in production.
LICENCE_SIGNING_KEYS = env.json("LICENCE_SIGNING_KEYS", default={}) or {
    "dev-2026": (BASE_DIR / "config" / "keys" / "licence-dev-2026.pem").read_text()}
LICENCE_SIGNING_KEY_ID = env.str("LICENCE_SIGNING_KEY_ID", default="") or next(iter(LICENCE_SIGNING_KEYS))
