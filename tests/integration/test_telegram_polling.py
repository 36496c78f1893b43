"""Updates in by long polling under the lease, and telling Telegram which mode we run in; both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import Session

from backend.models.common import utcnow
from backend.monitor.lease import acquire_lease
from backend.notify.telegram.commands import NOT_LINKED
from backend.notify.telegram.poller import LEASE, ensure_update_mode, poll_for
from tests.telegram_server import TelegramServer
from tests.telegram_support import Bot, bot_settings


@pytest.fixture
def bot(engine: sa.Engine, telegram_server: TelegramServer) -> Bot:
    return Bot(engine, telegram_server, bot_settings(engine, telegram_server))


def test_mode_webhook_or_polling(bot: Bot) -> None:
    with_secret = bot.settings.model_copy(update={"telegram_webhook_secret": SecretStr("abc-secret")})
    assert ensure_update_mode(bot.client, with_secret) is True
    assert bot.server.webhook == {"url": "http://testserver/api/v1/telegram/updates",
                                  "secret_token": "abc-secret", "max_connections": 1}  # fmt: skip
    assert ensure_update_mode(bot.client, bot.settings) is False
    assert bot.server.webhook is None
    bot.server.user_sends(77, "/help")
    assert bot.poll() == 1 and bot.server.texts_to(77) == [NOT_LINKED]


def test_poll_for_holds_the_lease_and_answers(bot: Bot, engine: sa.Engine) -> None:
    bot.server.user_sends(77, "/help")
    bot.server.user_sends(78, "/start")
    handled = poll_for(engine, bot.client, settings=bot.settings, venues=bot.venues, seconds=1.5,
                       holder="worker-a", poll_seconds=1)  # fmt: skip
    assert handled == 2
    assert bot.server.texts_to(77) == [NOT_LINKED] and bot.server.texts_to(78) == [NOT_LINKED]
    with Session(engine) as session:  # released: another worker takes it at once
        assert acquire_lease(session, LEASE, "worker-b", timedelta(seconds=30), utcnow())


def test_poll_for_waits_while_another_worker_polls(bot: Bot, engine: sa.Engine) -> None:
    with Session(engine) as session:
        assert acquire_lease(session, LEASE, "worker-b", timedelta(seconds=30), utcnow())
    bot.server.user_sends(77, "/help")
    handled = poll_for(engine, bot.client, settings=bot.settings, venues=bot.venues, seconds=1,
                       holder="worker-a", poll_seconds=1)  # fmt: skip
    assert handled == 0 and bot.server.texts_to(77) == []
    assert bot.server.calls_of("getUpdates") == []
