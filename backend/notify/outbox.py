"""The consumer's taking side: events in the outbox become deliveries (fan-out), and due deliveries are
claimed. Both are safe with several consumers: on PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`;
on SQLite, which has one writer at a time, by conditional updates. `dispatch` sends what was claimed.

A claim lasts NOTIFY_CLAIM_SECONDS, or the channel's send timeout plus SEND_SLACK_SECONDS when that is
longer: a claim must outlast the send it covers, whatever the two settings say.
"""

from __future__ import annotations

from collections import defaultdict
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
SEND_SLACK_SECONDS = 5  # a claim's time beyond the send timeout: to record the outcome
CANDIDATES_PER_SLOT = 4  # rows read per delivery wanted, when some targets may take no more


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempts: int  # the attempt number this claim made; recording checks it is unchanged
    channel: NotificationChannel
    claimed_until: datetime
    target_id: int = 0


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


def claim_window(sender: Sender, claim_seconds: int) -> timedelta:
    """How long a claim on this channel lasts: NOTIFY_CLAIM_SECONDS, but always longer than one send."""
    return timedelta(seconds=max(claim_seconds, sender.send_timeout + SEND_SLACK_SECONDS))


def claim(
    engine: sa.Engine,
    senders: Senders,
    *,
    now: datetime,
    limit: int,
    claim_seconds: int,
    per_target: int | None = None,
    busy: Mapping[int, int] | None = None,
) -> list[Claim]:
    """Due deliveries of the configured channels → SENDING with attempts + 1, committed before any send.

    `per_target`, when given, caps the sends out per target id (a webhook endpoint): `busy` says how many
    each has out already, and a target gets at most the difference.
    """
    channels = [channel.value for channel in senders]
    if not channels or limit <= 0:
        return []
    d = NotificationDelivery
    claims: list[Claim] = []
    with Session(engine, expire_on_commit=False) as session, transaction(session):
        query = (
            select(d.id, d.status, d.attempts, d.channel, d.target_id)
            .where(_due(now), col(d.channel).in_(channels))
            .order_by(col(d.id))
            .limit(limit if per_target is None else limit * CANDIDATES_PER_SLOT)
        )
        room = None
        if per_target is not None:
            room = defaultdict(lambda: per_target, {t: per_target - n for t, n in (busy or {}).items()})
        full = [target for target, free in (room or {}).items() if free <= 0]
        if full:
            query = query.where(col(d.target_id).not_in(full))
        postgres = is_postgres(session)
        rows = _within_room(
            list(session.exec(query.with_for_update(skip_locked=True) if postgres else query)), limit, room
        )
        windows = {channel: now + claim_window(sender, claim_seconds) for channel, sender in senders.items()}
        dead_values = {
            "status": DeliveryStatus.DEAD.value, "claimed_until": None, "last_error": LAPSED_TOO_OFTEN,
            "updated_at": now,
        }  # fmt: skip

        def claim_values(channel: NotificationChannel) -> dict[str, Any]:
            return {"status": DeliveryStatus.SENDING.value, "claimed_until": windows[channel],
                    "updated_at": now}  # fmt: skip

        def claimed(row: Any) -> Claim:
            channel = NotificationChannel(row[3])
            return Claim(row[0], row[2] + 1, channel, windows[channel], row[4])

        if postgres:  # the rows are locked (those read beyond the room stay as they were)
            dead = [row[0] for row in rows if _lapsed_too_often(row, senders)]
            taken = [row for row in rows if not _lapsed_too_often(row, senders)]
            if dead:
                session.execute(sa.update(d).where(among(col(d.id), dead)).values(**dead_values))
            for channel in {NotificationChannel(row[3]) for row in taken}:
                ids = [row[0] for row in taken if row[3] == channel.value]
                bump = {"attempts": d.attempts + 1, **claim_values(channel)}
                session.execute(sa.update(d).where(among(col(d.id), ids)).values(**bump))
            return [claimed(row) for row in taken]
        # SQLite has one writer at a time: a conditional update per row wins or loses each one.
        for row in rows:
            delivery_id, status, attempts, channel, _ = row
            exhausted = _lapsed_too_often(row, senders)
            values = (
                dead_values
                if exhausted
                else {"attempts": attempts + 1, **claim_values(NotificationChannel(channel))}
            )
            won = session.execute(
                sa.update(d)
                .where(col(d.id) == delivery_id, col(d.status) == status, col(d.attempts) == attempts)
                .values(**values)
            ).rowcount
            if won and not exhausted:
                claims.append(claimed(row))
    return claims


def _within_room(rows: list[Any], limit: int, room: dict[int, int] | None) -> list[Any]:
    """The first `limit` rows whose target still has room, oldest first."""
    if room is None:
        return rows[:limit]
    picked = []
    for row in rows:
        target = row[4]
        if room[target] <= 0:
            continue
        room[target] -= 1
        picked.append(row)
        if len(picked) == limit:
            break
    return picked


def release(engine: sa.Engine, claims: list[Claim], now: datetime) -> int:
    """Give back claims that were never sent (too little of the claim was left to start the send): each
    is due again at once, with its attempt count as before. Only claims still ours; how many were."""
    if not claims:
        return 0
    d = NotificationDelivery
    released = 0
    with Session(engine) as session, transaction(session):
        for claimed in claims:
            before = claimed.attempts - 1
            status = DeliveryStatus.PENDING if before == 0 else DeliveryStatus.FAILED
            released += session.execute(
                sa.update(d)
                .where(
                    col(d.id) == claimed.delivery_id,
                    col(d.status) == DeliveryStatus.SENDING.value,
                    col(d.attempts) == claimed.attempts,
                )
                .values(status=status.value, attempts=before, claimed_until=None, next_attempt_at=now)
                .values(updated_at=now)
            ).rowcount
    return released


def _lapsed_too_often(row: Any, senders: Senders) -> bool:
    """A claim that lapsed as often as the channel retries: the worker keeps dying on this one (DEAD)."""
    _, status, attempts, channel, _ = row
    return status == DeliveryStatus.SENDING and attempts > len(
        senders[NotificationChannel(channel)].retry_delays
    )


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
