"""The one place where Kuälik talks HTTP to a registry: timeouts, retries, a circuit breaker, a bulkhead.

Every failure (timeout, refused connection, open breaker, full bulkhead, non-2xx, a body that is not JSON) raises
`Unavailable` with a reason; clients turn that into an UNAVAILABLE answer, so an outage never passes and never
refuses anyone.
"""

import json
import logging
import threading
import time
import uuid

import httpx
from django.conf import settings
from django_guid import get_guid
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from . import metrics
from .breaker import CircuitBreaker, CircuitOpen, MemoryStorage, RedisStorage
from .results import Unavailable

logger = logging.getLogger(__name__)

# Statuses that say "not processed, try again"; anything else non-2xx is final for this call.
RETRYABLE_STATUSES = {502, 503, 504}


class _RetryableStatus(Exception):
    def __init__(self, status: int):
        super().__init__(f"http_{status}")
        self.status = status


def registry_url(registry: str) -> str:
    urls = getattr(settings, "REGISTRY_URLS", {}) or {}
    return urls.get(registry) or f"{settings.REGISTRY_BASE_URL.rstrip('/')}/{registry}"


def _timeout(registry: str) -> httpx.Timeout:
    per_registry = settings.REGISTRY_TIMEOUTS.get(registry, {})
    read = per_registry.get("read", settings.REGISTRY_TIMEOUTS["default"]["read"])
    connect = per_registry.get("connect", settings.REGISTRY_TIMEOUTS["default"]["connect"])
    return httpx.Timeout(read, connect=connect)


_clients_lock = threading.Lock()
_shared: dict[str, object] = {}


def _once(name: str, build):
    """Build a per-process singleton once, even when a hundred threads ask for it at the same moment."""
    value = _shared.get(name)
    if value is None:
        with _clients_lock:
            value = _shared.get(name)
            if value is None:
                value = _shared[name] = build()
    return value


_per_thread = threading.local()


def _http_client() -> httpx.Client:
    """A pooled client per thread: httpcore's pool lock is a choke point when a hundred threads share one client."""
    client = getattr(_per_thread, "client", None)
    if client is None:
        client = _per_thread.client = httpx.Client(
            verify=_once("tls", httpx.create_ssl_context),  # building a TLS context costs milliseconds: share one
            limits=httpx.Limits(max_connections=settings.REGISTRY_CONNECTIONS_PER_THREAD,
                                max_keepalive_connections=settings.REGISTRY_CONNECTIONS_PER_THREAD,
                                # Drop an idle connection before the server would, so none is reused half-closed.
                                keepalive_expiry=settings.REGISTRY_KEEPALIVE_SECONDS),
            headers={"User-Agent": "Kualik/1.0 registry-gateway"},
        )
    return client


def _redis():
    import redis

    return _once("redis", lambda: redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5,
                                                       socket_connect_timeout=0.5))


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()
_memory_storage = MemoryStorage()


def breaker(registry: str) -> CircuitBreaker:
    """The registry's circuit breaker; its state lives in Redis when there is one, so every process shares it."""
    with _breakers_lock:
        if registry not in _breakers:
            storage = (RedisStorage(_redis(), settings.CIRCUIT_BREAKER_NAMESPACE) if settings.REDIS_URL
                       else _memory_storage)
            _breakers[registry] = CircuitBreaker(registry, storage, fail_max=settings.CIRCUIT_BREAKER_FAIL_MAX,
                                                 reset_seconds=settings.CIRCUIT_BREAKER_RESET_SECONDS)
        return _breakers[registry]


def reset_breakers() -> None:
    """Close every breaker (tests, and an operator after an incident)."""
    for name in settings.REGISTRY_NAMES:
        breaker(name).close()


_bulkheads: dict[str, threading.BoundedSemaphore] = {}


def _bulkhead(registry: str) -> threading.BoundedSemaphore:
    with _breakers_lock:
        if registry not in _bulkheads:
            _bulkheads[registry] = threading.BoundedSemaphore(settings.REGISTRY_BULKHEAD_SIZE)
        return _bulkheads[registry]


@metrics.observed
def post(registry: str, path: str, payload: dict, *, idempotent: bool = True) -> dict:
    """POST JSON to a registry and return its JSON answer, or raise Unavailable(reason).

    `idempotent=False` (consent codes, SMS) retries only when the request certainly did not arrive: a refused
    connection or a retryable status, never a read timeout.
    """
    bulkhead = _bulkhead(registry)
    # A slow registry fills only its own compartment; callers of the others are not held up.
    if not bulkhead.acquire(timeout=settings.REGISTRY_BULKHEAD_WAIT_SECONDS):
        raise Unavailable("bulkhead_full")
    try:
        return breaker(registry).call(_post_with_retries, registry, path, payload, idempotent)
    except CircuitOpen:
        raise Unavailable("circuit_open") from None
    except Unavailable:
        raise
    except Exception as error:  # anything unforeseen is an outage, never a verdict
        logger.exception("registry %s: unexpected failure", registry)
        raise Unavailable(f"unexpected:{type(error).__name__}") from error
    finally:
        bulkhead.release()


def _worth_retrying(idempotent: bool):
    def predicate(error: BaseException) -> bool:
        if isinstance(error, _RetryableStatus | httpx.ConnectError | httpx.ConnectTimeout):
            return True
        return idempotent and isinstance(error, httpx.TransportError)

    return predicate


def _post_with_retries(registry: str, path: str, payload: dict, idempotent: bool) -> dict:
    url = f"{registry_url(registry)}/{path.lstrip('/')}"
    retrying = Retrying(
        stop=stop_after_attempt(settings.REGISTRY_RETRY_ATTEMPTS),
        wait=wait_random_exponential(multiplier=settings.REGISTRY_RETRY_BACKOFF_SECONDS,
                                     max=settings.REGISTRY_RETRY_BACKOFF_MAX_SECONDS),
        retry=retry_if_exception(_worth_retrying(idempotent)),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                return _post_once(registry, url, payload)
    except _RetryableStatus as error:
        raise Unavailable(f"http_{error.status}") from None
    except httpx.TimeoutException:
        raise Unavailable("timeout") from None
    except httpx.HTTPError as error:
        raise Unavailable(f"transport:{type(error).__name__}") from None
    raise AssertionError("unreachable: tenacity either returns or re-raises")


def _post_once(registry: str, url: str, payload: dict) -> dict:
    started = time.monotonic()
    # The request id of the page or task that asked, so both sides' logs meet; a fresh one otherwise.
    response = _http_client().post(url, json=payload, timeout=_timeout(registry),
                                   headers={"X-Request-Id": get_guid() or str(uuid.uuid4())})
    elapsed_ms = int((time.monotonic() - started) * 1000)
    if response.status_code in RETRYABLE_STATUSES:
        raise _RetryableStatus(response.status_code)
    if not 200 <= response.status_code < 300:
        logger.warning("registry %s answered HTTP %s in %d ms", registry, response.status_code, elapsed_ms)
        raise Unavailable(f"http_{response.status_code}")
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Unavailable("unparseable") from None
    if not isinstance(body, dict):
        raise Unavailable("unparseable")
    return body
