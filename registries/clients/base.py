"""The interface every registry client implements, and the shared query path."""

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date

from .. import gateway
from ..results import Outcome, RegistryAnswer, Unavailable


@dataclass(frozen=True)
class PersonQuery:
    """One question about one person, asked under the citizen's consent."""

    iin: str
    consent_request: str
    categories: tuple[str, ...] = ()
    purpose: str = "eligibility_check"
    on: date = field(default_factory=date.today)
    # licence_registry: True = the person must hold a licence (replacement); False = must hold none valid.
    must_hold_licence: bool = False
    # licence_registry, replacement by expiry: an expired licence is the one being replaced.
    expired_licence_counts: bool = False


class RegistryClient(ABC):
    """Ask one registry one question. `check` never raises: it answers passed, failed(code) or unavailable."""

    name: str = ""

    def check(self, query: PersonQuery) -> RegistryAnswer:
        started = time.monotonic()
        try:
            body = gateway.post(self.name, "query", {
                "iin": query.iin, "consent_request": query.consent_request, "purpose": query.purpose,
                "categories": list(query.categories),
            })
            answer = self.interpret(body, query)
        except Unavailable as unavailable:
            answer = RegistryAnswer(self.name, Outcome.UNAVAILABLE, reason=unavailable.reason)
        except (KeyError, TypeError, ValueError, AttributeError):
            # The body was JSON but not the protocol: as good as no answer.
            answer = RegistryAnswer(self.name, Outcome.UNAVAILABLE, reason="unexpected_answer")
        return RegistryAnswer(answer.registry, answer.outcome, answer.code, answer.reason, answer.facts,
                              latency_ms=int((time.monotonic() - started) * 1000))

    @abstractmethod
    def interpret(self, body: dict, query: PersonQuery) -> RegistryAnswer:
        """What the registry's answer means for this query; a malformed body raises KeyError/TypeError/ValueError."""

    # Helpers for the clients' verdicts.
    def passed(self, **facts) -> RegistryAnswer:
        return RegistryAnswer(self.name, Outcome.PASSED, facts=facts)

    def failed(self, code: str, **facts) -> RegistryAnswer:
        return RegistryAnswer(self.name, Outcome.FAILED, code=code, facts=facts)


def parse_date(value) -> date:
    if not isinstance(value, str):
        raise TypeError("a date must be a string")
    return date.fromisoformat(value)


def found(body: dict) -> bool:
    value = body["found"]
    if not isinstance(value, bool):
        raise TypeError("found must be a boolean")
    return value


def report(registry: str, path: str, payload: dict) -> RegistryAnswer:
    """Tell a registry something (a result, a licence issued) and have it say `recorded`; like `check`, never
    raises: anything else is UNAVAILABLE, and the caller's task tries again."""
    try:
        status = gateway.post(registry, path, payload)["status"]
    except Unavailable as unavailable:
        return RegistryAnswer(registry, Outcome.UNAVAILABLE, reason=unavailable.reason)
    except (KeyError, TypeError):
        return RegistryAnswer(registry, Outcome.UNAVAILABLE, reason="unexpected_answer")
    if status == "recorded":
        return RegistryAnswer(registry, Outcome.PASSED)
    return RegistryAnswer(registry, Outcome.UNAVAILABLE, reason="unexpected_answer")
