"""Webhook signing secrets: made here, shown to the user once, stored only encrypted.

A secret is `whsec_<base64 of 32 random bytes>` (the Standard Webhooks form). At rest it is AES-256-GCM
under a key derived from MAXXIT_SECRET_KEY for this purpose alone, with the endpoint's id bound as
associated data, so a ciphertext copied onto another endpoint's row fails to decrypt rather than signing
for it. Neither the cipher nor a secret ever appears in a repr or a log line.
"""

from __future__ import annotations

import base64
import os
import secrets as random

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.config import Settings, get_settings
from backend.secret_key import derive_key

PREFIX = "whsec_"
SECRET_BYTES = 32
NONCE_BYTES = 12
PURPOSE = "webhook-secrets"


class WebhookSecretError(RuntimeError):
    """A stored secret does not decrypt with this platform secret (a rotated key or a tampered row)."""


def new_secret() -> str:
    """A fresh signing secret in the `whsec_…` form receivers paste into `standardwebhooks.Webhook`."""
    return PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


class SecretCipher:
    """Encrypts and decrypts endpoints' secrets; one per process, derived from the settings."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretCipher:
        return cls(derive_key(settings, PURPOSE))

    def __repr__(self) -> str:
        return "SecretCipher(<key hidden>)"

    def encrypt(self, endpoint_id: int, secret: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), _bound(endpoint_id))

    def decrypt(self, endpoint_id: int, blob: bytes) -> str:
        nonce, ciphertext = bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:])
        try:
            return self._aead.decrypt(nonce, ciphertext, _bound(endpoint_id)).decode()
        except InvalidTag:
            raise WebhookSecretError(
                f"the secret of webhook endpoint {endpoint_id} does not decrypt"
            ) from None


def secret_cipher(cipher: object | None = None, settings: Settings | None = None) -> SecretCipher:
    """`cipher` when it is a `SecretCipher`, else one derived from the settings.

    Callers holding the process's other cipher (the wallet cipher `build_senders` receives) may pass it:
    webhook secrets never use that key, so it is ignored and this purpose's key is derived instead.
    """
    if isinstance(cipher, SecretCipher):
        return cipher
    return SecretCipher.from_settings(settings or get_settings())


def _bound(endpoint_id: int) -> bytes:
    return f"webhook-endpoint:{int(endpoint_id)}".encode()
