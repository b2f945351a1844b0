"""`make run` and manage.py on a developer's machine: SQLite, the sandbox registries, and a real Celery worker on a
broker that is a local folder, so no service is needed and no request waits for a task.

Everything can be pointed elsewhere from the environment (README, "Environment"). DEBUG is off unless asked for, so
the portal's own 404 and 500 pages show here as they do in production; errors are logged to the console.
"""

from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DIR, database, env, filesystem_broker, shared_cache, with_replica

SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-kualik-development-only-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
SANDBOX_MODE = env.bool("SANDBOX_MODE", default=True)

DATABASES = {"default": database(env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
DATABASES, REPORTING_DATABASE = with_replica(DATABASES)

# The registries are the sandbox mounted in the web process, which receives their callbacks too.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")
REGISTRY_BASE_URL = env.str("REGISTRY_BASE_URL", default=f"{PUBLIC_BASE_URL}/sandbox/registries")
REGISTRY_CALLBACK_SECRET = env.str("REGISTRY_CALLBACK_SECRET", default="kualik-sandbox-callback-secret")

# With no CELERY_BROKER_URL the broker is a folder (CELERY_BROKER_FOLDER, kombu's filesystem transport): `make run`
# starts a worker and beat on it, and tasks never run inside a request.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem:"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(
        Path(env.str("CELERY_BROKER_FOLDER", default=str(BASE_DIR / "tmp" / "broker"))))
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None  # tasks keep no results
else:
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)

# The cache and the circuit breakers: REDIS_URL, else the broker's Redis when the broker is Redis, so that web and
# worker share them (a worker's change reaches the next read); with neither, each process has its own memory.
REDIS_URL = env.str("REDIS_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
                    else "")
CACHES = shared_cache(REDIS_URL)

# Email notices land as files in tmp/mail (one per message), unless EMAIL_BACKEND says otherwise.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "tmp" / "mail"))

# Static files straight from the app folders: no collectstatic before `make run`.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# GET /metrics without a token on this machine (METRICS_TOKEN still applies when set).
METRICS_WITHOUT_TOKEN = True

# The card-signing key: a development key committed for the sandbox (config/keys/), never used in production.
LICENCE_SIGNING_KEYS = env.json("LICENCE_SIGNING_KEYS", default={}) or {
    "dev-2026": (BASE_DIR / "config" / "keys" / "licence-dev-2026.pem").read_text()}
LICENCE_SIGNING_KEY_ID = env.str("LICENCE_SIGNING_KEY_ID", default="") or next(iter(LICENCE_SIGNING_KEYS))
