"""Settings shared by every environment, with no development defaults: development.py, test.py and production.py
each say where the database, cache, broker and registries are, and the keys."""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _
from django_guid.integrations import CeleryIntegration

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

# SECRET_KEY, ALLOWED_HOSTS, DATABASES, CACHES, the broker and the registries' addresses: in each environment's module.
DEBUG = False
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The registries are played by the project's own sandbox service (development and tests; never in production).
SANDBOX_MODE = False
REGISTRY_SANDBOX_FIXTURES = env.str(
    "REGISTRY_SANDBOX_FIXTURES", default=str(BASE_DIR / "registries" / "sandbox" / "demo.json")
)
REGISTRY_SANDBOX_LATENCY_MS = env.int("REGISTRY_SANDBOX_LATENCY_MS", default=0)
REGISTRY_SANDBOX_ERROR_RATE = env.float("REGISTRY_SANDBOX_ERROR_RATE", default=0.0)
# How long a `timeout` fault makes the sandbox wait: longer than any client timeout.
REGISTRY_SANDBOX_TIMEOUT_SECONDS = env.float("REGISTRY_SANDBOX_TIMEOUT_SECONDS", default=10.0)
# How soon the sandbox's consent service reports a citizen's decline.
REGISTRY_SANDBOX_DECLINE_DELAY_MS = env.int("REGISTRY_SANDBOX_DECLINE_DELAY_MS", default=1500)

# Where the registries answer (registries/PROTOCOL.md): PUBLIC_BASE_URL and REGISTRY_BASE_URL per environment.
# Per-registry URL overrides: REGISTRY_<NAME>_URL (e.g. REGISTRY_ERAP_URL); unset ones use REGISTRY_BASE_URL/<name>.
REGISTRY_NAMES = ["consent", "person", "licence_registry", "erap", "medical", "erdb", "driving_school",
                  "exam_attempts", "sms", "payment"]
REGISTRY_URLS = {name: env.str(f"REGISTRY_{name.upper()}_URL", default="") for name in REGISTRY_NAMES}
# Seconds; per registry: REGISTRY_<NAME>_READ_TIMEOUT.
REGISTRY_TIMEOUTS = {
    "default": {"connect": env.float("REGISTRY_CONNECT_TIMEOUT", default=1.0),
                "read": env.float("REGISTRY_READ_TIMEOUT", default=3.0)},
    **{name: {"read": env.float(f"REGISTRY_{name.upper()}_READ_TIMEOUT")}
       for name in REGISTRY_NAMES if env.str(f"REGISTRY_{name.upper()}_READ_TIMEOUT", default="")},
}
REGISTRY_RETRY_ATTEMPTS = env.int("REGISTRY_RETRY_ATTEMPTS", default=3)
REGISTRY_RETRY_BACKOFF_SECONDS = env.float("REGISTRY_RETRY_BACKOFF_SECONDS", default=0.1)
REGISTRY_RETRY_BACKOFF_MAX_SECONDS = env.float("REGISTRY_RETRY_BACKOFF_MAX_SECONDS", default=1.0)
REGISTRY_CONNECTIONS_PER_THREAD = env.int("REGISTRY_CONNECTIONS_PER_THREAD", default=4)
REGISTRY_KEEPALIVE_SECONDS = env.float("REGISTRY_KEEPALIVE_SECONDS", default=1.0)
# Bulkhead: at most this many calls in flight to one registry per process; a caller waits this long for a place.
REGISTRY_BULKHEAD_SIZE = env.int("REGISTRY_BULKHEAD_SIZE", default=64)
REGISTRY_BULKHEAD_WAIT_SECONDS = env.float("REGISTRY_BULKHEAD_WAIT_SECONDS", default=1.0)
CIRCUIT_BREAKER_FAIL_MAX = env.int("CIRCUIT_BREAKER_FAIL_MAX", default=5)
CIRCUIT_BREAKER_RESET_SECONDS = env.float("CIRCUIT_BREAKER_RESET_SECONDS", default=30.0)
CIRCUIT_BREAKER_NAMESPACE = env.str("CIRCUIT_BREAKER_NAMESPACE", default="kualik:breaker")

