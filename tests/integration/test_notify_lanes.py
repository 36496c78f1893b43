"""The consumer with real channels and their local servers, on SQLite and PostgreSQL: a channel that hangs
holds up no other channel (an SMTP server that stalls; Telegram keeps delivering, even events committed
during the hang), one user's webhook endpoint that hangs takes no other user's webhooks, and two consumers
with a short claim window send each message once."""

from __future__ import annotations

import threading
from collections import Counter

from pydantic import SecretStr
from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.models import EmailAddress, NotificationDelivery, TelegramLink
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel, Role
from backend.notify import dispatch
from backend.notify.email.sender import EmailSender
from backend.notify.events import EventType, NewEvent, emit, emit_many
from backend.notify.telegram.sender import TelegramSender
from backend.notify.webhooks import endpoints
from backend.notify.webhooks.sender import WebhookSender
from tests import webhook_receiver as receiver_module
from tests.blackhole import Blackhole
from tests.integration.conftest import until
from tests.smtp_server import SmtpServer
from tests.telegram_server import TelegramServer
from tests.wallets import TEST_SECRET_KEY
from tests.webhook_receiver import WebhookReceiver

webhook_receiver = receiver_module.webhook_receiver  # the fixture
EMAIL, TELEGRAM, WEBHOOK = (
    NotificationChannel.EMAIL,
    NotificationChannel.TELEGRAM,
    NotificationChannel.WEBHOOK,
)
CLOSED = {"market": "ETH", "side": "LONG", "size": "1", "entry_price": "3000", "exit_price": "3100",
          "realized_pnl": "99.5", "fees": "0.5", "reason": "TAKE_PROFIT", "agent_name": "Trend"}  # fmt: skip


def _user(factory) -> CurrentUser:
    row = factory.user()
    return CurrentUser(row.id, row.address, Role.TRADER)


def _close(session: Session, user_id: int, key: str) -> None:
    emit(session, user_id=user_id, type=EventType.POSITION_CLOSED, key=key, payload=CLOSED)
    session.commit()


def _closed(user: CurrentUser, n: str) -> NewEvent:
    return NewEvent(user.id, EventType.POSITION_CLOSED, f"position.closed:{n}", CLOSED)


def _rows(session: Session, channel: NotificationChannel, user_id: int | None = None) -> list:
    session.expire_all()
    query = select(NotificationDelivery).where(NotificationDelivery.channel == channel.value)
    if user_id is not None:
        query = query.where(NotificationDelivery.user_id == user_id)
    return list(session.exec(query.order_by(col(NotificationDelivery.id))))


def _consume(engine, senders, **kwargs) -> tuple[threading.Thread, list[dispatch.DispatchReport]]:
    reports: list[dispatch.DispatchReport] = []
    thread = threading.Thread(target=lambda: reports.append(dispatch.run_once(engine, senders, **kwargs)))
    thread.start()
    return thread, reports


def test_a_stalled_smtp_server_holds_up_no_telegram_alert(
    engine, session, factory, smtp_server: SmtpServer, telegram_server: TelegramServer
):
    users = [_user(factory) for _ in range(2)]
    for n, user in enumerate(users):
        telegram_server.user_sends(7100 + n, "hello")  # the chat exists for the bot
        session.add(TelegramLink(user_id=user.id, chat_id=7100 + n))
        session.add(EmailAddress(user_id=user.id, address=f"u{n}@example.com", verified_at=utcnow()))
    session.commit()
    settings = smtp_server.settings(
        telegram_bot_token=SecretStr(telegram_server.token), telegram_api_base_url=telegram_server.url
    )
    # The email client waits longer than the test does: the server's stall, not a timeout, ends the hang.
    senders = {EMAIL: EmailSender(settings, timeout=60), TELEGRAM: TelegramSender(settings)}
    smtp_server.hold()
    _close(session, users[0].id, "position.closed:1")
    consumer, _ = _consume(engine, senders, claim_seconds=120)
    try:
        assert smtp_server.held.wait(30)  # the first email is being sent, and hangs
        until(lambda: telegram_server.messages_to(7100), "the first user's alert")
        _close(session, users[1].id, "position.closed:2")  # committed during the hang

        until(lambda: telegram_server.messages_to(7101), "the second user's alert, during the hang")
        assert smtp_server.received() == []  # the email server still answers nothing
        assert [r.status for r in _rows(session, EMAIL)] == ["SENDING", "SENDING"]
    finally:
        smtp_server.release()
        consumer.join(timeout=120)
    assert not consumer.is_alive()
    assert sorted(m.rcpt_tos for m in smtp_server.received()) == [("u0@example.com",), ("u1@example.com",)]
    assert {r.status for r in _rows(session, EMAIL) + _rows(session, TELEGRAM)} == {"DELIVERED"}


