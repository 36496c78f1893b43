"""The consumer's Telegram sender against the local Bot API server: targets, delivered, 429 retried, 403
permanent with the chat unlinked; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from backend.audit import Action
from backend.models import AuditLog, NotificationDelivery, NotificationEvent, TelegramLink
from backend.models.enums import NotificationChannel
from backend.notify.channels import MESSAGE_RETRIES
from backend.notify.events import EventType, emit
from backend.notify.telegram.sender import TelegramSender
from tests.telegram_server import TelegramServer
from tests.telegram_support import Bot, bot_settings

CHAT = 4242
CLOSED = {"position_id": 9, "deployment_id": 3, "agent_name": "Alpha <beta>", "venue": "PAPER",
          "market": "BTC", "side": "LONG", "size": "0.01", "entry_price": "60000", "exit_price": "61000",
          "realized_pnl": "9.50", "fees": "0.50", "reason": "TAKE_PROFIT", "leverage": "1"}  # fmt: skip


@pytest.fixture
def bot(engine: sa.Engine, telegram_server: TelegramServer) -> Bot:
    return Bot(engine, telegram_server, bot_settings(engine, telegram_server))


@pytest.fixture
def sender(bot: Bot) -> TelegramSender:
    return TelegramSender(bot.settings)


def delivery_for(session: Session, user_id: int, key: str = "position.closed:9") -> tuple:
    emit(session, user_id=user_id, type=EventType.POSITION_CLOSED, key=key, payload=CLOSED)
    session.commit()
    event = session.exec(select(NotificationEvent).where(NotificationEvent.key == key)).one()
    delivery = NotificationDelivery(event_id=event.id, user_id=user_id, channel=NotificationChannel.TELEGRAM)
    session.add(delivery)
    session.commit()
    session.refresh(delivery)
    return delivery, event


def test_targets_and_a_delivered_alert(session: Session, factory, bot: Bot, sender: TelegramSender) -> None:
    user = factory.user()
    assert sender.targets(session, user.id, EventType.POSITION_CLOSED) == []
    bot.link(session, user, CHAT)
    assert sender.targets(session, user.id, EventType.POSITION_CLOSED) == [0]
    assert sender.hold_for_digest(session, user.id) is False
    assert sender.retry_delays == MESSAGE_RETRIES and sender.channel == NotificationChannel.TELEGRAM
    delivery, event = delivery_for(session, user.id)
    outgoing = sender.prepare(session, delivery, event)
    assert outgoing is not None and (outgoing.target, outgoing.attempt) == (CHAT, 1)
    result = sender.send(outgoing)
    assert (result.ok, result.response_code) == (True, 200)
    alert = bot.server.messages_to(CHAT)[-1]
    assert alert["parse_mode"] == "HTML"
    assert alert["text"].splitlines()[0] == "<b>Closed BTC long: +$9.50</b>"
    assert "Agent: Alpha &lt;beta&gt;" in alert["text"]
    assert alert["text"].endswith('<a href="http://testserver/dashboard">Open in Maxxit</a>')


def test_unlinked_since_is_skipped(session: Session, factory, bot: Bot, sender: TelegramSender) -> None:
    user = factory.user()
    bot.link(session, user, CHAT)
    delivery, event = delivery_for(session, user.id)
    bot.say(CHAT, "/unlink")
    assert sender.prepare(session, delivery, event) is None


def test_429_is_retried_and_403_is_permanent_and_unlinks(
    session: Session, factory, bot: Bot, sender: TelegramSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = factory.user()
    bot.link(session, user, CHAT)
    delivery, event = delivery_for(session, user.id)
    outgoing = sender.prepare(session, delivery, event)
    bot.server.fail_next("sendMessage", status=429, retry_after=5)
    limited = sender.send(outgoing)
    assert (limited.ok, limited.permanent, limited.response_code) == (False, False, 429)
    assert "retry after 5 s" in limited.error
    sender.after(session, delivery, limited)
    session.commit()
    assert sender.targets(session, user.id, event.type) == [0]  # still linked
    assert sender.send(outgoing).ok  # the retry goes through

    bot.server.block(CHAT)
    blocked = sender.send(outgoing)
    assert (blocked.ok, blocked.permanent, blocked.response_code) == (False, True, 403)
    assert blocked.error == "Forbidden: bot was blocked by the user"
    sender.after(session, delivery, blocked)
    session.commit()
    assert session.exec(select(TelegramLink)).all() == []
    audit = session.exec(select(AuditLog).where(AuditLog.action == Action.TELEGRAM_UNLINKED)).one()
    assert audit.details["by"] == "delivery" and audit.entity_id == str(user.id)
    assert bot.server.token.split(":")[1] not in caplog.text


def test_a_message_telegram_refuses_is_permanent_but_keeps_the_link(
    session: Session, factory, bot: Bot, sender: TelegramSender
) -> None:
    user = factory.user()
    bot.link(session, user, CHAT)
    delivery, event = delivery_for(session, user.id)
    outgoing = sender.prepare(session, delivery, event)
    bot.server.fail_next("sendMessage", status=400, description="Bad Request: message is too long")
    refused = sender.send(outgoing)
    assert (refused.ok, refused.permanent) == (False, True)
    sender.after(session, delivery, refused)
    session.commit()
    assert sender.targets(session, user.id, event.type) == [0]


def test_telegram_down_is_retryable(session: Session, factory, bot: Bot) -> None:
    user = factory.user()
    bot.link(session, user, CHAT)
    delivery, event = delivery_for(session, user.id)
    down = TelegramSender(bot.settings.model_copy(update={"telegram_api_base_url": "http://127.0.0.1:9"}))
    result = down.send(down.prepare(session, delivery, event))
    assert (result.ok, result.permanent, result.response_code) == (False, False, None)
    assert "unreachable" in result.error
