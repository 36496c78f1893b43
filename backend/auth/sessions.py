"""Signed-in sessions: created at sign-in, checked on every request, revoked on sign-out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select, update

from backend.auth import tokens
from backend.auth.errors import NotAuthenticated
from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.models import AuthNonce, AuthSession, User
from backend.models.common import utcnow
from backend.models.enums import Role
from backend.secret_key import derive_key

logger = logging.getLogger(__name__)

SESSION_COOKIE = "maxxit_session"
TOKEN_PURPOSE = "session-token"


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires_at: datetime
    session_id: int


def token_key(settings: Settings) -> bytes:
    return derive_key(settings, TOKEN_PURPOSE)


def create_session(
    session: Session,
    user_id: int,
    *,
    settings: Settings,
    now: datetime | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> IssuedSession:
    """Store a new session for the user and commit; the token itself is returned once and never stored."""
    key = token_key(settings)
    token = tokens.new_token(key)
    expires_at = (now or utcnow()) + timedelta(hours=settings.session_ttl_hours)
    row = AuthSession(
        user_id=user_id,
        token_hash=tokens.token_hash(key, token),
        expires_at=expires_at,
        ip=ip[:64] if ip else None,
        user_agent=user_agent[:256] if user_agent else None,
    )
    if now is not None:
        row.created_at = now
    session.add(row)
    session.commit()
    assert row.id is not None
    return IssuedSession(token=token, expires_at=expires_at, session_id=row.id)


def authenticate(
    session: Session, token: str | None, *, settings: Settings, now: datetime | None = None
) -> CurrentUser:
    """The user behind a live session token, or NotAuthenticated (missing, forged, expired or revoked)."""
    if not token:
        raise NotAuthenticated("sign in required")
    key = token_key(settings)
    if not tokens.is_signed(key, token):
        raise NotAuthenticated("invalid session token")
    found = session.exec(
        select(AuthSession, User)
        .join(User, col(User.id) == col(AuthSession.user_id))
        .where(col(AuthSession.token_hash) == tokens.token_hash(key, token))
    ).first()
    if found is None:
        raise NotAuthenticated("unknown session")
    row, user = found
    if row.revoked_at is not None:
        raise NotAuthenticated("this session was signed out")
    if row.expires_at <= (now or utcnow()):
        raise NotAuthenticated("this session has expired; sign in again")
    assert user.id is not None
    return CurrentUser(
        id=user.id,
        address=user.address,
        role=Role(user.role),
        session_id=row.id,
        session_expires_at=row.expires_at,
    )


def revoke(session: Session, session_id: int, *, now: datetime | None = None) -> bool:
    """Mark the session revoked (not committed); False when it already was."""
    result = session.exec(
        update(AuthSession)
        .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now or utcnow())
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class Purged:
    nonces: int
    sessions: int


def purge_expired(session: Session, *, older_than: timedelta, now: datetime | None = None) -> Purged:
    """Delete nonces and sessions that expired (or were revoked) longer ago than `older_than`. Commits.

    Kept for a while after expiry so "this session has expired" stays a precise answer; then they are noise.
    """
    cutoff = (now or utcnow()) - older_than
    nonces = session.exec(delete(AuthNonce).where(col(AuthNonce.expires_at) < cutoff)).rowcount
    sessions = session.exec(
        delete(AuthSession).where(
            (col(AuthSession.expires_at) < cutoff) | (col(AuthSession.revoked_at) < cutoff)
        )
    ).rowcount
    session.commit()
    if nonces or sessions:
        logger.info("purged %d expired sign-in nonces and %d old sessions", nonces, sessions)
    return Purged(nonces=nonces, sessions=sessions)
