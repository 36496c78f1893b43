"""The notification consumer on SQLite and PostgreSQL: fan-out by preferences and defaults, the inbox
delivered at once, retries on the channel's schedule until DEAD, lapsed claims taken again, and two
consumers racing that still send each (event, channel, target) once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.models import AuditLog, DeliveryAttempt, NotificationDelivery, NotificationEvent
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel, Role
from backend.notify import dispatch, outbox, preferences
from backend.notify.channels import MESSAGE_RETRIES, SendResult
from backend.notify.events import EventType, NewEvent, emit, emit_many
from tests.notify_support import ScriptedSender

IN_APP, TELEGRAM, WEBHOOK = (
    NotificationChannel.IN_APP,
    NotificationChannel.TELEGRAM,
    NotificationChannel.WEBHOOK,
)
T0 = utcnow().replace(microsecond=0)


def _user(factory) -> CurrentUser:
    row = factory.user()
    return CurrentUser(row.id, row.address, Role.TRADER)


def _deliveries(session: Session) -> list[NotificationDelivery]:
    session.expire_all()
    query = select(NotificationDelivery).order_by(
        col(NotificationDelivery.event_id), col(NotificationDelivery.channel)
    )
    return list(session.exec(query))


def _emit(session: Session, user_id: int, type_: EventType, key: str) -> None:
    emit(session, user_id=user_id, type=type_, key=key, payload={"market": "BTC", "realized_pnl": "1.5"})
    session.commit()


def test_fan_out_follows_defaults_and_delivers_the_inbox_at_once(engine, session, factory):
    user = _user(factory)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")  # default: every channel
    _emit(session, user.id, EventType.POSITION_OPENED, "position.opened:1")  # default: nowhere
    telegram = ScriptedSender()

    report = dispatch.run_once(engine, {TELEGRAM: telegram}, now=T0, claim_seconds=60)

    assert (report.fanned_out, report.sent) == (2, 1)
    rows = _deliveries(session)
    assert [(r.channel, r.status) for r in rows] == [("in_app", "DELIVERED"), ("telegram", "DELIVERED")]
    inbox = rows[0]
    assert inbox.attempts == 0 and inbox.delivered_at == T0  # the row is the inbox item; nothing was sent
    assert [o.event_key for o in telegram.sent] == ["position.closed:1"]
    assert session.exec(select(DeliveryAttempt.attempt, DeliveryAttempt.ok)).all() == [(1, True)]
    events = session.exec(select(NotificationEvent).order_by(col(NotificationEvent.id))).all()
    assert all(e.dispatched_at == T0 for e in events)
    # Nothing left: a second run fans out and sends nothing.
    again = dispatch.run_once(engine, {TELEGRAM: telegram}, now=T0 + timedelta(hours=1), claim_seconds=60)
    assert (again.fanned_out, again.sent) == (0, 0) and len(telegram.sent) == 1


def test_preferences_override_defaults_for_that_user_only(engine, session, factory):
    me, other = _user(factory), _user(factory)
    preferences.set_preference(session, me, "position.closed", "telegram", False)
    preferences.set_preference(session, me, "position.opened", "in_app", True)
    for user in (me, other):
        _emit(session, user.id, EventType.POSITION_CLOSED, f"position.closed:{user.id}")
        _emit(session, user.id, EventType.POSITION_OPENED, f"position.opened:{user.id}")

    dispatch.run_once(engine, {TELEGRAM: ScriptedSender()}, now=T0, claim_seconds=60)

    got = {(r.user_id, r.event_id, r.channel) for r in _deliveries(session)}
    events = {(e.user_id, e.type): e.id for e in session.exec(select(NotificationEvent))}
    assert got == {
        (me.id, events[(me.id, "position.closed")], "in_app"),
        (me.id, events[(me.id, "position.opened")], "in_app"),
        (other.id, events[(other.id, "position.closed")], "in_app"),
        (other.id, events[(other.id, "position.closed")], "telegram"),
    }


def test_a_channel_without_targets_or_sender_gets_no_delivery_and_webhook_tests_are_not_fanned_out(
    engine, session, factory
):
    user = _user(factory)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")
    _emit(session, user.id, EventType.WEBHOOK_TEST, "webhook.test:1")
    unlinked = ScriptedSender(targets=[])

    report = dispatch.run_once(engine, {TELEGRAM: unlinked}, now=T0, claim_seconds=60)

    assert report.fanned_out == 2  # both marked dispatched
    assert [r.channel for r in _deliveries(session)] == ["in_app"]  # no chat linked, webhook.test skipped
    assert (
        session.exec(select(NotificationEvent).where(col(NotificationEvent.dispatched_at).is_(None))).all()
        == []
    )


def test_fan_out_is_idempotent_per_event_channel_and_target(engine, session, factory):
    user = _user(factory)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")
    webhooks = ScriptedSender(WEBHOOK, targets=[7, 9])
    from backend.models import WebhookEndpoint

    for endpoint_id in (7, 9):
        session.add(WebhookEndpoint(id=endpoint_id, user_id=user.id, url="http://x", secret_encrypted=b"x"))
    session.commit()
    assert dispatch.fan_out(engine, {WEBHOOK: webhooks}, now=T0) == 1
    event = session.exec(select(NotificationEvent)).one()
    event.dispatched_at = None  # as if a consumer died after inserting and a second one ran the event again
    session.commit()
    assert dispatch.fan_out(engine, {WEBHOOK: webhooks}, now=T0) == 1

    rows = _deliveries(session)
    assert sorted((r.channel, r.target_id, r.endpoint_id) for r in rows) == [
        ("in_app", 0, None), ("webhook", 7, 7), ("webhook", 9, 9),
    ]  # fmt: skip


def test_failures_retry_on_the_channel_schedule_then_go_dead(engine, session, factory):
    user = _user(factory)
    preferences.set_preference(session, user, "position.closed", "in_app", False)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")
    failures = [SendResult(ok=False, response_code=502, error="bad gateway")] * (len(MESSAGE_RETRIES) + 1)
    telegram = ScriptedSender(results=failures)
    senders = {TELEGRAM: telegram}

    now = T0
    assert dispatch.run_once(engine, senders, now=now, claim_seconds=60).failed == 1
    for attempt, delay in enumerate(MESSAGE_RETRIES, start=1):
        (row,) = _deliveries(session)
        assert (row.status, row.attempts, row.next_attempt_at) == ("FAILED", attempt, now + delay)
        early = dispatch.run_once(engine, senders, now=now + delay - timedelta(seconds=1), claim_seconds=60)
        assert early.failed == early.dead == 0  # not due yet
        now = now + delay
        report = dispatch.run_once(engine, senders, now=now, claim_seconds=60)
        assert (report.failed, report.dead) == ((1, 0) if attempt < len(MESSAGE_RETRIES) else (0, 1))

    (row,) = _deliveries(session)
    assert (row.status, row.attempts, row.last_error, row.response_code) == ("DEAD", 6, "bad gateway", 502)
    attempts = session.exec(
        select(DeliveryAttempt.attempt, DeliveryAttempt.ok).order_by(DeliveryAttempt.attempt)
    )
    assert attempts.all() == [(n, False) for n in range(1, len(MESSAGE_RETRIES) + 2)]
    assert len(telegram.after_calls) == len(MESSAGE_RETRIES) + 1
    assert dispatch.run_once(engine, senders, now=now + timedelta(days=9), claim_seconds=60).dead == 0


def test_a_permanent_failure_is_dead_at_once_and_a_gone_target_is_skipped(engine, session, factory):
    user = _user(factory)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")
    blocked = ScriptedSender(
        results=[SendResult(ok=False, response_code=403, error="blocked", permanent=True)]
    )
    assert dispatch.run_once(engine, {TELEGRAM: blocked}, now=T0, claim_seconds=60).dead == 1

    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:2")
    gone = ScriptedSender(gone=True)
    assert dispatch.run_once(engine, {TELEGRAM: gone}, now=T0, claim_seconds=60).skipped == 1
    statuses = [r.status for r in _deliveries(session) if r.channel == "telegram"]
    assert statuses == ["DEAD", "SKIPPED"] and gone.sent == []


def test_digest_deliveries_are_held_and_never_claimed(engine, session, factory):
    user = _user(factory)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")
    email = ScriptedSender(NotificationChannel.EMAIL, hold=True)
    dispatch.run_once(engine, {NotificationChannel.EMAIL: email}, now=T0, claim_seconds=60)
    (held,) = [r for r in _deliveries(session) if r.channel == "email"]
    assert (held.status, held.held_for_digest, email.sent) == ("PENDING", True, [])


def test_a_lapsed_claim_is_taken_again_and_the_stale_outcome_is_not_recorded(engine, session, factory):
    user = _user(factory)
    preferences.set_preference(session, user, "position.closed", "in_app", False)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")
    telegram = ScriptedSender()
    senders = {TELEGRAM: telegram}
    dispatch.fan_out(engine, senders, now=T0)
    (dead_consumer,) = dispatch.claim(engine, senders, now=T0, limit=10, claim_seconds=60)  # then it dies

    held = dispatch.run_once(engine, senders, now=T0 + timedelta(seconds=59), claim_seconds=60)
    assert held.sent == 0 and telegram.sent == []  # the claim still holds
    taken = dispatch.run_once(engine, senders, now=T0 + timedelta(seconds=60), claim_seconds=60)
    assert taken.sent == 1 and [o.attempt for o in telegram.sent] == [2]

    # The first consumer's outcome arriving late changes nothing: the claim is no longer its.
    late = dispatch.record(
        engine, telegram, dead_consumer, SendResult(ok=False), 5, T0 + timedelta(seconds=61)
    )
    assert late is None
    (row,) = _deliveries(session)
    assert (row.status, row.attempts) == ("DELIVERED", 2)
    assert session.exec(select(DeliveryAttempt.attempt, DeliveryAttempt.ok)).all() == [(2, True)]


class SlowSender(ScriptedSender):
    """Slow enough that two consumers' batches overlap."""

    def send(self, outgoing):
        threading.Event().wait(0.002)
        return super().send(outgoing)


