"""GET /healthz: 200 only when the database and the broker (where the settings name one: not in tests) answer."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure to reach the database means "not healthy"
        logger.exception("healthz: database does not answer")
        return False


def broker_answers() -> bool:
    if not settings.CELERY_BROKER_URL:
        return True
    from config.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # any failure to reach the broker means "not healthy"
        logger.exception("healthz: broker does not answer")
        return False


@never_cache
@require_GET
def healthz(request):
    checks = {"database": database_answers(), "broker": broker_answers()}
    if all(checks.values()):
        return JsonResponse({"status": "ok"})
    failing = sorted(name for name, ok in checks.items() if not ok)
    return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
