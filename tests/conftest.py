"""Shared fixtures, and the rule for tests that need PostgreSQL or Redis.

Tests marked `postgres` or `redis` are skipped, with the reason shown, when only SQLite or no Redis is at hand;
with KUALIK_REQUIRE_SERVICES=1 (CI) a missing service fails the run instead, so that CI never skips them.
"""

import os

import pytest
from django.conf import settings


def _redis_answers() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_collection_modifyitems(config, items):
    require = os.environ.get("KUALIK_REQUIRE_SERVICES") == "1"
    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    redis_ok = _redis_answers() if any(item.get_closest_marker("redis") for item in items) else True
    missing = {
        "postgres": None if on_postgres else "needs PostgreSQL: set DATABASE_URL=postgres://...",
        "redis": None if redis_ok else "needs Redis: set REDIS_URL=redis://... to a running server",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                if require:
                    raise pytest.UsageError(f"KUALIK_REQUIRE_SERVICES=1, but {item.nodeid} {reason}")
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