def test_a_hanging_webhook_endpoint_takes_no_other_users_webhooks(
    engine, session, factory, webhook_receiver: WebhookReceiver
):
    settings = Settings(env="dev", maxxit_secret_key=TEST_SECRET_KEY, webhook_timeout_seconds=60)
    hanging, healthy = _user(factory), _user(factory)
    hole = Blackhole().start()
    try:
        endpoints.create_endpoint(
            session, hanging, f"http://127.0.0.1:{hole.port}/hook", [], "hangs", settings
        )
        webhook_receiver.secret = endpoints.create_endpoint(
            session, healthy, webhook_receiver.url, [], "fine", settings
        ).secret
        # The hanging user's events first: the oldest deliveries are theirs, more than the send threads.
        emit_many(session, [_closed(hanging, f"h{n}") for n in range(12)])
        emit_many(session, [_closed(healthy, f"o{n}") for n in range(3)])
        session.commit()
        consumer, _ = _consume(engine, {WEBHOOK: WebhookSender(settings)}, claim_seconds=120)
        try:
            until(
                lambda: [r.status for r in _rows(session, WEBHOOK, healthy.id)] == ["DELIVERED"] * 3,
                "the healthy endpoint's webhooks, while the other hangs",
            )
            assert len(webhook_receiver.received) == 3
            assert hole.accepted <= dispatch.PER_TARGET  # the hanging endpoint holds two threads at most
            assert {r.status for r in _rows(session, WEBHOOK, hanging.id)} <= {"SENDING", "PENDING"}
        finally:
            hole.stop()  # the hung connections drop: those sends fail and are retried later
            consumer.join(timeout=120)
        assert not consumer.is_alive()
    finally:
        hole.stop()
    assert "DELIVERED" not in {r.status for r in _rows(session, WEBHOOK, hanging.id)}


def test_two_consumers_with_a_short_claim_window_send_each_message_once(
    engine, session, factory, webhook_receiver: WebhookReceiver
):
    """The claim window (1 s) is shorter than a batch takes to send: no consumer may send a claim that
    could lapse under it, or the other takes it and sends it too."""
    settings = Settings(env="dev", maxxit_secret_key=TEST_SECRET_KEY, webhook_timeout_seconds=2)
    users = [_user(factory) for _ in range(4)]
    secret = None
    for user in users:
        created = endpoints.create_endpoint(session, user, webhook_receiver.url, [], "one of four", settings)
        secret = secret or created.secret
    webhook_receiver.secret = secret
    webhook_receiver.slow = 0.5
    emit_many(session, [_closed(users[n % 4], str(n)) for n in range(40)])
    session.commit()
    _one_secret(session, settings, secret)
    barrier = threading.Barrier(2)

    def delivered() -> int:
        with Session(engine) as own:
            statement = select(NotificationDelivery).where(
                NotificationDelivery.channel == WEBHOOK.value, NotificationDelivery.status == "DELIVERED"
            )
            return len(own.exec(statement).all())

    def consume() -> None:  # as a worker does: runs again (sweeps, follow-ups) until all is delivered
        barrier.wait()
        pause = threading.Event()
        for _ in range(600):
            dispatch.run_once(engine, {WEBHOOK: WebhookSender(settings)}, claim_seconds=1)
            if delivered() == 40:
                return
            pause.wait(0.1)

    consumers = [threading.Thread(target=consume) for _ in range(2)]
    for thread in consumers:
        thread.start()
    for thread in consumers:
        thread.join(timeout=120)

    rows = _rows(session, WEBHOOK)
    seen = Counter(r.webhook_id for r in webhook_receiver.received)
    assert set(seen) == {f"msg_{r.id}" for r in rows} and len(rows) == 40
    assert set(seen.values()) == {1}  # each message reached the receiver once
    assert {(r.status, r.attempts) for r in rows} == {("DELIVERED", 1)}


def _one_secret(session: Session, settings: Settings, secret: str) -> None:
    """Every endpoint signs with one secret, so one receiver verifies them all."""
    from backend.models import WebhookEndpoint
    from backend.notify.webhooks.secrets import secret_cipher

    cipher = secret_cipher(None, settings)
    for endpoint in session.exec(select(WebhookEndpoint)):
        endpoint.secret_encrypted = cipher.encrypt(endpoint.id, secret)
        session.add(endpoint)
    session.commit()
