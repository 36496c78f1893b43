"""Test wallets: real secp256k1 keys from eth_account, signing exactly as a browser wallet's personal_sign."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

# A session-signing key for tests only; long enough for load_secret_key.
TEST_SECRET_KEY = "test-secret-key-0123456789abcdef-not-for-production"


@dataclass
class Wallet:
    account: LocalAccount = field(default_factory=Account.create)

    @property
    def address(self) -> str:
        """EIP-55 checksum form, as wallets report it."""
        return self.account.address

    @property
    def lower(self) -> str:
        return self.account.address.lower()

    def sign(self, message: str) -> str:
        """EIP-191 `personal_sign` of the text, 0x-prefixed hex."""
        return "0x" + self.account.sign_message(encode_defunct(text=message)).signature.hex().removeprefix(
            "0x"
        )
