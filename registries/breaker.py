"""A circuit breaker per registry, its state shared by every process through Redis (in memory without Redis).

Why not pybreaker: its `call` holds a lock for the whole guarded call, so one process could have only one request
in flight per registry, which is the opposite of what a gateway under load needs. Here the state is read before
the call and updated after it; nothing is held while the registry answers.

Closed: calls go through; `fail_max` consecutive failures open it. Open: calls fail at once for `reset_seconds`.
Then one trial call at a time is let through (half-open): a success closes it, a failure opens it again.
"""

import threading
import time
from dataclasses import dataclass


class CircuitOpen(Exception):
    """The registry failed too often lately: the call was not made."""


class MemoryStorage:
    def __init__(self):
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._open_until: dict[str, float] = {}
        self._trial_until: dict[str, float] = {}

    def snapshot(self, name: str) -> tuple[float, int]:
        """(open until, consecutive failures)."""
        return self._open_until.get(name, 0.0), self._failures.get(name, 0)

    def claim_trial(self, name: str, seconds: float) -> bool:
        with self._lock:
            now = time.time()
            if self._trial_until.get(name, 0.0) > now:
                return False
            self._trial_until[name] = now + seconds
            return True

    def record_failure(self, name: str, fail_max: int, reset_seconds: float) -> None:
        with self._lock:
            self._failures[name] = self._failures.get(name, 0) + 1
            if self._failures[name] >= fail_max:
                self._open_until[name] = time.time() + reset_seconds
                self._trial_until.pop(name, None)

    def record_success(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
            self._open_until.pop(name, None)
            self._trial_until.pop(name, None)

    def reset(self, name: str) -> None:
        self.record_success(name)


class RedisStorage:
    """Keys `<namespace>:<name>:failures|open_until|trial`, shared by every web and worker process."""

    def __init__(self, client, namespace: str):
        self.client = client
        self.namespace = namespace

    def _key(self, name: str, part: str) -> str:
        return f"{self.namespace}:{name}:{part}"

    def snapshot(self, name: str) -> tuple[float, int]:
        """(open until, consecutive failures), in one round trip."""
        open_until, failures = self.client.mget(self._key(name, "open_until"), self._key(name, "failures"))
        return (float(open_until) if open_until else 0.0), (int(failures) if failures else 0)

    def claim_trial(self, name: str, seconds: float) -> bool:
        return bool(self.client.set(self._key(name, "trial"), "1", nx=True, px=max(1, int(seconds * 1000))))

    def record_failure(self, name: str, fail_max: int, reset_seconds: float) -> None:
        failures_key = self._key(name, "failures")
        pipe = self.client.pipeline()
        pipe.incr(failures_key)
        pipe.expire(failures_key, max(60, int(reset_seconds * 10)))
        failures = pipe.execute()[0]
        if failures >= fail_max:
            pipe = self.client.pipeline()
            pipe.set(self._key(name, "open_until"), str(time.time() + reset_seconds),
                     ex=max(1, int(reset_seconds * 10)))
            pipe.delete(self._key(name, "trial"))
            pipe.execute()

    def record_success(self, name: str) -> None:
        self.client.delete(self._key(name, "failures"), self._key(name, "open_until"), self._key(name, "trial"))

    def reset(self, name: str) -> None:
        self.record_success(name)


@dataclass
class CircuitBreaker:
    name: str
    storage: MemoryStorage | RedisStorage
    fail_max: int
    reset_seconds: float

    def call(self, function, *args, **kwargs):
        open_until, failures = self.storage.snapshot(self.name)
        if open_until:
            # Open, or past its wait and half-open: only one trial call at a time goes through.
            if time.time() < open_until or not self.storage.claim_trial(self.name, self.reset_seconds):
                raise CircuitOpen(self.name)
        try:
            result = function(*args, **kwargs)
        except Exception:
            self.storage.record_failure(self.name, self.fail_max, self.reset_seconds)
            raise
        if open_until or failures:  # the common success path writes nothing
            self.storage.record_success(self.name)
        return result

    def close(self) -> None:
        self.storage.reset(self.name)
