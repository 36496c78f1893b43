"""The email channel against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL: an address is set,
the link mailed and followed, then events go out one by one or as a daily digest; a server that is down is
retried, a 5xx refusal is permanent; hostile payloads are escaped and header injection is refused."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import MemoryCounter
from backend.models import AuditLog, DeliveryAttempt, EmailAddress, NotificationDelivery, NotificationEvent
from backend.models.enums import DeliveryStatus, NotificationChannel, Role
from backend.notify.email import addresses
from backend.notify.email.digest import send_digests
from backend.notify.email.errors import EmailError, EmailNotFound, EmailRateLimited, EmailUnavailable
from backend.notify.email.sender import EmailSender
from backend.notify.events import EventType
from tests.smtp_server import SmtpServer, free_port

ADDRESS = "trader@example.com"
HOSTILE = '<script>alert(1)</script><a href="http://evil.test">x</a>'
CLOSED = {
    "position_id": 7,
    "deployment_id": 3,
    "agent_name": HOSTILE,
    "venue": "paper",
    "market": "ETH",
    "side": "LONG",
    "size": "1.5000",
    "entry_price": "2000.00",
    "exit_price": "2100.50",
    "realized_pnl": "148.25",
    "fees": "2.50",
    "reason": "TAKE_PROFIT",
}
LINK = re.compile(r"http://maxxit\.test/settings/notifications/verify-email\?token=([A-Za-z0-9_-]+)")


def _user(factory) -> CurrentUser:
    row = factory.user()
    return CurrentUser(id=row.id, address=row.address, role=Role.TRADER)


def _token(server: SmtpServer, to: str = ADDRESS) -> str:
    mail = server.to(to)[-1]
    found = LINK.search(mail.part("plain"))
    assert found, mail.part("plain")
    assert found.group(0) in mail.part("html")
    return found.group(1)


def _verified(session: Session, factory, server: SmtpServer, frequency: str = "each") -> CurrentUser:
    user = _user(factory)
    settings = server.settings()
    addresses.set_address(session, user, ADDRESS, settings, counter=MemoryCounter())
    addresses.verify(session, _token(server))
    if frequency != "each":
        addresses.set_frequency(session, user, frequency, settings=settings)
    return user


def _delivery(
    session: Session,
    user_id: int,
    payload: dict,
    *,
    key: str,
    held: bool = False,
    created_at: datetime | None = None,
    type: str = EventType.POSITION_CLOSED,
) -> NotificationDelivery:
    """What the consumer's fan-out writes: the event and its email delivery (held for a daily digest)."""
    event = NotificationEvent(key=key, user_id=user_id, type=type, payload=payload)
    if created_at is not None:
        event.created_at = created_at
    session.add(event)
    session.flush()
    delivery = NotificationDelivery(
        event_id=event.id, user_id=user_id, channel=NotificationChannel.EMAIL, held_for_digest=held
    )
    session.add(delivery)
    session.commit()
    return delivery


def _audits(session: Session, action: str) -> int:
    return session.exec(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)).one()


# -- the address --------------------------------------------------------------------------------------------