# REGISTRY_CALLBACK_SECRET (per environment): the consent service (and later the payment provider) signs its callbacks.

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_api_key",
    "drf_spectacular",
    "django_fsm",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "solo",
    "axes",
    "django_prometheus",
    "django_guid",
    "pgtrigger",
    "accounts",
    "applications",
    "registries",
    "exams",
    "reviews",
    "performance",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole request
    "django_guid.middleware.guid_middleware",  # the request id, before anything that logs
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.security.PermissionsPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # it turns a locked-out sign-in into the lockout page
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # last: counts requests by view, method and status
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# A psycopg connection pool per process (PostgreSQL): threads borrow a connection only while they use it, so a
# worker with many threads waiting on registries needs few connections. 0 = no pool.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)


def database(config: dict, *, conn_max_age: int = 0) -> dict:
    """DATABASES["default"] from a parsed DATABASE_URL (each environment's module says which, and its default)."""
    config["ATOMIC_REQUESTS"] = False
    config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=conn_max_age)
    if DATABASE_POOL_MAX_SIZE and config["ENGINE"] == "django.db.backends.postgresql":
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1, "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10)}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # SQLite is for `make run` on a bare machine: WAL and a busy timeout keep the web process
        # and the worker from tripping over each other's writes.
        config.setdefault("OPTIONS", {}).update(
            {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
        )
    return config


def with_replica(databases: dict) -> tuple[dict, str]:
    """A read replica (DATABASE_REPLICA_URL) for the dashboard and long lists; without one they read the primary.

    Returns the databases and REPORTING_DATABASE, the alias those reads use (`.using(settings.REPORTING_DATABASE)`).
    A replica lags the primary by its replication delay: only reads that tolerate seconds of lag go there.
    """
    replica_url = env.str("DATABASE_REPLICA_URL", default="")
    if not replica_url:
        return databases, "default"
    replica = database(env.db_url_config(replica_url), conn_max_age=databases["default"].get("CONN_MAX_AGE", 0))
    replica["TEST"] = {"MIRROR": "default"}
    return {**databases, "replica": replica}, "replica"


DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Lockout is checked before the password (django-axes); requests without a request object (shell, tests) pass.
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:sign-in"

# Kazakh first; Russian and English.
LANGUAGE_CODE = "kk"
LANGUAGES = [("kk", _("Kazakh")), ("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Almaty"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Licence photos: never under MEDIA_URL, never served by the web server; staff see them through an authorised,
# logged view. A folder by default; an S3-compatible store with PHOTO_STORAGE=s3 (django-storages: the
# AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables).
PHOTO_ROOT = env.path("PHOTO_ROOT", default=BASE_DIR / "private" / "photos")
PHOTO_STORAGE = env.str("PHOTO_STORAGE", default="folder")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "photos": {"BACKEND": "storages.backends.s3.S3Storage",
               "OPTIONS": {"bucket_name": env.str("AWS_STORAGE_BUCKET_NAME", default=""),
                           "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
                           "default_acl": "private", "querystring_auth": True, "file_overwrite": False}}
    if PHOTO_STORAGE == "s3" else
    {"BACKEND": "django.core.files.storage.FileSystemStorage",
     "OPTIONS": {"location": str(PHOTO_ROOT), "base_url": None, "directory_permissions_mode": 0o700,
                 "file_permissions_mode": 0o600}},
}
# The photo's upload: invalid_photo is answered for bodies up to this size; larger ones are refused unread.
PHOTO_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_BYTES = 5 * 1024 * 1024

# Email notices: Django's backend (the console in development, SMTP by setting: EMAIL_HOST and the rest).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kuälik <no-reply@kualik.kz>")

DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True


def shared_cache(location: str) -> dict:
    """CACHES (rate limits, rendered Applications): a Redis that every process shares, so a worker's change is seen
    by the web's next read. With none, each process has its own memory, and no Application is kept there between
    reads (representation_cache)."""
    if not location:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            # A Redis that does not answer is a cache miss, not a failed request: the database answers instead.
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True,
                        "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kualik"),
        }
    }


def filesystem_broker(folder: Path) -> dict:
    """CELERY_BROKER_TRANSPORT_OPTIONS for kombu's filesystem transport: a broker that is a local folder, so a real
    worker runs beside `make run` on a machine with no services."""
    for name in ("in", "processed", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(folder / "in"), "data_folder_out": str(folder / "in"),
            "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control"),
            "polling_interval": 0.1}


