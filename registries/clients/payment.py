"""The payment provider: creates a payment that the citizen pays on the provider's page, then confirms it to Kuälik
with a signed callback (PROTOCOL.md, "payment").

The signing lives here, in one function, so that the provider's side (the sandbox) and Kuälik's callback receiver
cannot drift apart: the signature is an HMAC-SHA256, keyed with REGISTRY_CALLBACK_SECRET, over
`"<timestamp>.<nonce>."` followed by the exact bytes of the body.
"""

import hashlib
import hmac
import secrets
import time

from .. import gateway
from ..results import Outcome, RegistryAnswer, Unavailable

TIMESTAMP_HEADER = "X-Payment-Timestamp"
NONCE_HEADER = "X-Payment-Nonce"
SIGNATURE_HEADER = "X-Payment-Signature"


def sign_callback(body: bytes, *, secret: str, timestamp: int, nonce: str) -> str:
    """The value of `X-Payment-Signature` for this body, timestamp and nonce: `sha256=<hex>`.

    A receiver recomputes it from the headers it got and compares with `hmac.compare_digest`.
    """
    message = f"{int(timestamp)}.{nonce}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, *, secret: str, timestamp: int | None = None, nonce: str | None = None) -> dict:
    """The three signing headers for a callback body (the provider sends them; tests forge and replay with them)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    nonce = secrets.token_hex(16) if nonce is None else nonce
    return {
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign_callback(body, secret=secret, timestamp=timestamp, nonce=nonce),
    }


class PaymentClient:
    name = "payment"

    def create(self, *, reference: str, amount_kzt: int, iin: str, description: str, callback_url: str,
               return_url: str) -> RegistryAnswer:
        """A payment of `amount_kzt` tenge, known to the provider by Kuälik's `reference`.

        The provider answers the same payment for the same reference, so a retried call (a read timeout) creates
        nothing twice. PASSED carries `provider_reference` and `pay_url`; any failure is UNAVAILABLE, never raised.
        """
        payload = {"reference": reference, "amount_kzt": amount_kzt, "iin": iin, "description": description,
                   "callback_url": callback_url, "return_url": return_url}
        try:
            body = gateway.post(self.name, "payments", payload, idempotent=True)
            provider_reference, pay_url = body["provider_reference"], body["pay_url"]
        except Unavailable as unavailable:
            return RegistryAnswer(self.name, Outcome.UNAVAILABLE, reason=unavailable.reason)
        except (KeyError, TypeError):
            return RegistryAnswer(self.name, Outcome.UNAVAILABLE, reason="unexpected_answer")
        if not (isinstance(provider_reference, str) and provider_reference
                and isinstance(pay_url, str) and pay_url.startswith(("https://", "http://"))):
            return RegistryAnswer(self.name, Outcome.UNAVAILABLE, reason="unexpected_answer")
        return RegistryAnswer(self.name, Outcome.PASSED,
                              facts={"provider_reference": provider_reference, "pay_url": pay_url})
