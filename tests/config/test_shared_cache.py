"""Rendered Applications are cached only where every process shares the cache: never in a process's own memory,
where a worker's change could not reach the web process's copy."""

import pytest

from applications import representation_cache
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

PROCESS_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "own"}}


def test_in_a_processs_own_memory_no_copy_is_kept(settings):
    settings.CACHES = PROCESS_MEMORY
    application = ApplicationFactory()
    version = representation_cache.version(application.pk)
    representation_cache.put(application.pk, "kk", version_read=version, organisation_id=None, body=b"{}")
    assert representation_cache.shared() is False
    assert representation_cache.get(application.pk, "kk") is None


@pytest.mark.redis
def test_in_redis_a_copy_is_served_until_the_next_change(settings):
    from config.settings.base import shared_cache

    settings.CACHES = shared_cache(settings.REDIS_URL)
    application = ApplicationFactory()
    version = representation_cache.version(application.pk)
    representation_cache.put(application.pk, "kk", version_read=version, organisation_id=None, body=b"{}")
    assert representation_cache.get(application.pk, "kk")["body"] == b"{}"
    representation_cache.forget(application.pk)
    assert representation_cache.get(application.pk, "kk") is None