# Celery: CELERY_BROKER_URL per environment; tasks never run in the request that queues them, except in tests.
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis: a task taken by a worker that then died (SIGKILL, OOM, a lost host) is handed out again after this long,
# not Celery's default hour. It must outlast the longest retry countdown (a notice's 900 s), or a retry still
# waiting in a live worker would be handed out twice. The checks and consent requests do not wait for it: the
# sweep re-queues them.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=1200)}
CELERY_BEAT_SCHEDULE = {
    "sweep-stalled-applications": {"task": "applications.tasks.sweep",
                                   "schedule": env.float("CHECKS_SWEEP_EVERY_SECONDS", default=30.0)},
    # Exam reminders the day before, no-shows after, theory sessions whose time ran out, unreported results.
    "exam-chores": {"task": "exams.tasks.exam_chores",
                    "schedule": env.float("EXAM_CHORES_EVERY_SECONDS", default=60.0)},
    # The access log's new rows appended to its hash chain (applications/services/access_chain.py).
    "seal-access-log": {"task": "applications.tasks.seal_access_log",
                        "schedule": env.float("ACCESS_LOG_SEAL_EVERY_SECONDS", default=60.0)},
    # The performance dashboard's rollup: the facts of the applications that moved (performance/rollup.py).
    "performance-rollup": {"task": "performance.tasks.roll_up",
                           "schedule": env.float("PERFORMANCE_ROLLUP_EVERY_SECONDS", default=60.0)},
}

# Notices (SMS and email): how often a notice whose channel fails is tried again before it is recorded as failed.
NOTICE_MAX_RETRIES = env.int("NOTICE_MAX_RETRIES", default=10)
# The sweep queues again a move's notice with no SMS record this long after the move (its task lost with the
# broker's data), at most once per that period, for moves of the last NOTICE_SWEEP_WITHIN_HOURS.
NOTICE_SWEEP_AFTER_SECONDS = env.int("NOTICE_SWEEP_AFTER_SECONDS", default=900)
NOTICE_SWEEP_WITHIN_HOURS = env.int("NOTICE_SWEEP_WITHIN_HOURS", default=6)

# The card's verification code (applications/verification.py): Ed25519 keys by key id. Production names them
# (LICENCE_SIGNING_KEYS: JSON {key id: PEM private key}; LICENCE_SIGNING_KEY_ID: the one that signs now); retired
# public keys stay honoured through LICENCE_VERIFICATION_KEYS (JSON {key id: PEM public key}).
LICENCE_VERIFICATION_KEYS = env.json("LICENCE_VERIFICATION_KEYS", default={})
LICENCE_ISSUER = env.str("LICENCE_ISSUER", default="KZ")

# The police review: an officer who opens an application holds it this long.
REVIEW_CLAIM_MINUTES = env.int("REVIEW_CLAIM_MINUTES", default=15)
# The performance dashboard: the pilot's target for a replacement, from application to printed licence, counting
# only the time the system itself adds (performance/selectors.py).
PERFORMANCE_REPLACEMENT_TARGET_MINUTES = env.int("PERFORMANCE_REPLACEMENT_TARGET_MINUTES", default=60)
# Its rollup starts from a run at least this old, so that transactions still committing then are not missed; a
# run holds a lock this long at most.
PERFORMANCE_ROLLUP_MARGIN_SECONDS = env.int("PERFORMANCE_ROLLUP_MARGIN_SECONDS", default=300)
PERFORMANCE_ROLLUP_LOCK_SECONDS = env.int("PERFORMANCE_ROLLUP_LOCK_SECONDS", default=600)

