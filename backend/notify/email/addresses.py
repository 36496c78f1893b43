"""A user's email address: set it (a link is mailed to prove it is theirs), verify it, choose one email per
event or a daily digest, remove it. Nothing but the verification link is sent to an unverified address.

The link's token is random; only its sha256 is stored, so the database alone cannot verify anyone, and
looking it up by hash compares in constant time. Sending the link is limited per user (a mail bomb through
our server at a stranger's address costs five an hour at most).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.audit import Action, record_by
from backend.audit import record as audit_record
from backend.auth.errors import RateLimited
from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import Counter, check_quota, shared_counter
from backend.config import Settings, get_settings
from backend.models import EmailAddress, NotificationDelivery, User
from backend.models.common import utcnow
from backend.models.enums import DeliveryStatus, EmailFrequency, NotificationChannel
from backend.notify.email import compose, smtp
from backend.notify.email.errors import (
    EmailError,
    EmailNotFound,
    EmailOff,
    EmailRateLimited,
    EmailUnavailable,
)

logger = logging.getLogger(__name__)

TOKEN_HOURS = 48
VERIFY_MAILS_PER_HOUR = 5
MAX_LENGTH = 254
# The local part as most providers accept it (no quoting, no spaces), a domain of dotted labels.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class EmailStatus:
    configured: bool  # SMTP_HOST is set: email can be sent at all
    address: str | None
    verified: bool
    frequency: str  # an EmailFrequency value
    verification_expires_at: datetime | None = None  # while a link is outstanding


def email_status(session: Session, user_id: int, settings: Settings) -> EmailStatus:
    return _status(_row(session, user_id), settings)


def normalize_address(address: str) -> str:
    """The address as stored (domain lower-cased), or EmailError: one @, a dotted domain, no spaces or line
    breaks (which would let it add mail headers), at most 254 characters."""
    value = (address or "").strip()
    if not value:
        raise EmailError("enter an email address")
    if len(value) > MAX_LENGTH:
        raise EmailError(f"an email address has at most {MAX_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise EmailError("an email address has no spaces or line breaks")
    if value.count("@") != 1:
        raise EmailError("an email address has exactly one @")
    local, domain = value.split("@")
    labels = domain.split(".")
    if not local or len(local) > 64 or not _LOCAL.match(local):
        raise EmailError("the part before the @ is not a valid mailbox name")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise EmailError("the part after the @ must be a domain like example.com")
    return f"{local}@{domain.lower()}"


def set_address(
    session: Session,
    user: CurrentUser,
    address: str,
    settings: Settings,
    *,
    counter: Counter | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> EmailStatus:
    """Store the address unverified and mail it the link, at once. The mail goes out before anything is
    written: if the server will not take it (EmailUnavailable), nothing changed. The same, already
    verified address is left as it is."""
    value = normalize_address(address)  # bad input is refused on its field whatever the server's state
    if not smtp.configured(settings):
        raise EmailOff("email is off on this server (no SMTP server is configured)")
    row = _row(session, user.id)
    if row is not None and row.verified_at is not None and row.address.lower() == value.lower():
        return _status(row, settings)
    try:
        check_quota(
            counter or shared_counter(settings.redis_url),
            f"email-verify:{user.id}",
            limit=VERIFY_MAILS_PER_HOUR,
            window_seconds=3600,
            message="too many verification emails this hour",
        )
    except RateLimited as e:
        raise EmailRateLimited(str(e), e.retry_after) from e
    token = secrets.token_urlsafe(32)
    try:
        smtp.send_message(settings, compose.verification_email(settings, value, token, TOKEN_HOURS))
    except smtp.SmtpError as e:
        logger.warning("verification email for user %s not sent: %s", user.id, e.message)
        if e.permanent and e.code is not None:
            raise EmailError(f"the mail server refused this address ({e.code})") from e
        raise EmailUnavailable(f"the verification email could not be sent now: {e.message}") from e
    now = now or utcnow()
    if row is None:
        row = EmailAddress(user_id=user.id, address=value)
    row.address = value
    row.verified_at = None
    row.token_hash = _hash(token)
    row.token_expires_at = now + timedelta(hours=TOKEN_HOURS)
    row.updated_at = now
    session.add(row)
    record_by(session, user, Action.EMAIL_ADDRESS_SET, "email_address", user.id, {"address": value}, ip)
    session.commit()
    return _status(row, settings)


def verify(session: Session, token: str, *, user_id: int | None = None, now: datetime | None = None) -> int:
    """Mark the address whose link carries `token` verified; the user's id. EmailNotFound for an unknown
    token (or, with `user_id`, another user's: the same answer), EmailError once it has expired."""
    token = (token or "").strip()
    if not token or len(token) > 128:
        raise EmailNotFound("this verification link is not valid", field="token")
    row = session.exec(select(EmailAddress).where(EmailAddress.token_hash == _hash(token))).first()
    if row is None or (user_id is not None and row.user_id != user_id):
        raise EmailNotFound(
            "this verification link is not valid (a newer one may have replaced it)", field="token"
        )
    now = now or utcnow()
    if row.token_expires_at is None or row.token_expires_at <= now:
        raise EmailError(
            "this verification link has expired; enter your address again for a new one", "token"
        )
    row.verified_at = now
    row.token_hash = None
    row.token_expires_at = None
    row.updated_at = now
    session.add(row)
    owner = session.get(User, row.user_id)
    audit_record(
        session,
        action=Action.EMAIL_VERIFIED,
        entity_type="email_address",
        entity_id=row.user_id,
        actor=owner.address if owner else f"user:{row.user_id}",
        actor_user_id=row.user_id,
        details={"address": row.address},
    )
    session.commit()
    return row.user_id


def set_frequency(
    session: Session,
    user: CurrentUser,
    frequency: str,
    *,
    settings: Settings | None = None,
    ip: str | None = None,
) -> EmailStatus:
    """One email per event or a daily digest. Back to one per event, what waits for a digest goes out now."""
    try:
        value = EmailFrequency(frequency)
    except ValueError as e:
        raise EmailError("frequency is 'each' or 'daily'", "frequency") from e
    row = _row(session, user.id)
    if row is None:
        raise EmailNotFound("no email address is set", field="frequency")
    if row.frequency != value:
        row.frequency = value
        row.updated_at = utcnow()
        session.add(row)
        if value == EmailFrequency.EACH:
            session.execute(
                sa.update(NotificationDelivery)
                .where(*_held(user.id), col(NotificationDelivery.status).in_(_WAITING))
                .values(held_for_digest=False, next_attempt_at=utcnow())
            )
        record_by(
            session, user, Action.EMAIL_FREQUENCY_CHANGED, "email_address", user.id, {"frequency": value}, ip
        )
        session.commit()
    return _status(row, settings)


def remove_address(session: Session, user: CurrentUser, *, ip: str | None = None) -> None:
    """Forget the address; what was waiting for a digest is skipped (there is nowhere to send it)."""
    row = _row(session, user.id)
    if row is None:
        return
    session.execute(
        sa.update(NotificationDelivery)
        .where(*_held(user.id), col(NotificationDelivery.status).in_(_WAITING))
        .values(status=DeliveryStatus.SKIPPED, last_error="email address removed", updated_at=utcnow())
    )
    session.delete(row)
    record_by(session, user, Action.EMAIL_REMOVED, "email_address", user.id, {"address": row.address}, ip)
    session.commit()


_WAITING = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def _held(user_id: int) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        col(NotificationDelivery.user_id) == user_id,
        col(NotificationDelivery.channel) == NotificationChannel.EMAIL,
        col(NotificationDelivery.held_for_digest).is_(True),
    )


def _row(session: Session, user_id: int) -> EmailAddress | None:
    return session.exec(select(EmailAddress).where(EmailAddress.user_id == user_id)).first()


def _status(row: EmailAddress | None, settings: Settings | None) -> EmailStatus:
    configured = smtp.configured(settings or get_settings())
    if row is None:
        return EmailStatus(configured, None, False, EmailFrequency.EACH.value)
    pending = row.token_expires_at if row.verified_at is None else None
    return EmailStatus(configured, row.address, row.verified_at is not None, str(row.frequency), pending)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
