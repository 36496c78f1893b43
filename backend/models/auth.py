"""Users, sign-in nonces and sessions (Sign-In-With-Ethereum)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.models.common import created_at_field, enum_field, ts_field
from backend.models.enums import Role

# Our own EIP-4361 messages are about 450 characters; anything over this is refused before it is read.
MAX_SIGN_IN_MESSAGE_CHARS = 2048


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    # Lower-case hex address: one user per wallet whatever checksum casing a client sends.
    address: str = Field(max_length=42, unique=True, index=True)
    display_name: str | None = Field(default=None, max_length=64)
    role: str = enum_field(Role, default=Role.TRADER)
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = ts_field()


class AuthNonce(SQLModel, table=True):
    """A single-use SIWE nonce; `used_at` is set by the verification that consumes it."""

    __tablename__ = "auth_nonces"

    id: int | None = Field(default=None, primary_key=True)
    nonce: str = Field(max_length=64, unique=True)
    address: str = Field(max_length=42, index=True)
    issued_at: datetime = created_at_field()
    expires_at: datetime = ts_field(nullable=False)
    used_at: datetime | None = ts_field()
    # The exact text the server issued: a submitted message must equal it before the SIWE parser sees it.
    message: str | None = Field(default=None, max_length=MAX_SIGN_IN_MESSAGE_CHARS)


class AuthSession(SQLModel, table=True):
    """A signed-in session. Only a hash of the token is stored, so a database leak reveals no session."""

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = ts_field(nullable=False)
    revoked_at: datetime | None = ts_field()
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=256)
