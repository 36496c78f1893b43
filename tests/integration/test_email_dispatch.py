"""Email through the real consumer (`dispatch.run_once`) and the digest job to a real SMTP server, on SQLite
and PostgreSQL: set and verify an address, then a closed position is mailed at once (or held for the
daily digest); a server that is down is retried on the message schedule, a 5xx refusal is DEAD at once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import MemoryCounter
from backend.models import DeliveryAttempt, NotificationDelivery
from backend.models.enums import DeliveryStatus, NotificationChannel, Role
from backend.notify import dispatch
from backend.notify.channels import MESSAGE_RETRIES
from backend.notify.email import addresses
from backend.notify.email.digest import send_digests
from backend.notify.email.sender import EmailSender
from backend.notify.events import EventType, emit
from tests.smtp_server import SmtpServer, free_port

EMAIL = NotificationChannel.EMAIL
T0 = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
CLOSED = {
    "market": "BTC",
    "side": "SHORT",
    "size": "0.25",
    "entry_price": "97000",
    "exit_price": "95000",
    "realized_pnl": "499.10",
    "reason": "STOP_LOSS",
    "agent_name": "Bear",
}


def _signed_up(session: Session, factory, server: SmtpServer, address: str) -> CurrentUser:
    """A user who set `address` and followed the mailed link, as on the settings page."""
    row = factory.user()
    user = CurrentUser(row.id, row.address, Role.TRADER)
    addresses.set_address(session, user, address, server.settings(), counter=MemoryCounter())
    token = re.search(r"token=([A-Za-z0-9_-]+)", server.to(address)[-1].part("plain")).group(1)
    addresses.verify(session, token, user_id=user.id)
    return user


def _close(session: Session, user_id: int, n: int) -> None:
    emit(session, user_id=user_id, type=EventType.POSITION_CLOSED, key=f"position.closed:{n}", payload=CLOSED)
    session.commit()


def _email_rows(session: Session) -> list[NotificationDelivery]:
    session.expire_all()
    query = select(NotificationDelivery).where(NotificationDelivery.channel == EMAIL)
    return list(session.exec(query.order_by(col(NotificationDelivery.id))))


def test_a_verified_address_gets_each_event_and_an_unverified_one_nothing(
    engine, session, factory, smtp_server
):
    user = _signed_up(session, factory, smtp_server, "each@example.com")
    pending = CurrentUser(factory.user().id, "0x" + "1" * 40, Role.TRADER)
    addresses.set_address(
        session, pending, "pending@example.com", smtp_server.settings(), counter=MemoryCounter()
    )
    _close(session, user.id, 1)
    _close(session, pending.id, 2)
    senders = {EMAIL: EmailSender(smtp_server.settings())}

    report = dispatch.run_once(engine, senders, now=T0, claim_seconds=60)
    assert report.sent == 1
    (row,) = _email_rows(session)
    assert (row.user_id, row.status, row.attempts, row.held_for_digest) == (user.id, "DELIVERED", 1, False)
    mail = smtp_server.to("each@example.com")[-1]
    assert mail.subject == "Closed BTC short: +$499.10"
    assert "stop loss" in mail.part("plain") and "0.25 BTC" in mail.part("html")
    assert [m.subject for m in smtp_server.to("pending@example.com")] == [
        "Confirm your email address for Maxxit"
    ]


def test_a_server_down_is_retried_on_schedule_and_a_5xx_refusal_is_dead(
    engine, session, factory, smtp_server
):
    user = _signed_up(session, factory, smtp_server, "retry@example.com")
    _close(session, user.id, 1)
    down = {EMAIL: EmailSender(smtp_server.settings(smtp_port=free_port()), timeout=2)}
    assert dispatch.run_once(engine, down, now=T0, claim_seconds=60).failed == 1
    (row,) = _email_rows(session)
    assert (row.status, row.next_attempt_at) == ("FAILED", T0 + MESSAGE_RETRIES[0])
    assert "unreachable" in (row.last_error or "")

    up = {EMAIL: EmailSender(smtp_server.settings())}
    assert dispatch.run_once(engine, up, now=T0 + MESSAGE_RETRIES[0], claim_seconds=60).sent == 1
    (row,) = _email_rows(session)
    assert (row.status, row.attempts) == ("DELIVERED", 2)

    smtp_server.refuse["retry@example.com"] = "550 5.1.1 mailbox disabled"
    _close(session, user.id, 2)
    assert dispatch.run_once(engine, up, now=T0 + timedelta(minutes=5), claim_seconds=60).dead == 1
    second = _email_rows(session)[-1]
    assert (second.status, second.response_code, second.attempts) == ("DEAD", 550, 1)
    attempts = session.exec(
        select(DeliveryAttempt.delivery_id, DeliveryAttempt.ok).order_by(col(DeliveryAttempt.id))
    ).all()
    assert [ok for _, ok in attempts] == [False, True, False]


def test_a_daily_user_is_held_by_the_consumer_and_mailed_by_the_digest(engine, session, factory, smtp_server):
    user = _signed_up(session, factory, smtp_server, "daily@example.com")
    addresses.set_frequency(session, user, "daily", settings=smtp_server.settings())
    settings = smtp_server.settings(email_digest_hour_utc=8)
    for n in (1, 2):
        _close(session, user.id, n)
    before = len(smtp_server.received())

    dispatch.run_once(engine, {EMAIL: EmailSender(settings)}, now=T0, claim_seconds=60)
    rows = _email_rows(session)
    assert [(r.status, r.held_for_digest) for r in rows] == [("PENDING", True)] * 2
    assert len(smtp_server.received()) == before

    assert send_digests(engine, settings, T0) == 1
    assert smtp_server.received()[-1].subject == "Your Maxxit day: 2 events"
    assert {r.status for r in _email_rows(session)} == {DeliveryStatus.DELIVERED}
    assert dispatch.run_once(engine, {EMAIL: EmailSender(settings)}, now=T0, claim_seconds=60).sent == 0