def test_two_consumers_racing_send_each_delivery_once(engine, session, factory):
    users = [_user(factory) for _ in range(4)]
    events = [
        NewEvent(users[n % 4].id, EventType.POSITION_CLOSED, f"position.closed:{n}", {"market": "ETH"})
        for n in range(120)
    ]
    emit_many(session, events)
    session.commit()
    telegram = SlowSender(targets=[0])
    email = SlowSender(NotificationChannel.EMAIL, targets=[0])
    senders = {TELEGRAM: telegram, NotificationChannel.EMAIL: email}
    barrier = threading.Barrier(2)
    reports: list[dispatch.DispatchReport] = []

    def consume() -> None:
        barrier.wait()
        reports.append(dispatch.run_once(engine, senders, limit=25, claim_seconds=300))

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert sum(r.fanned_out for r in reports) == 120
    assert sum(r.sent for r in reports) == 240
    for sender in (telegram, email):
        ids = [o.delivery_id for o in sender.sent]
        assert len(ids) == len(set(ids)) == 120
    rows = _deliveries(session)
    assert len(rows) == 360 and {r.status for r in rows} == {"DELIVERED"}
    assert {r.attempts for r in rows if r.channel != "in_app"} == {1}


def test_preference_changes_are_audited_and_unknown_names_refused(session, factory):
    user = _user(factory)
    preferences.set_preference(session, user, "invoice.due", "email", False)
    rows = {r.event_type: r.channels for r in preferences.matrix(session, user.id)}
    assert rows["invoice.due"] == {"in_app": True, "telegram": True, "email": False, "webhook": True}
    # Opens are off; the webhook channel leaves them to each endpoint's subscription (none by default).
    assert rows["position.opened"] == {"in_app": False, "telegram": False, "email": False, "webhook": True}
    assert "webhook.test" not in rows
    assert preferences.enabled_channels(session, user.id, "invoice.due") == {IN_APP, TELEGRAM, WEBHOOK}
    preferences.set_preference(session, user, "invoice.due", "email", True)  # an upsert, not a second row
    assert NotificationChannel.EMAIL in preferences.enabled_channels(session, user.id, "invoice.due")
    audit = session.exec(
        select(AuditLog).where(AuditLog.action == "notify.preference_changed").order_by(AuditLog.id)
    ).all()
    assert [a.details["enabled"] for a in audit] == [False, True]
    with pytest.raises(preferences.PreferenceError) as bad_type:
        preferences.set_preference(session, user, "webhook.test", "email", True)
    with pytest.raises(preferences.PreferenceError) as bad_channel:
        preferences.set_preference(session, user, "invoice.due", "sms", True)
    assert (bad_type.value.field, bad_channel.value.field) == ("event_type", "channel")


