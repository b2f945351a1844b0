"""The card's verification code: a signed, offline-checkable seal, built the way the EU digital COVID certificate
(HCERT) and ICAO's visible digital seals are: a CBOR payload (CWT claims), signed as COSE_Sign1 (RFC 9052) with
Ed25519, compressed with zlib, Base45-encoded, behind a versioned prefix: `KZDL1:<base45>`.

Hand-written over cbor2 and cryptography, on purpose: pycose 1.1.0 (its last release, 2023) no longer decodes with
cbor2 6 (arrays come back as tuples) and pulls oscrypto, which does not load on OpenSSL 3. COSE_Sign1 with one
algorithm is the few lines below; `docs/verifying-a-licence.md` shows a third party how to check a code with only
the published public key.

Keys come from settings (`LICENCE_SIGNING_KEYS`: key id -> PEM private key; `LICENCE_SIGNING_KEY_ID`: the one that
signs now; `LICENCE_VERIFICATION_KEYS`: key id -> PEM public key of retired keys still honoured), so the authority
rotates them without touching a card already printed. The key id travels in the protected header.
"""

import base64
import datetime
import zlib
from dataclasses import dataclass
from functools import lru_cache

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

PREFIX = "KZDL1:"
COSE_SIGN1_TAG = 18
HEADER_ALG, HEADER_KID = 1, 4
ALG_EDDSA = -8
# CWT claims (RFC 8392): issuer, expiry, issued at; the licence itself under a private claim, as HCERT does.
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI, CLAIM_LICENCE = 1, 4, 6, 7, -260


@dataclass(frozen=True)
class LicenceSeal:
    """What a code says, once its signature is proven."""

    number: str
    categories: list[str]
    issued_on: datetime.date
    expires_on: datetime.date
    surname: str
    initials: str
    issuer: str
    key_id: str
    # The card's own id (CWT "cti"): each card printed, a reprint too, carries a code of its own.
    card_id: str = ""


class InvalidCode(Exception):
    """Forged, altered, unreadable, or signed by a key nobody published."""


def _epoch(day: datetime.date) -> int:
    return int(datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC).timestamp())


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


@lru_cache(maxsize=16)
def _private_key(key_id: str) -> Ed25519PrivateKey:
    pem = settings.LICENCE_SIGNING_KEYS[key_id]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"licence signing key {key_id} is not an Ed25519 key")
    return key


def public_keys() -> dict[str, Ed25519PublicKey]:
    """Every key a code may be signed with: those that sign, and the retired ones still honoured."""
    keys = {key_id: _private_key(key_id).public_key() for key_id in settings.LICENCE_SIGNING_KEYS}
    for key_id, pem in (settings.LICENCE_VERIFICATION_KEYS or {}).items():
        key = serialization.load_pem_public_key(pem.encode())
        if isinstance(key, Ed25519PublicKey):
            keys.setdefault(key_id, key)
    return keys


def jwks() -> dict:
    """The public keys as a JSON Web Key Set (RFC 8037 OKP keys), published at a well-known URL."""
    keys = []
    for key_id, key in sorted(public_keys().items()):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keys.append({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": key_id,
                     "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()})
    return {"keys": keys}


def sign(seal: LicenceSeal, *, key_id: str | None = None) -> str:
    """The code for a card: the text its QR code holds."""
    key_id = key_id or settings.LICENCE_SIGNING_KEY_ID
    payload = cbor2.dumps({
        CLAIM_ISS: seal.issuer, CLAIM_IAT: _epoch(seal.issued_on), CLAIM_EXP: _epoch(seal.expires_on),
        CLAIM_CTI: bytes.fromhex(seal.card_id) if seal.card_id else b"",
        CLAIM_LICENCE: {"n": seal.number, "c": list(seal.categories), "i": seal.issued_on.isoformat(),
                        "e": seal.expires_on.isoformat(), "s": seal.surname, "in": seal.initials}})
    protected = cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: key_id.encode()})
    signature = _private_key(key_id).sign(_sig_structure(protected, payload))
    message = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + base45.b45encode(zlib.compress(message, 9)).decode()


def verify(code: str, keys: dict[str, Ed25519PublicKey] | None = None) -> LicenceSeal:
    """The seal of a genuine code; InvalidCode for anything else. Needs only the public keys."""
    if not isinstance(code, str) or not code.startswith(PREFIX):
        raise InvalidCode("not a Kuälik licence code")
    try:
        message = cbor2.loads(zlib.decompress(base45.b45decode(code[len(PREFIX):].strip())))
        if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG or len(message.value) != 4:
            raise InvalidCode("not a COSE_Sign1 message")
        protected, _unprotected, payload, signature = message.value
        header = cbor2.loads(protected)
        key_id = bytes(header[HEADER_KID]).decode()
        if header.get(HEADER_ALG) != ALG_EDDSA:
            raise InvalidCode("unexpected algorithm")
    except InvalidCode:
        raise
    except Exception as error:  # any malformed input: base45, zlib, CBOR, missing members
        raise InvalidCode("unreadable code") from error
    key = (keys if keys is not None else public_keys()).get(key_id)
    if key is None:
        raise InvalidCode("unknown key")
    try:
        key.verify(bytes(signature), _sig_structure(bytes(protected), bytes(payload)))
    except InvalidSignature as error:
        raise InvalidCode("bad signature") from error
    try:
        claims = cbor2.loads(payload)
        licence = claims[CLAIM_LICENCE]
        return LicenceSeal(number=licence["n"], categories=list(licence["c"]),
                           issued_on=datetime.date.fromisoformat(licence["i"]),
                           expires_on=datetime.date.fromisoformat(licence["e"]), surname=licence["s"],
                           initials=licence["in"], issuer=claims[CLAIM_ISS], key_id=key_id,
                           card_id=bytes(claims.get(CLAIM_CTI, b"")).hex())
    except Exception as error:
        raise InvalidCode("unexpected payload") from error
