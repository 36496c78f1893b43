"""Updates in by long polling under the lease, and telling Telegram which mode we run in; both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import Session

from backend.models import NotifyCursor
from backend.models.common import utcnow
from backend.monitor.lease import acquire_lease
from backend.notify.telegram.commands import NOT_LINKED
from backend.notify.telegram.poller import LEASE, cursor_name, ensure_update_mode, poll_for, process_update
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


def test_the_task_is_idle_without_a_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.telegram import telegram_updates_task

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert telegram_updates_task.call_local() == 0


def _cursor_row(engine: sa.Engine, name: str) -> tuple[int, object]:
    with Session(engine) as session:
        row = session.execute(
            sa.select(NotifyCursor.value, NotifyCursor.updated_at).where(NotifyCursor.name == name)
        )
        return tuple(row.one())


def test_the_cursor_is_per_bot_and_a_stale_one_no_longer_binds(bot: Bot, engine: sa.Engine) -> None:
    name = cursor_name(bot.settings)
    assert name == f"telegram:{bot.server.token.split(':')[0]}"
    bot.server.user_sends(77, "/help")
    assert bot.poll() == 1
    assert (
        bot.poll() == 0 and bot.server.pending_updates() == []
    )  # confirmed (Telegram forgets in 24 h anyway)
    value, _ = _cursor_row(engine, name)
    # After a week of silence Telegram numbers updates afresh, possibly below the cursor.
    with Session(engine) as session:
        session.execute(
            sa.update(NotifyCursor).where(NotifyCursor.name == name)
            .values(value=value + 10**8, updated_at=utcnow() - timedelta(days=7))
        )  # fmt: skip
        session.commit()
    bot.server.user_sends(77, "/start")
    assert bot.poll() == 1 and bot.server.texts_to(77) == [NOT_LINKED, NOT_LINKED]
    assert _cursor_row(engine, name)[0] == bot.server.pending_updates()[-1]["update_id"] + 1
    # A fresh cursor above an update does bind: that update was handled.
    with Session(engine) as session:
        session.execute(sa.update(NotifyCursor).where(NotifyCursor.name == name).values(value=value + 10**8))
        session.commit()
    update = bot.server.user_sends(77, "/help")
    assert process_update(engine, update, settings=bot.settings, venues=bot.venues) is None
