"""The SMS gateway: given an IIN it finds the phone in the mobile-citizens database itself."""

from .. import gateway
from ..results import Outcome, RegistryAnswer, Unavailable


class SmsClient:
    name = "sms"

    def send(self, *, text: str, iin: str | None = None, phone: str | None = None) -> RegistryAnswer:
        if not (iin or phone):
            raise ValueError("an SMS needs an IIN or a phone")
        try:
            body = gateway.post(self.name, "send", {"iin": iin, "phone": phone, "text": text}, idempotent=False)
            status = body["status"]
        except Unavailable as unavailable:
            return RegistryAnswer(self.name, Outcome.UNAVAILABLE, reason=unavailable.reason)
        except (KeyError, TypeError):
            return RegistryAnswer(self.name, Outcome.UNAVAILABLE, reason="unexpected_answer")
        if status == "queued":
            return RegistryAnswer(self.name, Outcome.PASSED, facts={"message_id": body.get("message_id")})
        if status == "unknown_recipient":
            return RegistryAnswer(self.name, Outcome.FAILED, code="unknown_recipient")
        return RegistryAnswer(self.name, Outcome.UNAVAILABLE, reason="unexpected_answer")
