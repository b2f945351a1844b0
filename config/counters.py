"""Counters in fixed time windows, shared between processes through Redis (the API throttles, cache versions).

With Redis one round trip counts: INCR and EXPIRE ... NX in a pipeline. django-redis's own `incr` runs a Lua
script per call to keep the key's time to live, which cost more than the rest of a cached read; here the window's
expiry is set once, by whichever request opens the window. A caller that is about to read cache entries anyway can
have them read in the same round trip (`also_get`): the throttled read of a cached Application costs one round trip
in all. Without Redis (a bare `make run`) the local cache counts.

A Redis that does not answer counts nothing (0, no entries), so a Redis outage opens the rate limits and skips the
cache for its length instead of failing every request; /readyz and the metrics say it is down.
"""

import logging

from django.core.cache import cache, caches
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _redis():
    from django_redis import get_redis_connection
    from django_redis.cache import RedisCache

    return get_redis_connection("default") if isinstance(caches["default"], RedisCache) else None


def increment(key: str, *, timeout: int, keep_expiry: bool = True, also_get=()) -> tuple[int, dict]:
    """Add one to `key` (0 if absent); return the new value and the cache entries named in `also_get`.

    The key expires `timeout` seconds after it was created (`keep_expiry`), or else after this call.
    """
    connection = _redis()
    if connection is None:
        try:
            value = cache.incr(key)
        except ValueError:
            value = 1 if cache.add(key, 1, timeout=timeout) else cache.incr(key)
        return value, (cache.get_many(list(also_get)) if also_get else {})
    backend = caches["default"]
    full_key = backend.make_and_validate_key(key)
    pipeline = connection.pipeline(transaction=False)
    pipeline.incr(full_key)
    pipeline.expire(full_key, timeout, nx=keep_expiry)
    also_get = list(also_get)
    if also_get:
        pipeline.mget([backend.make_and_validate_key(name) for name in also_get])
    try:
        answers = pipeline.execute()
    except RedisError as error:
        logger.warning("counters: Redis does not answer (%s): counted nothing", type(error).__name__)
        return 0, {}
    found = {}
    if also_get:
        found = {name: backend.client.decode(raw) for name, raw in zip(also_get, answers[2], strict=True)
                 if raw is not None}
    return answers[0], found


def count(key: str, *, window_seconds: int, also_get=()) -> tuple[int, dict]:
    """The number of calls so far in this key's window (the key lives one window plus a second), and `also_get`."""
    return increment(key, timeout=window_seconds + 1, also_get=also_get)