class HeldSender(ScriptedSender):
    """A channel whose receiver hangs until the test lets it answer."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()

    def send(self, outgoing):
        self.release.wait(timeout=60)
        return super().send(outgoing)


def test_a_hanging_channel_does_not_hold_up_the_others(engine, session, factory):
    users = [_user(factory) for _ in range(3)]
    emit_many(session, [NewEvent(u.id, EventType.POSITION_CLOSED, f"position.closed:{u.id}") for u in users])
    session.commit()
    hanging = HeldSender(NotificationChannel.EMAIL)
    telegram = ScriptedSender()
    senders = {NotificationChannel.EMAIL: hanging, TELEGRAM: telegram}
    consumer = threading.Thread(
        target=dispatch.run_once, args=(engine, senders), kwargs={"claim_seconds": 60}
    )
    consumer.start()
    try:

        def telegram_delivered() -> int:
            return len(
                [r for r in _deliveries(session) if r.channel == "telegram" and r.status == "DELIVERED"]
            )

        deadline = threading.Event()
        for _ in range(300):  # poll up to 30 s
            if telegram_delivered() == 3:
                break
            deadline.wait(0.1)
        assert telegram_delivered() == 3  # recorded while every email send still hangs
        assert {r.status for r in _deliveries(session) if r.channel == "email"} == {"SENDING"}
    finally:
        hanging.release.set()
        consumer.join(timeout=60)
    assert {r.status for r in _deliveries(session)} == {"DELIVERED"}


def test_a_delivery_whose_claims_keep_lapsing_goes_dead(engine, session, factory):
    """A worker that dies on the same delivery every time must not retry it forever."""
    user = _user(factory)
    preferences.set_preference(session, user, "position.closed", "in_app", False)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")
    telegram = ScriptedSender(retry_delays=(timedelta(seconds=1),))  # two tries in all
    senders = {TELEGRAM: telegram}
    dispatch.fan_out(engine, senders, now=T0)
    for n in range(2):  # claimed, then the worker dies, twice
        assert (
            len(dispatch.claim(engine, senders, now=T0 + timedelta(minutes=n), limit=10, claim_seconds=30))
            == 1
        )

    assert dispatch.claim(engine, senders, now=T0 + timedelta(minutes=2), limit=10, claim_seconds=30) == []
    (row,) = _deliveries(session)
    assert (row.status, row.attempts, row.last_error) == ("DEAD", 2, outbox.LAPSED_TOO_OFTEN)
    assert telegram.sent == []


class StallingPrepare(ScriptedSender):
    """Preparing takes the consumer's clock forward: the database stalled between claiming and sending."""

    def __init__(self, clock: list, by: timedelta) -> None:
        super().__init__(send_timeout=5)
        self.clock, self.by = clock, by

    def prepare(self, session, delivery, event):
        self.clock[0] += self.by
        return super().prepare(session, delivery, event)


