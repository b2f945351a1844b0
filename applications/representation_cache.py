"""The Application as the API shows it, kept in the cache between changes (the read path of every channel's polling).

Each application has a version in the cache, bumped after every committed change to it, its checks, consent or
history (model signals; `.update()` callers bump it themselves). A copy is stored with the version read *before*
the database was read and is served only while that version is still current, so a reader racing a writer can
never put back a copy older than the last commit. Copies also expire after a minute (the day's fee is in them).
"""

from django.core.cache import cache
from django.db import transaction

TIMEOUT_SECONDS = 60
VERSION_TIMEOUT_SECONDS = 24 * 60 * 60


def _json_key(application_id, language: str) -> str:
    return f"application-json:{application_id}:{language}"


def _version_key(application_id) -> str:
    return f"application-version:{application_id}"


def version(application_id) -> int:
    return cache.get(_version_key(application_id)) or 0


def get(application_id, language: str) -> dict | None:
    """The cached copy, if it was made at the current version."""
    found = cache.get_many([_json_key(application_id, language), _version_key(application_id)])
    entry = found.get(_json_key(application_id, language))
    if entry is None or entry["version"] != (found.get(_version_key(application_id)) or 0):
        return None
    return entry


def put(application_id, language: str, *, version_read: int, organisation_id, body: bytes) -> None:
    cache.set(_json_key(application_id, language),
              {"version": version_read, "organisation_id": organisation_id, "body": body}, timeout=TIMEOUT_SECONDS)


def _bump(application_id) -> None:
    key = _version_key(application_id)
    cache.add(key, 0, timeout=VERSION_TIMEOUT_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=VERSION_TIMEOUT_SECONDS)


def forget(application_id) -> None:
    """Call on every change: copies made before the commit stop being served once it lands."""
    _bump(application_id)
    transaction.on_commit(lambda: _bump(application_id))


def forget_on_change(sender, instance, **kwargs) -> None:
    forget(getattr(instance, "application_id", None) or instance.pk)
