"""Who is making a request: the signed-in user as every layer above the database sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eth_utils import is_hex_address

from backend.auth.errors import InvalidAddress
from backend.models.enums import Role


@dataclass(frozen=True)
class CurrentUser:
    id: int
    address: str
    role: Role
    session_id: int | None = None
    session_expires_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def short_address(self) -> str:
        return f"{self.address[:6]}…{self.address[-4:]}"


def normalize_address(address: str) -> str:
    """Lower-case 0x address, or InvalidAddress; users are keyed by this form."""
    value = (address or "").strip()
    if not is_hex_address(value) or not value.startswith("0x"):
        raise InvalidAddress("address must be a 0x-prefixed 20-byte hex Ethereum address")
    return value.lower()
