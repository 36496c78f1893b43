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
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.db import among, transaction
from backend.execution.faults import no_fault
from backend.models import DeliveryAttempt, NotificationDelivery, NotificationEvent
from backend.models.common import utcnow
from backend.models.enums import DeliveryStatus, NotificationChannel
from backend.notify.channels import Outgoing, Sender, SendResult
from backend.notify.outbox import Claim, Senders, claim, fan_out, is_postgres

logger = logging.getLogger(__name__)

Fault = Callable[[str], None]

SEND_THREADS = 8  # sends in flight at once: a slow webhook holds one thread, not the Telegram queue
UNRECORDED = 2 * SEND_THREADS  # a channel's sends out (in flight, or done and not yet recorded) at once
MAX_ROUNDS = 200  # rounds per run_once; the next wake-up or sweep carries on
SEND_BATCH = 500  # deliveries claimed per round
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


def run_once(
    engine: sa.Engine,
    senders: Senders,
    *,
    now: datetime | None = None,
    limit: int = 500,
    claim_seconds: int | None = None,
    fault: Fault = no_fault,
) -> DispatchReport:
    """Fan out waiting events and send what is due, round by round until neither finds anything (at most
    MAX_ROUNDS rounds; the next wake-up or sweep carries on). Each round fans out up to `limit` events and
    sends up to SEND_BATCH deliveries, so events committed during a long send wait one round, not all.

    `now` pins the clock (tests); otherwise each step reads it afresh.
    """
    if claim_seconds is None:
        from backend.config import get_settings

        claim_seconds = get_settings().notify_claim_seconds
    clock = (lambda: now) if now is not None else utcnow
    report = DispatchReport()
    batch = min(limit, SEND_BATCH)
    for _ in range(MAX_ROUNDS):
        fanned = fan_out(engine, senders, now=clock(), limit=limit)
        report.fanned_out += fanned
        claims = claim(engine, senders, now=clock(), limit=batch, claim_seconds=claim_seconds)
        if claims:
            report.add(send_claimed(engine, senders, claims, clock=clock, fault=fault))
        if not fanned and not claims:
            break
    return report


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
    queues: dict[NotificationChannel, list[tuple[Claim, Outgoing]]] = {}
    for claimed, outgoing in reversed(ready):
        queues.setdefault(claimed.channel, []).append((claimed, outgoing))
    # A pool per channel: a slow webhook receiver holds webhook threads only, never Telegram's or email's.
    pools = {
        channel: ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(q))) for channel, q in queues.items()
    }
    pending: dict[Future, Claim] = {}
    out = dict.fromkeys(queues, 0)
    try:
        while pending or any(queues.values()):
            for channel, queue in queues.items():
                # At most UNRECORDED sends per channel are out without a recorded outcome: that bounds
                # what a crash can repeat.
                while queue and out[channel] < UNRECORDED:
                    claimed, outgoing = queue.pop()
                    pending[pools[channel].submit(_timed_send, senders[channel], outgoing)] = claimed
                    out[channel] += 1
            # Record whatever has finished, together: one transaction for several outcomes when the
            # database is the bottleneck, one per outcome when it is not.
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            outcomes = []
            for future in done:
                result, latency_ms = future.result()
                claimed = pending.pop(future)
                outcomes.append(Outcome(claimed, result, latency_ms))
                fault("notify_after_send")  # the crash window: the channel has it, our database does not
            report.add(record_many(engine, senders, outcomes, clock()))
            for outcome in outcomes:
                out[outcome.claim.channel] -= 1
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True)
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
                senders[claimed.channel].after(session, delivery, failure)
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


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    result: SendResult
    latency_ms: int | None


def record_many(
    engine: sa.Engine, senders: Senders, outcomes: list[Outcome], now: datetime
) -> DispatchReport:
    """The attempts and the deliveries' new states in one transaction, each only if its claim is still ours
    (SENDING with the attempt number it claimed): a lapsed and retaken claim is not recorded twice."""
    report = DispatchReport()
    with Session(engine, expire_on_commit=False) as session, transaction(session):
        query = select(NotificationDelivery).where(
            among(col(NotificationDelivery.id), [o.claim.delivery_id for o in outcomes]),
            col(NotificationDelivery.status) == DeliveryStatus.SENDING.value,
        )
        if is_postgres(session):
            query = query.with_for_update()
        rows = {delivery.id: delivery for delivery in session.exec(query)}
        applied = []
        for outcome in outcomes:
            delivery = rows.get(outcome.claim.delivery_id)
            if delivery is None or delivery.attempts != outcome.claim.attempts:
                logger.warning(
                    "notify: delivery %s: claim lapsed before recording", outcome.claim.delivery_id
                )
                continue
            _apply(
                session,
                senders[outcome.claim.channel],
                delivery,
                outcome.result,
                outcome.latency_ms,
                now,
                report,
            )
            applied.append((outcome, delivery))
        session.flush()  # attempts and states in a few batched statements, then the channels' bookkeeping
        for outcome, delivery in applied:
            senders[outcome.claim.channel].after(session, delivery, outcome.result)
    return report


def record(
    engine: sa.Engine, sender: Sender, claimed: Claim, result: SendResult, latency_ms: int, now: datetime
) -> str | None:
    """`record_many` for one outcome: the report field it counted towards, or None when the claim lapsed."""
    report = record_many(engine, {claimed.channel: sender}, [Outcome(claimed, result, latency_ms)], now)
    return next((name for name in ("sent", "failed", "dead") if getattr(report, name)), None)


def _apply(
    session: Session,
    sender: Sender,
    delivery: NotificationDelivery,
    result: SendResult,
    latency_ms: int | None,
    now: datetime,
    report: DispatchReport,
) -> None:
    out_of_tries = result.permanent or delivery.attempts > len(sender.retry_delays)
    retry_at = None if out_of_tries else now + sender.retry_delays[delivery.attempts - 1]
    error = result.error[:ERROR_CHARS] if result.error else None
    status = settle(session, delivery, result, latency_ms, now, error=error, retry_at=retry_at)
    if status == DeliveryStatus.DELIVERED:
        report.sent += 1
    elif status == DeliveryStatus.DEAD:
        report.dead += 1
    else:
        report.failed += 1


def settle(
    session: Session,
    delivery: NotificationDelivery,
    result: SendResult,
    latency_ms: int | None,
    now: datetime,
    *,
    error: str | None,
    retry_at: datetime | None,
) -> DeliveryStatus:
    """Log one attempt at a claimed delivery and give it its new state: DELIVERED, FAILED until `retry_at`,
    or DEAD when `retry_at` is None. Shared by the consumer and the email digest; the new status."""
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
    else:
        delivery.status = DeliveryStatus.FAILED if retry_at is not None else DeliveryStatus.DEAD
        delivery.last_error = error
        delivery.next_attempt_at = retry_at
    session.add(delivery)
    return delivery.status


def _still_ours(delivery: NotificationDelivery, claimed: Claim) -> bool:
    return delivery.status == DeliveryStatus.SENDING and delivery.attempts == claimed.attempts


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
