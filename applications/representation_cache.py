"""The Application as the API shows it, kept in the cache between changes (the read path of every channel's polling).

Each application has a version in the cache, bumped after every committed change to it, its checks, consent or
history (model signals; `.update()` callers bump it themselves). A copy is stored with the version read *before*
the database was read and is served only while that version is still current, so a reader racing a writer can
never put back a copy older than the last commit. Copies also expire after a minute (the day's fee is in them).

Copies are kept only in a cache that every process shares (Redis): in a process's own memory the worker's change
would never reach the web process's copy, so there every read renders from the database.
"""

from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from config import counters

TIMEOUT_SECONDS = 60
VERSION_TIMEOUT_SECONDS = 24 * 60 * 60


def _json_key(application_id, language: str) -> str:
    return f"application-json:{application_id}:{language}"


def _version_key(application_id) -> str:
    return f"application-version:{application_id}"


def version(application_id, *, prefetched: dict | None = None) -> int:
    """The current version; one read before the throttle's round trip (`prefetched`) is as good, being earlier."""
    if prefetched is not None:
        return prefetched.get(_version_key(application_id)) or 0
    return cache.get(_version_key(application_id)) or 0


def shared() -> bool:
    """Whether the cache is one that every process reads and writes (not a process's own memory)."""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def keys(application_id, language: str) -> list[str]:
    """What `get` reads: a caller may fetch these beforehand (with the throttle's count) and pass them in."""
    return [_json_key(application_id, language), _version_key(application_id)]


def get(application_id, language: str, *, prefetched: dict | None = None) -> dict | None:
    """The cached copy, if it was made at the current version."""
    if not shared():
        return None
    found = prefetched if prefetched is not None else cache.get_many(keys(application_id, language))
    entry = found.get(_json_key(application_id, language))
    if entry is None or entry["version"] != (found.get(_version_key(application_id)) or 0):
        return None
    return entry


def put(application_id, language: str, *, version_read: int, organisation_id, body: bytes) -> None:
    if not shared():
        return
    cache.set(_json_key(application_id, language),
              {"version": version_read, "organisation_id": organisation_id, "body": body}, timeout=TIMEOUT_SECONDS)


def _bump(application_id) -> None:
    counters.increment(_version_key(application_id), timeout=VERSION_TIMEOUT_SECONDS, keep_expiry=False)


def forget(application_id) -> None:
    """Call on every change: copies made before the commit stop being served once it lands."""
    _bump(application_id)
    # Robust: a cache gone away after the commit must not fail a committed change, nor skip the hooks after it.
    transaction.on_commit(lambda: _bump(application_id), robust=True)


def forget_on_change(sender, instance, created: bool = False, **kwargs) -> None:
    """Model signal. A row being created changes nothing cached: a new application cannot have been read yet,
    and the rows created later (a status change) come with a save of the Application, which does forget."""
    if created:
        return
    forget(getattr(instance, "application_id", None) or instance.pk)
