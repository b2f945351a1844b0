"""What a registry client returns: a plain value, never an exception into the workflow."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class RegistryAnswer:
    """A registry's verdict on one question about one person.

    `code` is the refusal code when failed; `reason` says why the registry was unavailable (timeout, circuit_open,
    http_503, unparseable, ...); `facts` holds only what a decision needs (validity dates, counts), never a
    record's content.
    """

    registry: str
    outcome: Outcome
    code: str | None = None
    reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    latency_ms: int = 0

    @property
    def answered(self) -> bool:
        return self.outcome != Outcome.UNAVAILABLE


class Unavailable(Exception):
    """Raised inside the gateway only; clients turn it into an UNAVAILABLE answer."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
