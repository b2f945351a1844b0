"""The state service for control of access to personal data: asks the citizen's consent, confirms the code."""

from dataclasses import dataclass

from .. import gateway
from ..results import Unavailable

REQUEST_STATUSES = {"code_sent", "decision_pending", "person_not_found"}
CONFIRM_STATUSES = {"granted", "invalid_code", "expired", "declined", "locked", "withdrawn"}
RESEND_STATUSES = {"code_sent", "granted", "declined", "locked", "withdrawn", "expired", "decision_pending"}


@dataclass(frozen=True)
class ConsentAnswer:
    """`status` is the service's word, or "unavailable" (then `reason` says why)."""

    status: str
    request_id: str | None = None
    attempts_left: int | None = None
    expires_at: str | None = None
    reason: str | None = None

    @property
    def unavailable(self) -> bool:
        return self.status == "unavailable"


class ConsentClient:
    name = "consent"

    def request(self, *, iin: str, application: str, channel: str, purpose: str, registries: list[str],
                language: str, callback_url: str | None) -> ConsentAnswer:
        return self._call("requests", {
            "iin": iin, "application": application, "channel": channel, "purpose": purpose,
            "registries": registries, "language": language, "callback_url": callback_url,
        }, REQUEST_STATUSES)

    def confirm(self, *, request_id: str, code: str) -> ConsentAnswer:
        return self._call(f"requests/{request_id}/confirm", {"code": code}, CONFIRM_STATUSES)

    def resend(self, *, request_id: str) -> ConsentAnswer:
        return self._call(f"requests/{request_id}/resend", {}, RESEND_STATUSES)

    def withdraw(self, *, request_id: str) -> ConsentAnswer:
        return self._call(f"requests/{request_id}/withdraw", {}, {"withdrawn"})

    def _call(self, path: str, payload: dict, statuses: set[str]) -> ConsentAnswer:
        try:
            # Not idempotent: a retried request could send a second code or spend a second try.
            body = gateway.post(self.name, path, payload, idempotent=False)
            status = body["status"]
            if status not in statuses:
                raise ValueError(status)
            attempts_left = body.get("attempts_left")
            if attempts_left is not None and (not isinstance(attempts_left, int) or attempts_left < 0):
                raise ValueError("attempts_left")
            return ConsentAnswer(status=status, request_id=body.get("request_id"), attempts_left=attempts_left,
                                 expires_at=body.get("expires_at"))
        except Unavailable as unavailable:
            return ConsentAnswer(status="unavailable", reason=unavailable.reason)
        except (KeyError, TypeError, ValueError):
            return ConsentAnswer(status="unavailable", reason="unexpected_answer")
