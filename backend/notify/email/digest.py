"""The daily digest: once a day, after EMAIL_DIGEST_HOUR_UTC, each daily user's held email deliveries go
out as one email.

Deliveries are claimed first (SENDING with a lapsing claim, committed before the mail is sent), so two
workers never send the same day twice and a worker that dies mid-send leaves them to be claimed again
once the claim lapses. Sent: each is DELIVERED with its attempt logged and the user's `last_digest_at` set.
Not sent: FAILED and tried again on the next run (DEAD after the message retries, or on a 5xx refusal).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.models import EmailAddress, NotificationDelivery, NotificationEvent
from backend.models.enums import DeliveryStatus, EmailFrequency, NotificationChannel
from backend.notify.channels import MESSAGE_RETRIES, SendResult
from backend.notify.dispatch import settle
from backend.notify.email import compose, smtp
from backend.notify.email.sender import send_result

logger = logging.getLogger(__name__)

MAX_PER_DIGEST = 2000  # deliveries one digest claims; the email itself lists `compose.DIGEST_MAX_ITEMS`


def digest_time(settings: Settings, now: datetime) -> datetime:
    """Today's digest time (UTC)."""
    return now.replace(hour=settings.email_digest_hour_utc, minute=0, second=0, microsecond=0)


def send_digests(
    engine: sa.Engine, settings: Settings, now: datetime, *, timeout: float = smtp.TIMEOUT_SECONDS
) -> int:
    """Send every digest due at `now`; the number sent. Nothing before today's digest time, nothing to a
    user already sent today's, nothing when nothing is held."""
    if not smtp.configured(settings):
        return 0
    due_at = digest_time(settings, now)
    if now < due_at:
        return 0
    with Session(engine) as session:
        user_ids = list(session.exec(_due_users(due_at, now)))
    sent = 0
    for user_id in user_ids:
        try:
            sent += _send_one(engine, settings, user_id, now, due_at, timeout)
        except sa.exc.SQLAlchemyError:
            logger.exception("digest for user %s failed; retried on the next run", user_id)
    return sent


def _due_users(due_at: datetime, now: datetime) -> sa.Select:
    held = sa.exists().where(*_held_by(col(EmailAddress.user_id)), _claimable(now))
    return (
        select(EmailAddress.user_id)
        .where(
            col(EmailAddress.frequency) == EmailFrequency.DAILY,
            col(EmailAddress.verified_at).is_not(None),
            sa.or_(col(EmailAddress.last_digest_at).is_(None), col(EmailAddress.last_digest_at) < due_at),
            held,
        )
        .order_by(col(EmailAddress.user_id))
    )


def _held_by(user_id: sa.ColumnElement[int] | int) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        col(NotificationDelivery.user_id) == user_id,
        col(NotificationDelivery.channel) == NotificationChannel.EMAIL,
        col(NotificationDelivery.held_for_digest).is_(True),
    )


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Waiting, due for a retry, or claimed by a worker whose claim has lapsed."""
    status = col(NotificationDelivery.status)
    next_at = col(NotificationDelivery.next_attempt_at)
    return sa.or_(
        status == DeliveryStatus.PENDING,
        sa.and_(status == DeliveryStatus.FAILED, sa.or_(next_at.is_(None), next_at <= now)),
        sa.and_(status == DeliveryStatus.SENDING, col(NotificationDelivery.claimed_until) < now),
    )


def _send_one(
    engine: sa.Engine, settings: Settings, user_id: int, now: datetime, due_at: datetime, timeout: float
) -> int:
    with Session(engine, expire_on_commit=False) as session:
        address = session.exec(
            select(EmailAddress).where(
                EmailAddress.user_id == user_id, col(EmailAddress.verified_at).is_not(None)
            )
        ).first()
        if address is None or (address.last_digest_at is not None and address.last_digest_at >= due_at):
            return 0
        to = address.address
        claimed = _claim(session, settings, user_id, now)
        if not claimed:
            return 0
        events = {
            e.id: e
            for e in session.exec(
                select(NotificationEvent).where(col(NotificationEvent.id).in_([d.event_id for d in claimed]))
            )
        }
        session.commit()  # the claim is visible before the mail goes out
        items = [
            compose.DigestItem(
                events[d.event_id].type, dict(events[d.event_id].payload), events[d.event_id].created_at
            )
            for d in claimed
        ]
    started = time.monotonic()
    result = send_result(settings, compose.digest_email(settings, to, items), timeout)
    latency_ms = int((time.monotonic() - started) * 1000)
    with Session(engine) as session:
        _record(session, [d.id for d in claimed if d.id is not None], result, latency_ms, now)
        if result.ok:
            session.execute(
                sa.update(EmailAddress).where(col(EmailAddress.user_id) == user_id).values(last_digest_at=now)
            )
        session.commit()
    if not result.ok:
        logger.warning("digest for user %s not sent: %s", user_id, result.error)
        return 0
    return 1


def _claim(session: Session, settings: Settings, user_id: int, now: datetime) -> list[NotificationDelivery]:
    statement = (
        select(NotificationDelivery)
        .where(*_held_by(user_id), _claimable(now))
        .order_by(col(NotificationDelivery.id))
        .limit(MAX_PER_DIGEST)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.exec(statement))
    until = now + timedelta(seconds=settings.notify_claim_seconds)
    for delivery in claimed:
        delivery.status = DeliveryStatus.SENDING
        delivery.claimed_until = until
        delivery.attempts += 1
        delivery.updated_at = now
        session.add(delivery)
    session.flush()
    return claimed


def _record(session: Session, ids: list[int], result: SendResult, latency_ms: int, now: datetime) -> None:
    deliveries = session.exec(select(NotificationDelivery).where(col(NotificationDelivery.id).in_(ids)))
    for delivery in deliveries:
        out_of_tries = result.permanent or delivery.attempts > len(MESSAGE_RETRIES)
        retry_at = None if out_of_tries else now  # a failed digest is tried again on the next run
        settle(session, delivery, result, latency_ms, now, error=result.error, retry_at=retry_at)
