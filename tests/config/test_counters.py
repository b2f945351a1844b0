"""Window counters (throttles, cache versions): one Redis round trip, the same answers on the local cache."""

import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings

from config import counters


def redis_cache(settings):
    return {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": settings.REDIS_URL,
                        "KEY_PREFIX": f"test-counters-{uuid.uuid4().hex[:8]}"}}


LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "test-counters"}}


def check_counting(cache):
    key = f"window:{uuid.uuid4().hex}"
    cache.set("entry", {"body": b"{}", "version": 3})
    cache.set("version", 3)
    assert counters.count(key, window_seconds=60) == (1, {})
    count, found = counters.count(key, window_seconds=60, also_get=["entry", "version", "absent"])
    assert count == 2
    assert found == {"entry": {"body": b"{}", "version": 3}, "version": 3}
    assert counters.increment(key, timeout=60, keep_expiry=False)[0] == 3


@pytest.mark.redis
def test_counting_on_redis_is_one_round_trip_with_the_entries_asked_for(settings):
    with override_settings(CACHES=redis_cache(settings)):
        cache = caches["default"]
        check_counting(cache)
        from django_redis import get_redis_connection

        connection = get_redis_connection("default")
        sent = []
        original = connection.pipeline

        def counting_pipeline(*args, **kwargs):
            pipeline = original(*args, **kwargs)
            sent.append(pipeline)
            return pipeline

        connection.pipeline = counting_pipeline
        try:
            counters.count("window:one-trip", window_seconds=60, also_get=["entry", "version"])
        finally:
            del connection.pipeline
        assert len(sent) == 1  # INCR, EXPIRE NX and MGET went in one pipeline


@pytest.mark.redis
def test_a_window_expires_once_and_a_version_lives_on_from_its_last_bump(settings):
    with override_settings(CACHES=redis_cache(settings)):
        cache = caches["default"]
        counters.count("window:ttl", window_seconds=60)
        assert 0 < cache.ttl("window:ttl") <= 61
        cache.expire("window:ttl", 5)
        counters.count("window:ttl", window_seconds=60)
        assert cache.ttl("window:ttl") <= 5  # the window keeps the expiry it was opened with
        counters.increment("version:ttl", timeout=86400, keep_expiry=False)
        cache.expire("version:ttl", 5)
        counters.increment("version:ttl", timeout=86400, keep_expiry=False)
        assert cache.ttl("version:ttl") > 5  # a version lives a day from its last bump


def test_counting_on_the_local_cache_gives_the_same_answers():
    with override_settings(CACHES=LOCAL_CACHE):
        check_counting(caches["default"])


@pytest.mark.django_db
def test_a_redis_that_does_not_answer_counts_nothing_and_fails_no_request(settings, api_client):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    from config.settings.base import shared_cache

    settings.CACHES = shared_cache("redis://127.0.0.1:1/0")
    settings.API_RATE_ANONYMOUS = "1/m"
    assert counters.count("window:down", window_seconds=60, also_get=["entry"]) == (0, {})
    assert caches["default"].get("entry") is None  # the cache misses instead of raising
    for _ in range(3):  # a limit of one a minute, yet no request is refused while nothing is counted
        assert api_client.get("/api/v1/exam-slots").status_code == 200