# The check pipeline.
CHECKS_PARALLELISM = env.int("CHECKS_PARALLELISM", default=128)  # registry calls in flight per worker process
CHECKS_MAX_RETRIES = env.int("CHECKS_MAX_RETRIES", default=6)
CHECKS_RETRY_MAX_SECONDS = env.float("CHECKS_RETRY_MAX_SECONDS", default=60.0)
CHECKS_SWEEP_AFTER_SECONDS = env.int("CHECKS_SWEEP_AFTER_SECONDS", default=60)
# Consent: a code may be re-sent this many times, this far apart; an application left unconfirmed is refused.
CONSENT_RESEND_LIMIT = env.int("CONSENT_RESEND_LIMIT", default=3)
CONSENT_RESEND_INTERVAL_SECONDS = env.int("CONSENT_RESEND_INTERVAL_SECONDS", default=60)
CONSENT_PENDING_TTL_HOURS = env.int("CONSENT_PENDING_TTL_HOURS", default=24)
# A worker asking the consent service holds the request this long; after it, the sweep may ask again.
CONSENT_REQUEST_LEASE_SECONDS = env.int("CONSENT_REQUEST_LEASE_SECONDS", default=120)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.StaffTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["config.throttles.ClientRateThrottle", "config.throttles.AnonymousRateThrottle"],
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# Throttling (counted in the cache: Redis when REDIS_URL is set, shared by every process).
API_RATE_PER_CLIENT = env.str("API_RATE_PER_CLIENT", default="6000/min")
API_RATE_ANONYMOUS = env.str("API_RATE_ANONYMOUS", default="600/min")
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=30)
SPECTACULAR_SETTINGS = {
    "TITLE": "Kuälik API",
    "DESCRIPTION": (
        "Online driver's licences: the API for partner channels and staff systems. Errors are RFC 9457 problem "
        "details (`application/problem+json`) with a stable `code`. Human text follows `Accept-Language` "
        "(`kk`, `ru`, `en`; default `kk`). A resource the caller may not see, or a step its role may not take, is "
        "`404 not_found`, never `403`. Staff reads of personal data are logged in the application's access log: "
        "every application a staff list shows counts as read."),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",  # `type: [..., "null"]` instead of `nullable`, which strict validators and clients read
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",  # operation ids and tags from the path after it, whatever else is mounted
    # The same schema in every language: no labels of the (translated) choices or model fields in it.
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.api.tidy_schema"],
    # Stable enum names for generated clients, whatever field the values appear in.
    "ENUM_NAME_OVERRIDES": {
        "ServiceEnum": "applications.models.Service",
        "FirstIssueServiceEnum": ["first_issue"],
        "ReplacementServiceEnum": ["replacement"],
        "ForeignExchangeServiceEnum": ["foreign_exchange"],
        "ChannelEnum": "applications.models.Channel",
        "ApplicationStatusEnum": "applications.models.Status",
        "ReplacementReasonEnum": "applications.models.ReplacementReason",
        "RegistryEnum": "applications.models.Registry",
        "CheckOutcomeEnum": "applications.models.Check.Outcome",
        "CheckCodeEnum": "applications.serializers.CHECK_CODES",
        "RefusalCodeEnum": "applications.serializers.REFUSAL_CODES",
        "ConsentStateEnum": "applications.models.Consent.State",
        "PhotoSourceEnum": "applications.models.PhotoSource",
        "ExamLanguageEnum": "applications.serializers.EXAM_LANGUAGES",
        "ExamKindEnum": "applications.serializers.EXAM_KINDS",
        "BookingStatusEnum": "applications.serializers.BOOKING_STATUSES",
        "LicenceStatusEnum": "applications.serializers.LICENCE_STATUSES",
        "ActorKindEnum": "applications.models.PersonalDataAccess.ActorKind",
        "ProblemCodeEnum": "config.api.PROBLEM_CODES",
    },
}

# Content-Security-Policy (django-csp): scripts and styles only from this site's static files, no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
# Permissions-Policy (config.security): no page may use these; a view opts in with @allow_camera.
PERMISSIONS_POLICY_DENIED = ["camera", "microphone", "geolocation", "payment", "usb", "serial", "bluetooth",
                             "display-capture"]

# Logs (docs/observability.md): every line carries the request id (django-guid) of the request, or of the task
# that the request queued; JSON lines with LOG_FORMAT=json (production's default), plain lines otherwise.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId", "correlation_id_field": "request_id"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"},
                "httpcore": {"level": "WARNING"},
                # It says at INFO, per request and per task, which id it took or made.
                "django_guid": {"level": "WARNING"}},
}

