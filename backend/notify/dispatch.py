"""The consumer: events in the outbox become deliveries (fan-out), due deliveries are claimed, sent and
recorded, failures retried on the channel's schedule until they are DEAD.

What it guarantees:
- Exactly one delivery row per (event, channel, target): the fan-out inserts with insert-or-ignore on that
  unique key and marks the event dispatched in the same transaction; on PostgreSQL the events are taken
  `FOR UPDATE SKIP LOCKED`, so two consumers never fan out the same event (and would still not duplicate).
- A claim (SENDING, `claimed_until`, attempts + 1) is committed before anything is sent, and the outcome is
  recorded only while the claim is still ours (SENDING with the same attempt number). A send is therefore
  retried only when its outcome was not recorded: after a failure the channel reported, or after the
  consumer died with the claim held (the claim lapses after NOTIFY_CLAIM_SECONDS and another takes it).
- That last case is the one window for a repeat: a consumer killed after the channel accepted a message
  and before the outcome was committed sends it again once the claim lapses. Delivery is at least once,
  duplicated only in that window. Webhooks carry the same `webhook-id` (`msg_<delivery id>`) on every
  attempt, so a receiver that dedupes on it sees each event once. Telegram and email carry no such id: in
  that window the user may, rarely, get the same message twice (the same text, to the same chat or
  address); nothing else is ever sent twice, and nothing goes to anyone else.
- Trading never waits for any of this: it only writes the event row; the wake-up after its commit is
  best-effort, and a periodic sweep runs `run_once` in case one was lost.
The in-app inbox needs no send: its delivery row is created DELIVERED and is the inbox item itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.db import among, insert_many_or_ignore, transaction
from backend.execution.faults import no_fault
from backend.models import DeliveryAttempt, NotificationDelivery, NotificationEvent
from backend.models.common import utcnow
from backend.models.enums import DeliveryStatus, NotificationChannel
from backend.notify.channels import Outgoing, Sender, SendResult
from backend.notify.events import EventType
from backend.notify.preferences import Overrides, channels_for, overrides_for

logger = logging.getLogger(__name__)

Senders = Mapping[NotificationChannel, Sender]
Fault = Callable[[str], None]

SEND_THREADS = 8  # sends in flight at once: a slow webhook holds one thread, not the Telegram queue
MAX_ROUNDS = 50  # batches per run_once; the next wake-up or sweep carries on
DEFAULT_CLAIM_SECONDS = 60
ERROR_CHARS = 500


@dataclass
class DispatchReport:
    fanned_out: int = 0  # events turned into deliveries
    sent: int = 0  # deliveries the channel accepted
    failed: int = 0  # attempts that failed and will be retried
    dead: int = 0  # deliveries given up on
    skipped: int = 0  # deliveries whose target disappeared before sending

    def add(self, other: DispatchReport) -> None:
        for name in ("fanned_out", "sent", "failed", "dead", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempts: int  # the attempt number this claim made; recording checks it is unchanged
    channel: NotificationChannel


def run_once(
    engine: sa.Engine,
    senders: Senders,
    *,
    now: datetime | None = None,
    limit: int = 500,
    claim_seconds: int | None = None,
    fault: Fault = no_fault,
) -> DispatchReport:
    """Fan out every waiting event, then send everything due, batch by batch (bounded by MAX_ROUNDS).

    `now` pins the clock (tests); otherwise each step reads it afresh.
    """
    if claim_seconds is None:
        from backend.config import get_settings

        claim_seconds = get_settings().notify_claim_seconds
    clock = (lambda: now) if now is not None else utcnow
    report = DispatchReport()
    for _ in range(MAX_ROUNDS):
        done = fan_out(engine, senders, now=clock(), limit=limit)
        report.fanned_out += done
        if done < limit:
            break
    for _ in range(MAX_ROUNDS):
        claims = claim(engine, senders, now=clock(), limit=limit, claim_seconds=claim_seconds)
        if not claims:
            break
        report.add(send_claimed(engine, senders, claims, clock=clock, fault=fault))
    return report


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
        if _postgres(session):
            events = list(session.exec(query.with_for_update(skip_locked=True)))
        else:  # one writer at a time: the conditional update (first write, so it serialises) wins each event
            events = [event for event in session.exec(query).all() if _take(session, event.id, now)]
        if not events:
            return 0
        overrides = overrides_for(session, {event.user_id for event in events})
        rows = _Targets(session, senders).rows(events, overrides, now)
        insert_many_or_ignore(session, NotificationDelivery, rows, ["event_id", "channel", "target_id"])
        if _postgres(session):
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
        if _postgres(session):
            rows = list(session.exec(query.with_for_update(skip_locked=True)))
            if rows:
                session.execute(
                    sa.update(NotificationDelivery)
                    .where(among(col(NotificationDelivery.id), [row[0] for row in rows]))
                    .values(
                        status=DeliveryStatus.SENDING.value,
                        attempts=NotificationDelivery.attempts + 1,
                        claimed_until=until,
                        updated_at=now,
                    )
                )
            claims = [Claim(row[0], row[2] + 1, NotificationChannel(row[3])) for row in rows]
        else:
            # SQLite has one writer at a time: a conditional update per row wins or loses each one.
            for delivery_id, status, attempts, channel in session.exec(query).all():
                won = session.execute(
                    sa.update(NotificationDelivery)
                    .where(
                        col(NotificationDelivery.id) == delivery_id,
                        col(NotificationDelivery.status) == status,
                        col(NotificationDelivery.attempts) == attempts,
                    )
                    .values(
                        status=DeliveryStatus.SENDING.value,
                        attempts=attempts + 1,
                        claimed_until=until,
                        updated_at=now,
                    )
                ).rowcount
                if won:
                    claims.append(Claim(delivery_id, attempts + 1, NotificationChannel(channel)))
    return claims


# --- send and record ------------------------------------------------------------------------------------


def send_claimed(
    engine: sa.Engine,
    senders: Senders,
    claims: list[Claim],
    *,
    clock: Callable[[], datetime] = utcnow,
    fault: Fault = no_fault,
) -> DispatchReport:
    """Prepare (one short transaction), send concurrently outside any transaction, record each outcome."""
    report = DispatchReport()
    ready = _prepare(engine, senders, claims, clock(), report)
    if not ready:
        return report
    with ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(ready))) as pool:
        futures: dict[Future, tuple[Claim, Outgoing]] = {
            pool.submit(_timed_send, senders[c.channel], outgoing): (c, outgoing) for c, outgoing in ready
        }
        for future in as_completed(futures):
            claimed, _ = futures[future]
            result, latency_ms = future.result()
            fault("notify_after_send")  # the crash window: the channel may have accepted, nothing recorded
            outcome = record(engine, senders[claimed.channel], claimed, result, latency_ms, clock())
            if outcome is not None:
                setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _prepare(
    engine: sa.Engine, senders: Senders, claims: list[Claim], now: datetime, report: DispatchReport
) -> list[tuple[Claim, Outgoing]]:
    ready: list[tuple[Claim, Outgoing]] = []
    with Session(engine, expire_on_commit=False) as session, transaction(session):
        deliveries = {
            d.id: d
            for d in session.exec(
                select(NotificationDelivery).where(
                    among(col(NotificationDelivery.id), [c.delivery_id for c in claims])
                )
            )
        }
        event_ids = {d.event_id for d in deliveries.values()}
        events = {
            e.id: e
            for e in session.exec(
                select(NotificationEvent).where(among(col(NotificationEvent.id), event_ids))
            )
        }
        for claimed in claims:
            delivery = deliveries.get(claimed.delivery_id)
            if delivery is None or not _still_ours(delivery, claimed):
                continue
            try:
                outgoing = senders[claimed.channel].prepare(session, delivery, events[delivery.event_id])
            except Exception:
                logger.exception("notify: preparing delivery %s failed", claimed.delivery_id)
                failure = SendResult(ok=False, error="could not prepare the message")
                _apply(session, senders[claimed.channel], delivery, failure, None, now, report)
                continue
            if outgoing is None:  # the chat was unlinked, the endpoint deleted: nothing to send to
                delivery.status = DeliveryStatus.SKIPPED
                delivery.claimed_until = None
                delivery.updated_at = now
                report.skipped += 1
                continue
            ready.append((claimed, outgoing))
    return ready


def _timed_send(sender: Sender, outgoing: Outgoing) -> tuple[SendResult, int]:
    started = time.monotonic()
    try:
        result = sender.send(outgoing)
    except Exception as e:  # a sender bug must not stop the others; the attempt is a failure
        logger.exception("notify: %s send of delivery %s raised", sender.channel, outgoing.delivery_id)
        result = SendResult(ok=False, error=f"internal error: {type(e).__name__}")
    return result, int((time.monotonic() - started) * 1000)


def record(
    engine: sa.Engine, sender: Sender, claimed: Claim, result: SendResult, latency_ms: int, now: datetime
) -> str | None:
    """The attempt and the delivery's new state in one transaction, only if the claim is still ours.

    Returns the report field it counts towards, or None when the claim had lapsed and been taken.
    """
    with Session(engine, expire_on_commit=False) as session, transaction(session):
        query = select(NotificationDelivery).where(
            col(NotificationDelivery.id) == claimed.delivery_id,
            col(NotificationDelivery.status) == DeliveryStatus.SENDING.value,
            col(NotificationDelivery.attempts) == claimed.attempts,
        )
        if _postgres(session):
            query = query.with_for_update()
        delivery = session.exec(query).first()
        if delivery is None:
            logger.warning("notify: delivery %s: claim lapsed before recording", claimed.delivery_id)
            return None
        report = DispatchReport()
        _apply(session, sender, delivery, result, latency_ms, now, report)
    return next(name for name in ("sent", "failed", "dead") if getattr(report, name))


def _apply(
    session: Session,
    sender: Sender,
    delivery: NotificationDelivery,
    result: SendResult,
    latency_ms: int | None,
    now: datetime,
    report: DispatchReport,
) -> None:
    error = result.error[:ERROR_CHARS] if result.error else None
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            ok=result.ok,
            response_code=result.response_code,
            error=error,
            latency_ms=latency_ms,
            at=now,
        )
    )
    delivery.claimed_until = None
    delivery.response_code = result.response_code
    delivery.latency_ms = latency_ms
    delivery.updated_at = now
    if result.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.last_error = None
        delivery.next_attempt_at = None
        report.sent += 1
    elif result.permanent or delivery.attempts > len(sender.retry_delays):
        delivery.status = DeliveryStatus.DEAD
        delivery.last_error = error
        delivery.next_attempt_at = None
        report.dead += 1
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = error
        delivery.next_attempt_at = now + sender.retry_delays[delivery.attempts - 1]
        report.failed += 1
    session.add(delivery)
    session.flush()
    sender.after(session, delivery, result)


def _still_ours(delivery: NotificationDelivery, claimed: Claim) -> bool:
    return delivery.status == DeliveryStatus.SENDING and delivery.attempts == claimed.attempts


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def next_due(engine: sa.Engine, senders: Senders) -> datetime | None:
    """When the next delivery of these channels becomes due (a retry, or a claim that will lapse), if any;
    the worker schedules a run then rather than waiting for the minute's sweep."""
    channels = [channel.value for channel in senders]
    if not channels:
        return None
    d = NotificationDelivery
    open_ = sa.and_(col(d.channel).in_(channels), col(d.held_for_digest).is_(False))
    waiting = sa.and_(open_, col(d.status).in_([DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value]))
    sending = sa.and_(open_, col(d.status) == DeliveryStatus.SENDING.value)
    with Session(engine) as session:
        retry = session.exec(select(sa.func.min(col(d.next_attempt_at))).where(waiting)).one()
        lapse = session.exec(select(sa.func.min(col(d.claimed_until))).where(sending)).one()
    times = [t for t in (retry, lapse) if t is not None]
    return min(times) if times else None
