"""A new card-signing key (Ed25519) for LICENCE_SIGNING_KEYS, printed once and stored nowhere.

The last line is the JSON entry {key id: PEM private key} to merge into LICENCE_SIGNING_KEYS; the line before the
heading above it is {key id: PEM public key}, for LICENCE_VERIFICATION_KEYS once the key is retired
(docs/operations.md, "Rotating the card-signing key"). --pem prints the private key alone.
"""

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Generate an Ed25519 card-signing key. The last line is the JSON entry {id: PEM private key} for "
            "LICENCE_SIGNING_KEYS; it is not shown again.")

    def add_arguments(self, parser):
        parser.add_argument("--id", required=True, dest="key_id", help="the key id, e.g. kz-2026-12")
        parser.add_argument("--pem", action="store_true", help="print only the PEM private key")

    def handle(self, *args, key_id, pem, **options):
        if not key_id or key_id.startswith("dev-") or not key_id.isprintable() or " " in key_id:
            raise CommandError("a key id is printable, has no spaces and never starts with dev- "
                               "(production refuses development keys)")
        key = Ed25519PrivateKey.generate()
        private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
        if pem:
            self.stdout.write(private_pem, ending="")
            return
        public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.stdout.write(f"Card-signing key {key_id}. Its public half, for LICENCE_VERIFICATION_KEYS once retired:")
        self.stdout.write(json.dumps({key_id: public_pem}))
        self.stdout.write("For LICENCE_SIGNING_KEYS (secret; not shown again):")
        self.stdout.write(json.dumps({key_id: private_pem}))
