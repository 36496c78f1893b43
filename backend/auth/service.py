"""Sign-In-With-Ethereum end to end: issue a single-use nonce, verify the signed message, open a session.

Every sign-in and every refused sign-in leaves an audit row; a sign-in from an address the user never
signed in from before is told (`account.new_sign_in`). Rate limits live in `ratelimit` and are
applied by the callers (REST and UI), which know the client's IP.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from backend import audit
from backend.auth import messages
from backend.auth.errors import NotAuthenticated, SignInRejected
from backend.auth.identity import CurrentUser, normalize_address
from backend.auth.sessions import authenticate, create_session, revoke
from backend.auth.users import get_or_create_user
from backend.config import Settings
from backend.models import AuthNonce
from backend.models.auth import MAX_SIGN_IN_MESSAGE_CHARS
from backend.models.common import utcnow
from backend.models.enums import Role
from backend.notify import accounts

logger = logging.getLogger(__name__)

__all__ = ["Challenge", "SignedIn", "authenticate", "issue_challenge", "sign_in", "sign_out"]


@dataclass(frozen=True)
class Challenge:
    nonce: str
    message: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_at: datetime
    user: CurrentUser


def issue_challenge(
    session: Session, address: str, *, settings: Settings, now: datetime | None = None
) -> Challenge:
    """A fresh nonce bound to this address, and the EIP-4361 message for the wallet to sign. Commits."""
    address = normalize_address(address)
    now = now or utcnow()
    expires_at = now + timedelta(minutes=settings.auth_nonce_ttl_minutes)
    nonce = secrets.token_hex(16)
    text = messages.build_message(address, nonce, settings=settings, issued_at=now, expires_at=expires_at)
    session.add(AuthNonce(nonce=nonce, address=address, issued_at=now, expires_at=expires_at, message=text))
    session.commit()
    return Challenge(nonce=nonce, message=text, expires_at=expires_at)


def sign_in(
    session: Session,
    message: str,
    signature: str,
    *,
    settings: Settings,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> SignedIn:
    """Verify a signed message and open a session; SignInRejected (audited) says why it was refused."""
    now = now or utcnow()
    claimed: str | None = None
    try:
        # The issued text is found and compared first: only a message the server wrote itself ever
        # reaches the (slow) EIP-4361 parser, so junk costs a regex and one indexed lookup.
        nonce_row = _issued_nonce(session, message)
        claimed = nonce_row.address
        _check_nonce(nonce_row, now)
        parsed = messages.parse_message(message)
        address = messages.check_message(parsed, signature, settings=settings, nonce=nonce_row.nonce, now=now)
        _consume_nonce(session, nonce_row.nonce, now)
    except SignInRejected as e:
        session.rollback()
        _audit_failure(session, claimed, str(e), ip)
        raise
    user, _ = get_or_create_user(session, address, ip=ip)
    user.last_login_at = now
    signed_in = audit.record(
        session,
        action=audit.Action.SIGN_IN,
        entity_type="user",
        entity_id=user.id,
        actor=address,
        actor_user_id=user.id,
        details={"user_agent": (user_agent or "")[:120]},
        ip=ip,
    )
    assert user.id is not None
    session.flush()
    accounts.new_sign_in(session, user.id, ip, now, signed_in.id)
    # create_session commits the user, nonce, audit row and session together.
    issued = create_session(session, user.id, settings=settings, now=now, ip=ip, user_agent=user_agent)
    logger.info("signed in %s (session %s)", address, issued.session_id)
    current = CurrentUser(user.id, address, Role(user.role), issued.session_id, issued.expires_at)
    return SignedIn(token=issued.token, expires_at=issued.expires_at, user=current)


def sign_out(
    session: Session,
    token: str | None,
    *,
    settings: Settings,
    now: datetime | None = None,
    ip: str | None = None,
) -> None:
    """Revoke the token's session; a missing or dead token is already signed out, so that is no error."""
    try:
        user = authenticate(session, token, settings=settings, now=now)
    except NotAuthenticated:
        return
    assert user.session_id is not None
    if revoke(session, user.session_id, now=now):
        audit.record(
            session,
            action=audit.Action.SIGN_OUT,
            entity_type="user",
            entity_id=user.id,
            actor=user.address,
            actor_user_id=user.id,
            ip=ip,
        )
    session.commit()


def _issued_nonce(session: Session, message: str) -> AuthNonce:
    """The nonce row whose issued text is exactly `message`, or SignInRejected; never parses the text."""
    if len(message) > MAX_SIGN_IN_MESSAGE_CHARS:
        raise SignInRejected(f"the sign-in message is longer than {MAX_SIGN_IN_MESSAGE_CHARS} characters")
    found = messages.NONCE_LINE.search(message)
    if found is None:
        raise SignInRejected("unknown sign-in request; ask for a new message")
    row = session.exec(select(AuthNonce).where(col(AuthNonce.nonce) == found.group(1))).first()
    if row is None or row.message is None:
        raise SignInRejected("unknown sign-in request; ask for a new message")
    if not hmac.compare_digest(row.message.encode(), message.encode()):
        raise SignInRejected("the message differs from the one issued; sign the message exactly as sent")
    return row


def _check_nonce(row: AuthNonce, now: datetime) -> None:
    if row.used_at is not None:
        raise SignInRejected("this sign-in message was already used; ask for a new one")
    if row.expires_at <= now:
        raise SignInRejected("the sign-in message has expired; sign in again")


def _consume_nonce(session: Session, nonce: str, now: datetime) -> None:
    """Mark the nonce used in one conditional UPDATE, so two racing verifications cannot both win."""
    result = session.exec(
        update(AuthNonce)
        .where(col(AuthNonce.nonce) == nonce, col(AuthNonce.used_at).is_(None))
        .values(used_at=now)
    )
    if result.rowcount != 1:
        raise SignInRejected("this sign-in message was already used; ask for a new one")


def _audit_failure(session: Session, claimed: str | None, reason: str, ip: str | None) -> None:
    audit.record(
        session,
        action=audit.Action.SIGN_IN_FAILED,
        entity_type="user",
        actor=claimed or "unknown",
        details={"reason": reason},
        ip=ip,
    )
    session.commit()
