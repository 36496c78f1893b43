"""The consumer's taking side: events in the outbox become deliveries (fan-out), and due deliveries are
claimed. Both are safe with several consumers: on PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`;
on SQLite, which has one writer at a time, by conditional updates. `dispatch` sends what was claimed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.db import among, insert_many_or_ignore, transaction
from backend.models import NotificationDelivery, NotificationEvent
from backend.models.enums import DeliveryStatus, NotificationChannel
from backend.notify.channels import Sender
from backend.notify.events import EventType
from backend.notify.preferences import Overrides, channels_for, overrides_for

Senders = Mapping[NotificationChannel, Sender]
LAPSED_TOO_OFTEN = "the worker stopped while sending it, every try"


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempts: int  # the attempt number this claim made; recording checks it is unchanged
    channel: NotificationChannel


# --- fan-out --------------------------------------------------------------------------------------------


def fan_out(engine: sa.Engine, senders: Senders, *, now: datetime, limit: int = 500) -> int:
    """One batch of events, oldest first, into deliveries; returns how many events were dispatched."""
    with Session(engine, expire_on_commit=False) as session, transaction(session):
        query = (
            select(NotificationEvent)
            .where(col(NotificationEvent.dispatched_at).is_(None))
            .order_by(col(NotificationEvent.id))
            .limit(limit)
        )
        if is_postgres(session):
            events = list(session.exec(query.with_for_update(skip_locked=True)))
        else:  # one writer at a time: the conditional update (first write, so it serialises) wins each event
            events = [event for event in session.exec(query).all() if _take(session, event.id, now)]
        if not events:
            return 0
        overrides = overrides_for(session, {event.user_id for event in events})
        rows = _Targets(session, senders).rows(events, overrides, now)
        insert_many_or_ignore(session, NotificationDelivery, rows, ["event_id", "channel", "target_id"])
        if is_postgres(session):
            session.execute(
                sa.update(NotificationEvent)
                .where(among(col(NotificationEvent.id), [event.id for event in events]))
                .values(dispatched_at=now)
            )
    return len(events)


def _take(session: Session, event_id: int, now: datetime) -> bool:
    taken = session.execute(
        sa.update(NotificationEvent)
        .where(col(NotificationEvent.id) == event_id, col(NotificationEvent.dispatched_at).is_(None))
        .values(dispatched_at=now)
    )
    return taken.rowcount == 1


class _Targets:
    """Each sender's targets and digest choice, asked once per (user, type) in a batch."""

    def __init__(self, session: Session, senders: Senders) -> None:
        self.session, self.senders = session, senders
        self.targets: dict[tuple[NotificationChannel, int, str], list[int]] = {}
        self.holds: dict[tuple[NotificationChannel, int], bool] = {}

    def rows(
        self, events: list[NotificationEvent], overrides: Overrides, now: datetime
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for event in events:
            if event.type == EventType.WEBHOOK_TEST:  # its one delivery is made by the webhooks helper
                continue
            for channel in sorted(channels_for(overrides, event.user_id, event.type)):
                if channel == NotificationChannel.IN_APP:
                    rows.append(_delivery(event, channel, 0, now, delivered=True))
                elif channel in self.senders:  # a channel not configured here has no deliveries
                    rows += self._channel_rows(event, channel, now)
        return rows

    def _channel_rows(
        self, event: NotificationEvent, channel: NotificationChannel, now: datetime
    ) -> list[dict[str, Any]]:
        sender = self.senders[channel]
        key = (channel, event.user_id, event.type)
        if key not in self.targets:
            self.targets[key] = list(sender.targets(self.session, event.user_id, event.type))
        if not self.targets[key]:
            return []
        if (channel, event.user_id) not in self.holds:
            self.holds[(channel, event.user_id)] = sender.hold_for_digest(self.session, event.user_id)
        held = self.holds[(channel, event.user_id)]
        return [_delivery(event, channel, target, now, held=held) for target in self.targets[key]]


def _delivery(
    event: NotificationEvent,
    channel: NotificationChannel,
    target: int,
    now: datetime,
    *,
    delivered: bool = False,
    held: bool = False,
) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "user_id": event.user_id,
        "channel": channel.value,
        "target_id": target,
        "endpoint_id": target if channel == NotificationChannel.WEBHOOK else None,
        "status": (DeliveryStatus.DELIVERED if delivered else DeliveryStatus.PENDING).value,
        "attempts": 0,
        "next_attempt_at": None if delivered else now,
        "claimed_until": None,
        "held_for_digest": held,
        "delivered_at": now if delivered else None,
        "created_at": now,
        "updated_at": now,
    }


