"""Agent wallet keys at rest: AES-256-GCM under a key derived from MAXXIT_SECRET_KEY.

The wallet's address is bound into the ciphertext as associated data, so a key copied onto another
wallet's row fails to decrypt instead of signing for the wrong account. Decryption happens only in the
executor, for one venue call.
"""

from __future__ import annotations

import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account
from eth_account.signers.local import LocalAccount

from backend.config import Settings
from backend.secret_key import derive_key

KEY_VERSION = 1
NONCE_BYTES = 12


class WalletKeyError(RuntimeError):
    """The stored key does not decrypt with this platform secret (wrong key, or a tampered row)."""


class WalletCipher:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> WalletCipher:
        return cls(derive_key(settings, "wallet-keys"))

    def __repr__(self) -> str:
        return "WalletCipher(<key hidden>)"

    def encrypt(self, address: str, private_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, private_key, address.lower().encode())

    def decrypt(self, address: str, blob: bytes) -> LocalAccount:
        nonce, ciphertext = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            key = self._aead.decrypt(nonce, ciphertext, address.lower().encode())
        except InvalidTag:
            raise WalletKeyError(f"the key of agent wallet {address} does not decrypt") from None
        account = Account.from_key(key)
        if account.address.lower() != address.lower():
            raise WalletKeyError(f"the key of agent wallet {address} belongs to another address")
        return account


def new_agent_key(cipher: WalletCipher) -> tuple[str, bytes]:
    """A fresh agent wallet: its checksummed address and its encrypted key (the clear key is dropped here)."""
    account = Account.from_key(secrets.token_bytes(32))
    return account.address, cipher.encrypt(account.address, bytes(account.key))
