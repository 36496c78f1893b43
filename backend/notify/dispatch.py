"""The consumer: events in the outbox become deliveries (fan-out), due deliveries are claimed, sent and
recorded, failures retried on the channel's schedule until they are DEAD.

How it runs: `run_once` fans out in its own thread and gives each channel a lane of its own (a thread that
claims, and a pool of SEND_THREADS that send). A lane holds up to CLAIM_BATCH claims, claims more as soon as
fewer than SEND_THREADS wait, and starts each as a send thread frees, so a channel that hangs (an SMTP
server that stalls) holds its own lane only: Telegram goes on claiming and sending what is fanned out
meanwhile. Within a lane, at most PER_TARGET sends go to one webhook endpoint at once (and it holds at most
PER_TARGET_CLAIMED of its claims), so one user's endpoint that times out takes two webhook threads, not all
of them. (Telegram and email each talk to one server, the Bot API and the SMTP relay: their lane is that
server's cap.)

What it guarantees:
- Exactly one delivery row per (event, channel, target): the fan-out inserts with insert-or-ignore on that
  unique key and marks the event dispatched in the same transaction; on PostgreSQL the events are taken
  `FOR UPDATE SKIP LOCKED`, so two consumers never fan out the same event (and would still not duplicate).
- A claim (SENDING, `claimed_until`, attempts + 1) is committed before anything is sent, and the outcome is
  recorded only while the claim is still ours (SENDING with the same attempt number). A send starts only
  while its claim has more than the channel's send timeout left (otherwise the claim is given back), and
  the claim always outlasts one send (`outbox.claim_window`), so no live consumer's claim lapses under a
  send still running: another consumer never takes and sends it too. A send is therefore retried only when
  its outcome was not recorded: after a failure the channel reported, or after the consumer died with the
  claim held (the claim lapses after NOTIFY_CLAIM_SECONDS and another takes it).
- That last case is the one window for a repeat: a consumer killed after the channel accepted a message
  and before the outcome was committed sends it again once the claim lapses. A lane's send thread is freed
  only once its outcome is recorded, so a crash repeats at most UNRECORDED (= SEND_THREADS) deliveries per
  channel. Delivery is at least once, duplicated only in that window. Webhooks carry the same `webhook-id`
  (`msg_<delivery id>`) on every attempt, so a receiver that dedupes on it sees each event once. Telegram
  and email carry no such id: in that window the user may, rarely, get the same message twice (the same
  text, to the same chat or address); nothing else is ever sent twice, and nothing goes to anyone else.
- Trading never waits for any of this: it only writes the event row; the wake-up after its commit is
  handed to a background thread and is best-effort, and a periodic sweep runs `run_once` in case one was
  lost.
The in-app inbox needs no send: its delivery row is created DELIVERED and is the inbox item itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.db import among, transaction
from backend.execution.faults import no_fault
from backend.models import DeliveryAttempt, NotificationDelivery, NotificationEvent
from backend.models.common import utcnow
from backend.models.enums import DeliveryStatus, NotificationChannel
from backend.notify.channels import Outgoing, Sender, SendResult
from backend.notify.outbox import Claim, Senders, claim, fan_out, is_postgres, release

logger = logging.getLogger(__name__)

Fault = Callable[[str], None]

SEND_THREADS = 8  # sends in flight at once, per channel
PER_TARGET = 2  # sends in flight to one webhook endpoint at once
CLAIM_BATCH = 64  # deliveries a lane holds claimed (queued or out); it claims more when under SEND_THREADS
PER_TARGET_CLAIMED = 8  # of those, for one webhook endpoint
UNRECORDED = SEND_THREADS  # a channel's sends out (in flight, or done and not yet recorded) at once
MAX_ROUNDS = 200  # fan-out batches per run_once; the next wake-up or sweep carries on
POLL_SECONDS = 0.5  # while a lane is busy, how often fan-out looks for new events without a wake-up
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
    wake: threading.Event | None = None,
) -> DispatchReport:
    """Fan out waiting events and send what is due until neither finds anything (at most MAX_ROUNDS
    fan-out batches; the next wake-up or sweep carries on). Each channel sends in its own lane, so events
    committed while one channel hangs reach the others at once.

    `wake`, when set by the caller (a new wake-up), makes fan-out look again at once rather than at the
    next poll. `now` pins the clock (tests); otherwise each step reads it afresh.
    """
    if claim_seconds is None:
        from backend.config import get_settings

        claim_seconds = get_settings().notify_claim_seconds
    clock = (lambda: now) if now is not None else utcnow
    progress = wake or threading.Event()
    lanes = [
        Lane(engine, sender, claim_seconds=claim_seconds, clock=clock, fault=fault, progress=progress)
        for sender in senders.values()
    ]
    threads = [threading.Thread(target=lane.run, name=f"notify-{lane.channel}") for lane in lanes]
    for thread in threads:
        thread.start()
    report = DispatchReport()
    try:
        rounds = 0
        while rounds < MAX_ROUNDS:
            progress.clear()
            fanned = fan_out(engine, senders, now=clock(), limit=limit)
            report.fanned_out += fanned
            if fanned:
                rounds += 1
                for lane in lanes:
                    lane.poke()
                continue
            if all(lane.idle() for lane in lanes):
                break
            progress.wait(POLL_SECONDS)
    finally:
        for lane in lanes:
            lane.halt()
        for thread in threads:
            thread.join()
    for lane in lanes:
        if lane.error is not None:
            raise lane.error
        report.add(lane.report)
    return report


class Lane:
    """One channel's claims and sends: its own thread and pool, so it never waits on another channel."""

    def __init__(
        self,
        engine: sa.Engine,
        sender: Sender,
        *,
        claim_seconds: int,
        clock: Callable[[], datetime],
        fault: Fault,
        progress: threading.Event,
    ) -> None:
        self.engine, self.sender, self.channel = engine, sender, sender.channel
        self.claim_seconds, self.clock, self.fault, self.progress = claim_seconds, clock, fault, progress
        self.capped = sender.channel == NotificationChannel.WEBHOOK  # one endpoint per user target
        self.report = DispatchReport()
        self.error: BaseException | None = None
        self._cv = threading.Condition()
        self._poked = True  # claim at start
        self._halted = False
        self._waiting = False
        self._stopped = False
        self._queue: deque[tuple[Claim, Outgoing]] = deque()  # claimed and prepared, not yet started
        self._done: list[Future] = []
        self._out: dict[Future, Claim] = {}  # sending, or sent and not yet recorded
        self._sending: Counter[int] = Counter()  # webhook endpoint -> its sends out
        self._held: Counter[int] = Counter()  # webhook endpoint -> its claims here (queued or out)

    def poke(self) -> None:
        """There may be new deliveries: claim again when the queue runs low."""
        with self._cv:
            self._poked = True
            self._cv.notify()

    def halt(self) -> None:
        """Claim nothing more, give back what was not started, finish and record the sends out, stop."""
        with self._cv:
            self._halted = True
            self._cv.notify()

    def idle(self) -> bool:
        """Nothing to send and nothing out (or the lane stopped on an error)."""
        with self._cv:
            return self._stopped or (self._waiting and not (self._poked or self._out or self._queue))

    def run(self) -> None:
        pool = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix=f"notify-{self.channel}-send")
        try:
            self._serve(pool)
        except BaseException as e:  # the database went away, say: run_once raises it once the lanes stop
            self.error = e
        finally:
            pool.shutdown(wait=True)
            with self._cv:
                self._stopped = True
            self.progress.set()

    def _serve(self, pool: ThreadPoolExecutor) -> None:
        while True:
            with self._cv:
                while not (self._done or self._may_claim() or self._startable() or self._halted):
                    self._waiting = True
                    if not (self._out or self._queue):
                        self.progress.set()  # tell run_once this lane has nothing left
                    self._cv.wait()
                self._waiting = False
                done, self._done = self._done, []
                more = CLAIM_BATCH - len(self._queue) if self._may_claim() else 0
                self._poked = self._poked and not more
                halted = self._halted
            if done:
                self._record(done)
            if halted:
                self._give_back([claimed for claimed, _ in self._take_queue()])
                with self._cv:
                    if not self._out:
                        return
                    if not self._done:
                        self._cv.wait()
                continue
            if more:
                self._claim(more)
            self._start(pool)

    def _may_claim(self) -> bool:
        return self._poked and not self._halted and len(self._queue) < SEND_THREADS

    def _startable(self) -> bool:
        return len(self._out) < SEND_THREADS and any(
            not self.capped or self._sending[claimed.target_id] < PER_TARGET for claimed, _ in self._queue
        )

    def _claim(self, limit: int) -> None:
        with self._cv:
            held = dict(self._held)
        claims = claim(
            self.engine,
            {self.channel: self.sender},
            now=self.clock(),
            limit=limit,
            claim_seconds=self.claim_seconds,
            per_target=PER_TARGET_CLAIMED if self.capped else None,
            busy=held,
        )
        if not claims:
            return
        ready = _prepare(self.engine, {self.channel: self.sender}, claims, self.clock(), self.report)
        with self._cv:
            self._queue.extend(ready)
            for claimed, _ in ready:
                self._held[claimed.target_id] += 1
            self._poked = True  # a full batch may have left more due; an empty claim ends it

    def _start(self, pool: ThreadPoolExecutor) -> None:
        """Start what the free threads and the endpoints' caps allow, oldest first. A claim that could lapse
        before its send's timeout is given back instead: another consumer may take it once it lapses."""
        late: list[Claim] = []
        with self._cv:
            waiting: deque[tuple[Claim, Outgoing]] = deque()
            now = self.clock()
            while self._queue:
                claimed, outgoing = self._queue.popleft()
                if claimed.claimed_until - timedelta(seconds=self.sender.send_timeout) <= now:
                    late.append(claimed)
                    self._drop(claimed)
                elif len(self._out) < SEND_THREADS and (
                    not self.capped or self._sending[claimed.target_id] < PER_TARGET
                ):
                    future = pool.submit(_timed_send, self.sender, outgoing)
                    self._out[future] = claimed
                    self._sending[claimed.target_id] += 1
                    future.add_done_callback(self._finished)
                else:
                    waiting.append((claimed, outgoing))
            self._queue = waiting
        if late:  # the database is slow: leave the rest to the next run rather than claim and give back again
            logger.warning(
                "notify: %s: %d claims ran low before sending; given back", self.channel, len(late)
            )
            with self._cv:
                self._poked = False
            self._give_back(late)

    def _take_queue(self) -> list[tuple[Claim, Outgoing]]:
        with self._cv:
            taken = list(self._queue)
            self._queue.clear()
            for claimed, _ in taken:
                self._drop(claimed)
        return taken

    def _give_back(self, claims: list[Claim]) -> None:
        if claims:
            release(self.engine, claims, self.clock())

    def _drop(self, claimed: Claim) -> None:
        self._held[claimed.target_id] -= 1
        if self._held[claimed.target_id] <= 0:
            del self._held[claimed.target_id]

    def _finished(self, future: Future) -> None:
        with self._cv:
            self._done.append(future)
            self._cv.notify()

    def _record(self, done: list[Future]) -> None:
        """Record whatever has finished, together: one transaction for several outcomes when the database
        is the bottleneck. Their send threads count as busy until then (that bounds what a crash repeats)."""
        outcomes = []
        for future in done:
            result, latency_ms = future.result()
            outcomes.append(Outcome(self._out[future], result, latency_ms))
            self.fault("notify_after_send")  # the crash window: the channel has it, our database does not
        try:
            self.report.add(record_many(self.engine, {self.channel: self.sender}, outcomes, self.clock()))
        finally:
            with self._cv:
                for future in done:
                    claimed = self._out.pop(future)
                    self._sending[claimed.target_id] -= 1
                    if self._sending[claimed.target_id] <= 0:
                        del self._sending[claimed.target_id]
                    self._drop(claimed)
                self._poked = True  # a thread is free (and an endpoint may have room again)


# --- send and record ------------------------------------------------------------------------------------


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