# --- claims ---------------------------------------------------------------------------------------------


def _due(now: datetime) -> sa.ColumnElement[bool]:
    status, next_at = col(NotificationDelivery.status), col(NotificationDelivery.next_attempt_at)
    waiting = sa.and_(
        status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value]),
        sa.or_(next_at.is_(None), next_at <= now),
    )
    lapsed = sa.and_(status == DeliveryStatus.SENDING.value, col(NotificationDelivery.claimed_until) <= now)
    return sa.and_(sa.or_(waiting, lapsed), col(NotificationDelivery.held_for_digest).is_(False))


def claim(
    engine: sa.Engine, senders: Senders, *, now: datetime, limit: int, claim_seconds: int
) -> list[Claim]:
    """Due deliveries of the configured channels → SENDING with attempts + 1, committed before any send."""
    channels = [channel.value for channel in senders]
    if not channels:
        return []
    until = now + timedelta(seconds=claim_seconds)
    claims: list[Claim] = []
    with Session(engine, expire_on_commit=False) as session, transaction(session):
        query = (
            select(
                NotificationDelivery.id,
                NotificationDelivery.status,
                NotificationDelivery.attempts,
                NotificationDelivery.channel,
            )
            .where(_due(now), col(NotificationDelivery.channel).in_(channels))
            .order_by(col(NotificationDelivery.id))
            .limit(limit)
        )
        postgres = is_postgres(session)
        rows = list(session.exec(query.with_for_update(skip_locked=True) if postgres else query))
        claim_values = {"status": DeliveryStatus.SENDING.value, "claimed_until": until, "updated_at": now}
        dead_values = {
            "status": DeliveryStatus.DEAD.value, "claimed_until": None, "last_error": LAPSED_TOO_OFTEN,
            "updated_at": now,
        }  # fmt: skip
        if postgres:  # the rows are locked: two statements for the batch
            dead = [row[0] for row in rows if _lapsed_too_often(row, senders)]
            taken = [row for row in rows if not _lapsed_too_often(row, senders)]
            d = NotificationDelivery
            if dead:
                session.execute(sa.update(d).where(among(col(d.id), dead)).values(**dead_values))
            if taken:
                bump = {"attempts": d.attempts + 1, **claim_values}
                session.execute(
                    sa.update(d).where(among(col(d.id), [row[0] for row in taken])).values(**bump)
                )
            return [Claim(row[0], row[2] + 1, NotificationChannel(row[3])) for row in taken]
        # SQLite has one writer at a time: a conditional update per row wins or loses each one.
        for row in rows:
            delivery_id, status, attempts, channel = row
            exhausted = _lapsed_too_often(row, senders)
            values = dead_values if exhausted else {"attempts": attempts + 1, **claim_values}
            won = session.execute(
                sa.update(NotificationDelivery)
                .where(
                    col(NotificationDelivery.id) == delivery_id,
                    col(NotificationDelivery.status) == status,
                    col(NotificationDelivery.attempts) == attempts,
                )
                .values(**values)
            ).rowcount
            if won and not exhausted:
                claims.append(Claim(delivery_id, attempts + 1, NotificationChannel(channel)))
    return claims


def _lapsed_too_often(row: Any, senders: Senders) -> bool:
    """A claim that lapsed as often as the channel retries: the worker keeps dying on this one (DEAD)."""
    _, status, attempts, channel = row
    return status == DeliveryStatus.SENDING and attempts > len(
        senders[NotificationChannel(channel)].retry_delays
    )


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