def test_setting_an_address_mails_a_link_and_following_it_turns_mail_on(session, factory, smtp_server):
    user = _user(factory)
    settings = smtp_server.settings()
    sender = EmailSender(settings)

    status = addresses.set_address(session, user, " Trader@Example.COM ", settings, counter=MemoryCounter())
    assert (status.address, status.verified, status.configured) == ("Trader@example.com", False, True)
    (mail,) = smtp_server.received()
    assert mail.rcpt_tos == ("Trader@example.com",)
    assert mail.subject == "Confirm your email address for Maxxit"
    token = _token(smtp_server, "Trader@example.com")
    row = session.exec(select(EmailAddress)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in str(row.model_dump())
    assert sender.targets(session, user.id, EventType.POSITION_CLOSED) == []  # nothing to unverified

    assert addresses.verify(session, token) == user.id
    assert addresses.email_status(session, user.id, settings).verified
    assert sender.targets(session, user.id, EventType.POSITION_CLOSED) == [0]
    assert not sender.hold_for_digest(session, user.id)
    assert _audits(session, Action.EMAIL_ADDRESS_SET) == 1 and _audits(session, Action.EMAIL_VERIFIED) == 1
    with pytest.raises(EmailNotFound):  # a link works once
        addresses.verify(session, token)


def test_a_new_address_is_unverified_and_the_old_link_is_dead(session, factory, smtp_server):
    user = _verified(session, factory, smtp_server)
    settings = smtp_server.settings()
    first = _token(smtp_server)
    addresses.set_address(session, user, ADDRESS, settings, counter=MemoryCounter())  # same, verified: no-op
    assert len(smtp_server.received()) == 1

    addresses.set_address(session, user, "other@example.org", settings, counter=MemoryCounter())
    assert not addresses.email_status(session, user.id, settings).verified
    assert EmailSender(settings).targets(session, user.id, EventType.POSITION_CLOSED) == []
    with pytest.raises(EmailNotFound):
        addresses.verify(session, first)
    assert addresses.verify(session, _token(smtp_server, "other@example.org")) == user.id


def test_an_expired_link_is_refused_and_another_users_link_is_not_found(session, factory, smtp_server):
    settings = smtp_server.settings()
    owner, stranger = _user(factory), _user(factory)
    addresses.set_address(session, owner, ADDRESS, settings, counter=MemoryCounter())
    token = _token(smtp_server)
    with pytest.raises(EmailNotFound):
        addresses.verify(session, token, user_id=stranger.id)
    later = datetime.now(UTC) + timedelta(hours=addresses.TOKEN_HOURS, minutes=1)
    with pytest.raises(EmailError, match="expired") as refused:
        addresses.verify(session, token, user_id=owner.id, now=later)
    assert not isinstance(refused.value, EmailNotFound)
    assert not addresses.email_status(session, owner.id, settings).verified
    assert addresses.verify(session, token, user_id=owner.id) == owner.id


@pytest.mark.parametrize(
    "bad",
    [
        "victim@example.com\r\nBcc: everyone@example.com",
        "victim@example.com\nSubject: hi",
        "two@@example.com",
        "a@b@example.com",
        "no-at.example.com",
        "nodot@localhost",
        "spa ce@example.com",
        "<victim@example.com>",
        "x@" + "a" * 250 + ".com",
        "",
    ],
)
def test_bad_addresses_and_header_injection_are_refused_and_change_nothing(
    session, factory, smtp_server, bad
):
    user = _user(factory)
    with pytest.raises(EmailError) as refused:
        addresses.set_address(session, user, bad, smtp_server.settings(), counter=MemoryCounter())
    assert refused.value.field == "address"
    assert not isinstance(refused.value, EmailUnavailable)
    assert smtp_server.received() == []
    assert session.exec(select(EmailAddress)).all() == []


def test_email_off_server_down_or_refusing_changes_nothing(session, factory, smtp_server):
    user = _user(factory)
    with pytest.raises(EmailUnavailable, match="email is off"):
        addresses.set_address(
            session, user, ADDRESS, smtp_server.settings(smtp_host=None), counter=MemoryCounter()
        )
    down = smtp_server.settings(smtp_port=free_port())
    with pytest.raises(EmailUnavailable, match="could not be sent"):
        addresses.set_address(session, user, ADDRESS, down, counter=MemoryCounter())
    smtp_server.refuse[ADDRESS] = "550 5.1.1 no such mailbox"
    with pytest.raises(EmailError, match="refused this address") as refused:
        addresses.set_address(session, user, ADDRESS, smtp_server.settings(), counter=MemoryCounter())
    assert not isinstance(refused.value, EmailUnavailable)
    assert session.exec(select(EmailAddress)).all() == []
    assert addresses.email_status(session, user.id, smtp_server.settings(smtp_host=None)).configured is False


def test_verification_mails_are_limited_per_user(session, factory, smtp_server):
    user, counter, settings = _user(factory), MemoryCounter(), smtp_server.settings()
    for n in range(addresses.VERIFY_MAILS_PER_HOUR):
        addresses.set_address(session, user, f"a{n}@example.com", settings, counter=counter)
    with pytest.raises(EmailRateLimited) as limited:
        addresses.set_address(session, user, "more@example.com", settings, counter=counter)
    assert isinstance(limited.value, ValueError) and limited.value.retry_after > 0
    assert len(smtp_server.received()) == addresses.VERIFY_MAILS_PER_HOUR
    addresses.set_address(session, _user(factory), "b@example.com", settings, counter=counter)  # per user


# -- one email per event ------------------------------------------------------------------------------------


def test_an_event_goes_out_as_text_and_html_with_the_figures_escaped(session, factory, smtp_server):
    user = _verified(session, factory, smtp_server)
    payload = {**CLOSED, "market": "ETH\r\nBcc: evil@example.com"}
    delivery = _delivery(session, user.id, payload, key="position.closed:7")
    sender = EmailSender(smtp_server.settings())
    event = session.get(NotificationEvent, delivery.event_id)

    outgoing = sender.prepare(session, delivery, event)
    assert outgoing is not None and outgoing.target == ADDRESS and outgoing.attempt == 1
    result = sender.send(outgoing)
    assert (result.ok, result.response_code) == (True, 250)

    mail = smtp_server.received()[-1]
    assert mail.rcpt_tos == (ADDRESS,) and mail.message["Bcc"] is None
    assert mail.subject == "Closed ETH Bcc: evil@example.com long: +$148.25"
    text, html = mail.part("plain"), mail.part("html")
    for figure in ("1.5 ETH", "2000", "2100.5", "+$148.25", "$2.50", "take profit"):
        assert figure in text and figure in html
    assert HOSTILE in text  # plain text shows it as it is
    assert "<script>" not in html and 'href="http://evil.test"' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="http://maxxit.test/dashboard"' in html and "http://maxxit.test/dashboard" in text
    assert "http://maxxit.test/settings/notifications" in text
    assert 'href="http://maxxit.test/settings/notifications"' in html


def test_an_address_removed_or_changed_after_the_event_is_not_sent_to(session, factory, smtp_server):
    user = _verified(session, factory, smtp_server)
    delivery = _delivery(session, user.id, CLOSED, key="position.closed:8")
    event = session.get(NotificationEvent, delivery.event_id)
    sender = EmailSender(smtp_server.settings())
    addresses.set_address(session, user, "new@example.com", smtp_server.settings(), counter=MemoryCounter())
    assert sender.prepare(session, delivery, event) is None
    addresses.remove_address(session, user)
    assert sender.prepare(session, delivery, event) is None
    assert _audits(session, Action.EMAIL_REMOVED) == 1


def test_a_server_that_is_down_is_retried_and_a_5xx_refusal_is_permanent(session, factory, smtp_server):
    user = _verified(session, factory, smtp_server)
    delivery = _delivery(session, user.id, CLOSED, key="position.closed:9")
    outgoing = EmailSender(smtp_server.settings()).prepare(
        session, delivery, session.get(NotificationEvent, delivery.event_id)
    )
    assert outgoing is not None

    down = EmailSender(smtp_server.settings(smtp_port=free_port())).send(outgoing)
    assert (down.ok, down.permanent) == (False, False) and "unreachable" in (down.error or "")
    smtp_server.refuse[ADDRESS] = "451 4.3.0 try again later"
    busy = EmailSender(smtp_server.settings()).send(outgoing)
    assert (busy.ok, busy.permanent, busy.response_code) == (False, False, 451)
    smtp_server.refuse[ADDRESS] = "550 5.1.1 mailbox unavailable"
    gone = EmailSender(smtp_server.settings(smtp_password="hunter2-secret")).send(outgoing)
    assert (gone.ok, gone.permanent, gone.response_code) == (False, True, 550)
    assert "hunter2" not in (gone.error or "")
    assert len(smtp_server.received()) == 1  # only the verification mail got through


# -- the daily digest ---------------------------------------------------------------------------------------

DAY = datetime(2026, 12, 6, tzinfo=UTC)


def test_a_daily_user_gets_one_digest_after_the_hour_and_never_twice(engine, session, factory, smtp_server):
    user = _verified(session, factory, smtp_server, frequency="daily")
    settings = smtp_server.settings(email_digest_hour_utc=8)
    assert EmailSender(settings).hold_for_digest(session, user.id)
    for n, hour in enumerate((1, 3, 5)):
        _delivery(
            session,
            user.id,
            {**CLOSED, "market": f"M{n}"},
            key=f"position.closed:d{n}",
            held=True,
            created_at=DAY.replace(hour=hour),
        )
    paused = {"deployment_id": 3, "agent_name": "Alpha", "by": "web"}
    _delivery(
        session,
        user.id,
        paused,
        key="deployment.paused:1",
        held=True,
        created_at=DAY.replace(hour=4),
        type=EventType.DEPLOYMENT_PAUSED,
    )
    smtp_server.messages.clear()

    assert send_digests(engine, settings, DAY.replace(hour=7, minute=59)) == 0
    assert smtp_server.received() == []
    assert send_digests(engine, settings, DAY.replace(hour=8, minute=5)) == 1
    (mail,) = smtp_server.received()
    assert mail.subject == "Your Maxxit day: 4 events"
    text, html = mail.part("plain"), mail.part("html")
    assert text.index("position.closed (3)") < text.index("deployment.paused (1)")  # newest group first
    assert text.index("M2") < text.index("M1") < text.index("M0")  # newest first
    assert "Deployment paused: Alpha" in text and "Deployment paused: Alpha" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "http://maxxit.test/settings/notifications" in text

    session.expire_all()
    rows = session.exec(select(NotificationDelivery).order_by(NotificationDelivery.id)).all()
    assert {r.status for r in rows} == {DeliveryStatus.DELIVERED}
    attempts = session.exec(select(DeliveryAttempt).order_by(DeliveryAttempt.delivery_id)).all()
    assert [(a.attempt, a.ok, a.response_code) for a in attempts] == [(1, True, 250)] * 4
    assert session.exec(select(EmailAddress)).one().last_digest_at == DAY.replace(hour=8, minute=5)

    _delivery(session, user.id, CLOSED, key="position.closed:late", held=True, created_at=DAY.replace(hour=9))
    assert send_digests(engine, settings, DAY.replace(hour=9, minute=30)) == 0  # today's went out
    tomorrow = DAY + timedelta(days=1, hours=8, minutes=1)
    assert send_digests(engine, settings, tomorrow) == 1
    assert smtp_server.received()[-1].subject == "Your Maxxit day: 1 event"


def test_no_digest_when_nothing_is_held_and_none_for_per_event_users(engine, session, factory, smtp_server):
    daily = _verified(session, factory, smtp_server, frequency="daily")
    each = _verified(session, factory, smtp_server)
    _delivery(session, each.id, CLOSED, key="position.closed:e1")  # not held: the consumer sends it
    smtp_server.messages.clear()
    assert send_digests(engine, smtp_server.settings(), DAY.replace(hour=10)) == 0
    assert smtp_server.received() == []
    assert daily.id != each.id


def test_a_failed_digest_is_retried_on_the_next_run(engine, session, factory, smtp_server):
    user = _verified(session, factory, smtp_server, frequency="daily")
    _delivery(session, user.id, CLOSED, key="position.closed:f1", held=True, created_at=DAY.replace(hour=2))
    smtp_server.messages.clear()
    down = smtp_server.settings(smtp_port=free_port())
    assert send_digests(engine, down, DAY.replace(hour=8)) == 0
    session.expire_all()
    row = session.exec(select(NotificationDelivery)).one()
    assert (row.status, row.attempts, row.claimed_until) == (DeliveryStatus.FAILED, 1, None)
    assert session.exec(select(EmailAddress)).one().last_digest_at is None

    assert send_digests(engine, smtp_server.settings(), DAY.replace(hour=8, minute=15)) == 1
    session.expire_all()
    row = session.exec(select(NotificationDelivery)).one()
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 2)
    attempts = session.exec(select(DeliveryAttempt).order_by(DeliveryAttempt.attempt)).all()
    assert [(a.attempt, a.ok) for a in attempts] == [(1, False), (2, True)]
    assert len(smtp_server.received()) == 1


