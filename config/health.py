"""Probes for the process manager and the load balancer.

GET /healthz (liveness): 200 whenever the process can answer; it touches no database, broker or cache, so an outage
of one of them never gets healthy processes restarted.
GET /readyz (readiness): 200 only when the database, the broker (where the settings name one) and the shared Redis
cache (where REDIS_URL is set) each answer within READINESS_TIMEOUT_SECONDS; else 503 naming the failing parts.
"""

import logging
import threading

from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _timeout() -> float:
    return getattr(settings, "READINESS_TIMEOUT_SECONDS", 2.0)


def _select_one(cursor) -> bool:
    cursor.execute("SELECT 1")
    return cursor.fetchone() == (1,)


def database_answers() -> bool:
    try:
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                return _select_one(cursor)
        with transaction.atomic(), connection.cursor() as cursor:
            # Only for this probe's transaction: a database that hangs is as unready as one that is down.
            cursor.execute(f"SET LOCAL statement_timeout = {int(_timeout() * 1000)}")
            return _select_one(cursor)
    except Exception as error:  # any failure to reach the database means "not ready"
        logger.warning("readyz: the database does not answer: %s", type(error).__name__)
        return False


def broker_answers() -> bool:
    from config.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=_timeout())
        return True
    except Exception as error:  # any failure to reach the broker means "not ready"
        logger.warning("readyz: the broker does not answer: %s", type(error).__name__)
        return False


_redis_clients: dict[str, object] = {}
_redis_lock = threading.Lock()


def cache_answers() -> bool:
    import redis

    url = settings.REDIS_URL
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=_timeout(),
                                                                socket_connect_timeout=_timeout())
    try:
        return bool(client.ping())
    except Exception as error:  # any failure to reach Redis means "not ready"
        logger.warning("readyz: the shared cache (Redis) does not answer: %s", type(error).__name__)
        return False


def readiness_checks() -> dict:
    """{part: answers?} for every dependency this process's settings name."""
    checks = {"database": database_answers()}
    if settings.CELERY_BROKER_URL:
        checks["broker"] = broker_answers()
    if getattr(settings, "REDIS_URL", ""):
        checks["cache"] = cache_answers()
    return checks


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    checks = readiness_checks()
    if all(checks.values()):
        return JsonResponse({"status": "ready", "checks": {name: "ok" for name in checks}})
    failing = sorted(name for name, ok in checks.items() if not ok)
    return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
