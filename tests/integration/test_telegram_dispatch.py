"""Alerts through the real notification consumer to the local Bot API server: delivered once, a 429
retried on the message schedule, a blocked bot DEAD with the chat unlinked; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.models import DeliveryAttempt, NotificationDelivery, TelegramLink
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel
from backend.notify import dispatch
from backend.notify.channels import MESSAGE_RETRIES
from backend.notify.events import EventType, emit
from backend.notify.telegram.sender import TelegramSender
from tests.telegram_server import TelegramServer
from tests.telegram_support import Bot, bot_settings

CHAT = 6161
T0 = utcnow().replace(microsecond=0)
TELEGRAM = NotificationChannel.TELEGRAM


@pytest.fixture
def bot(engine: sa.Engine, telegram_server: TelegramServer) -> Bot:
    return Bot(engine, telegram_server, bot_settings(engine, telegram_server))


def _close(session: Session, user_id: int, n: int) -> None:
    payload = {"market": "ETH", "side": "SHORT", "size": "1", "entry_price": "3000", "exit_price": "2900",
               "realized_pnl": "99.5", "fees": "0.5", "reason": "TRAILING_STOP",
               "agent_name": "Fade"}  # fmt: skip
    emit(
        session, user_id=user_id, type=EventType.POSITION_CLOSED, key=f"position.closed:{n}", payload=payload
    )
    session.commit()


def _telegram_rows(session: Session) -> list[NotificationDelivery]:
    session.expire_all()
    query = select(NotificationDelivery).where(NotificationDelivery.channel == TELEGRAM)
    return list(session.exec(query.order_by(col(NotificationDelivery.id))))


def test_alerts_go_out_once_and_429_is_retried(
    session: Session, factory, bot: Bot, engine: sa.Engine
) -> None:
    user, stranger = factory.user(), factory.user()
    bot.link(session, user, CHAT)
    senders = {TELEGRAM: TelegramSender(bot.settings)}
    _close(session, user.id, 1)
    _close(session, stranger.id, 2)  # not linked: no Telegram delivery at all
    before = len(bot.server.messages_to(CHAT))
    report = dispatch.run_once(engine, senders, now=T0, claim_seconds=60)
    assert report.sent == 1
    [alert] = bot.server.texts_to(CHAT)[before:]
    assert alert.startswith("<b>Closed ETH short: +$99.50</b>") and "Reason: trailing stop" in alert
    assert dispatch.run_once(engine, senders, now=T0 + timedelta(hours=1), claim_seconds=60).sent == 0

    _close(session, user.id, 3)
    bot.server.fail_next("sendMessage", status=429, retry_after=2)
    assert dispatch.run_once(engine, senders, now=T0, claim_seconds=60).failed == 1
    row = _telegram_rows(session)[-1]
    assert (row.status, row.response_code, row.next_attempt_at) == ("FAILED", 429, T0 + MESSAGE_RETRIES[0])
    assert dispatch.run_once(engine, senders, now=T0 + MESSAGE_RETRIES[0], claim_seconds=60).sent == 1
    assert [r.status for r in _telegram_rows(session)] == ["DELIVERED", "DELIVERED"]
    attempts = session.exec(
        select(DeliveryAttempt.attempt, DeliveryAttempt.ok, DeliveryAttempt.response_code)
        .where(DeliveryAttempt.delivery_id == row.id).order_by(col(DeliveryAttempt.attempt))
    ).all()  # fmt: skip
    assert attempts == [(1, False, 429), (2, True, 200)]
    assert len(bot.server.texts_to(CHAT)) == before + 2


def test_a_blocked_bot_is_dead_and_unlinks_the_chat(
    session: Session, factory, bot: Bot, engine: sa.Engine
) -> None:
    user = factory.user()
    bot.link(session, user, CHAT)
    senders = {TELEGRAM: TelegramSender(bot.settings)}
    bot.server.block(CHAT)
    _close(session, user.id, 1)
    assert dispatch.run_once(engine, senders, now=T0, claim_seconds=60).dead == 1
    [row] = _telegram_rows(session)
    assert (row.status, row.response_code, row.last_error) == (
        "DEAD", 403, "Forbidden: bot was blocked by the user")  # fmt: skip
    assert session.exec(select(TelegramLink)).all() == []
    _close(session, user.id, 2)  # later alerts make no Telegram delivery
    dispatch.run_once(engine, senders, now=T0, claim_seconds=60)
    assert len(_telegram_rows(session)) == 1