def test_a_lapsed_claim_is_taken_again_and_a_live_one_is_left(engine, session, factory, smtp_server):
    user = _verified(session, factory, smtp_server, frequency="daily")
    delivery = _delivery(session, user.id, CLOSED, key="position.closed:c1", held=True)
    now = DAY.replace(hour=8, minute=30)
    session.execute(
        sa.update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery.id)
        .values(status=DeliveryStatus.SENDING, claimed_until=now + timedelta(seconds=30), attempts=1)
    )
    session.commit()
    smtp_server.messages.clear()
    assert send_digests(engine, smtp_server.settings(), now) == 0  # another worker holds it
    assert send_digests(engine, smtp_server.settings(), now + timedelta(minutes=1)) == 1  # its claim lapsed
    assert len(smtp_server.received()) == 1


def test_back_to_each_releases_held_mail_and_removing_skips_it(session, factory, smtp_server):
    user = _verified(session, factory, smtp_server, frequency="daily")
    held = _delivery(session, user.id, CLOSED, key="position.closed:h1", held=True)
    addresses.set_frequency(session, user, "each", settings=smtp_server.settings())
    session.refresh(held)
    assert (held.held_for_digest, held.status) == (False, DeliveryStatus.PENDING)
    assert _audits(session, Action.EMAIL_FREQUENCY_CHANGED) == 2

    addresses.set_frequency(session, user, "daily", settings=smtp_server.settings())
    again = _delivery(session, user.id, CLOSED, key="position.closed:h2", held=True)
    addresses.remove_address(session, user)
    session.refresh(again)
    assert again.status == DeliveryStatus.SKIPPED
    with pytest.raises(EmailNotFound):
        addresses.set_frequency(session, user, "daily")
    with pytest.raises(EmailError):
        addresses.set_frequency(session, user, "hourly")