# The request id: taken from X-Request-ID when it is a valid UUID (else a new one), returned in the answer's
# X-Request-ID, carried in the headers of every task a request queues, and sent to the registries.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "RETURN_HEADER": True,
    "VALIDATE_GUID": True,
    # use_django_logging: the workers log with LOGGING above instead of Celery's own format.
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True)],
}

# Prometheus (django-prometheus and config/metrics.py): GET /metrics answers `Authorization: Bearer <METRICS_TOKEN>`
# only; with no token set it is open where METRICS_WITHOUT_TOKEN is on (development, tests) and 404 elsewhere.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_WITHOUT_TOKEN = False
PROMETHEUS_EXPORT_MIGRATIONS = False  # it would query the database as each process starts
# GET /readyz: how long each dependency may take to answer.
READINESS_TIMEOUT_SECONDS = env.float("READINESS_TIMEOUT_SECONDS", default=2.0)

IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
# A key claimed this long ago and still unanswered belongs to a request whose process died: a retry takes it over.
# Far above any request's run time (gunicorn's timeout is 30 s).
IDEMPOTENCY_ABANDONED_SECONDS = env.int("IDEMPOTENCY_ABANDONED_SECONDS", default=120)

# The citizen portal: sign-in by IIN and an SMS code; a quiet session ends after SESSION_IDLE_MINUTES.
SIGN_IN_CODE_MINUTES = env.int("SIGN_IN_CODE_MINUTES", default=5)
SIGN_IN_CODES_PER_HOUR = env.int("SIGN_IN_CODES_PER_HOUR", default=5)
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True  # the idle timer restarts with every page

# Staff screens and the admin demand a second factor (TOTP) where this is on; production.py turns it on.
STAFF_REQUIRE_OTP = env.bool("STAFF_REQUIRE_OTP", default=False)
OTP_TOTP_ISSUER = "Kuälik"

# --- Sign-in protection (accounts): citizens' SMS codes, staff lockout and second factor -------------------------
# Citizens: a new code at most once a minute per IIN; attempts per IP (code requests and code checks) per hour.
SIGN_IN_RESEND_INTERVAL_SECONDS = env.int("SIGN_IN_RESEND_INTERVAL_SECONDS", default=60)
SIGN_IN_CODE_TRIES = env.int("SIGN_IN_CODE_TRIES", default=5)
SIGN_IN_CODE_REQUESTS_PER_IP_PER_HOUR = env.int("SIGN_IN_CODE_REQUESTS_PER_IP_PER_HOUR", default=30)
SIGN_IN_CODE_CHECKS_PER_IP_PER_HOUR = env.int("SIGN_IN_CODE_CHECKS_PER_IP_PER_HOUR", default=60)
# Staff: django-axes locks a username, and separately an IP address, after this many failed sign-ins (a wrong
# password or a wrong authenticator code), for this many minutes.
STAFF_SIGN_IN_FAILURE_LIMIT = env.int("STAFF_SIGN_IN_FAILURE_LIMIT", default=5)
STAFF_LOCKOUT_MINUTES = env.int("STAFF_LOCKOUT_MINUTES", default=30)
# The password step is remembered this long while the authenticator code is asked for.
STAFF_OTP_STEP_MINUTES = env.int("STAFF_OTP_STEP_MINUTES", default=5)
# An administrator lets a staff member set up an authenticator app for this long (a new account, a lost phone).
STAFF_OTP_ENROLMENT_HOURS = env.int("STAFF_OTP_ENROLMENT_HOURS", default=72)
AXES_FAILURE_LIMIT = "accounts.backends.lockout_failure_limit"
AXES_COOLOFF_TIME = "accounts.backends.lockout_cool_off"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: one username from anywhere, one IP for all
AXES_RESET_ON_SUCCESS = True
# Tries made while locked out are refused but not counted: the lock lifts STAFF_LOCKOUT_MINUTES after the last
# counted failure, so someone hammering a colleague's username cannot keep them out for good.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
AXES_LOCKOUT_CALLABLE = "accounts.staff_views.locked_out"
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_HTTP_RESPONSE_CODE = 429
# django-otp: a wrong TOTP code makes the next try wait (1 s, 2 s, 4 s ...) on top of the lockout.
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_TOTP_THROTTLE_FACTOR", default=1)
# --- end of sign-in protection --------------------------------------------------------------------------------