def test_a_claim_too_close_to_lapsing_is_given_back_not_sent(engine, session, factory):
    """A send that could outlive its claim is never started (another consumer could retake and send it)."""
    user = _user(factory)
    preferences.set_preference(session, user, "position.closed", "in_app", False)
    _emit(session, user.id, EventType.POSITION_CLOSED, "position.closed:1")
    clock = [T0]
    telegram = StallingPrepare(clock, by=timedelta(seconds=56))  # the claim lasts 60 s, the send may take 5
    dispatch.fan_out(engine, {TELEGRAM: telegram}, now=T0)
    lane = dispatch.Lane(
        engine, telegram, claim_seconds=60, clock=lambda: clock[0], fault=lambda _: None,
        progress=threading.Event(),
    )  # fmt: skip
    runner = threading.Thread(target=lane.run)
    runner.start()
    for _ in range(600):  # until the lane has nothing left (up to 30 s)
        if lane.idle():
            break
        threading.Event().wait(0.05)
    lane.halt()
    runner.join(timeout=30)

    assert telegram.sent == []
    (row,) = _deliveries(session)
    assert (row.status, row.attempts, row.claimed_until) == ("PENDING", 0, None)
    assert row.next_attempt_at == T0 + timedelta(seconds=56)  # due again at once, no attempt spent
