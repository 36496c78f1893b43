"""Linking a chat with `/start <code>` and unlinking from either side, on SQLite and PostgreSQL, through the
local Bot API server and the real long-poll path."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.audit import Action
from backend.models import AuditLog, TelegramLink, TelegramLinkCode
from backend.models.common import utcnow
from backend.notify.telegram import linking
from backend.notify.telegram.linking import code_hash, new_link_code, telegram_status, unlink
from tests.telegram_server import TelegramServer
from tests.telegram_support import Bot, bot_settings, current

NOT_VALID = "This link code is not valid or has expired. Get a new one from Settings → Notifications."


@pytest.fixture
def bot(engine: sa.Engine, telegram_server: TelegramServer) -> Bot:
    return Bot(engine, telegram_server, bot_settings(engine, telegram_server))


def actions(session: Session, user_id: int) -> list[tuple[str, dict]]:
    rows = session.exec(
        select(AuditLog).where(AuditLog.entity_type == "user", AuditLog.entity_id == str(user_id))
        .order_by(col(AuditLog.id))
    ).all()  # fmt: skip
    return [(r.action, r.details) for r in rows]


def test_start_with_a_good_code_links_the_chat(session: Session, factory, bot: Bot) -> None:
    user = factory.user()
    code = new_link_code(session, current(user), bot.settings)
    assert code.url == f"https://t.me/maxxit_test_bot?start={code.code}"
    assert timedelta(minutes=14) < code.expires_at - utcnow() <= timedelta(minutes=15)
    stored = session.exec(select(TelegramLinkCode).where(TelegramLinkCode.user_id == user.id)).one()
    assert (
        stored.code_hash == code_hash(code.code) and code.code not in stored.code_hash
    )  # only the hash kept

    [reply] = bot.say(1001, f"/start {code.code}", username="alice")
    assert reply.startswith("Linked to your Maxxit account 0x") and "/help" in reply
    status = telegram_status(session, user.id, bot.settings)
    assert (status.configured, status.linked, status.username, status.bot_username) == (
        True, True, "alice", "maxxit_test_bot")  # fmt: skip
    session.expire_all()
    assert session.exec(select(TelegramLinkCode)).one().used_at is not None
    assert actions(session, user.id)[-1] == (Action.TELEGRAM_LINKED, {"username": "alice", "by": "telegram"})


def test_reused_expired_wrong_and_voided_codes_are_refused(session: Session, factory, bot: Bot) -> None:
    user, other = factory.user(), factory.user()
    code = new_link_code(session, current(user), bot.settings)
    bot.say(1001, f"/start {code.code}")
    assert bot.say(2002, f"/start {code.code}") == [NOT_VALID]  # reused
    assert bot.say(2002, "/start not-a-code") == [NOT_VALID]  # wrong
    expired = new_link_code(session, current(other), bot.settings, now=utcnow() - timedelta(minutes=16))
    assert bot.say(2002, f"/start {expired.code}") == [NOT_VALID]  # expired
    first = new_link_code(session, current(other), bot.settings)
    second = new_link_code(session, current(other), bot.settings)
    assert bot.say(2002, f"/start {first.code}") == [NOT_VALID]  # voided by the newer one
    assert not telegram_status(session, other.id, bot.settings).linked
    assert bot.say(2002, f"/start {second.code}")[0].startswith("Linked")
    links = session.exec(
        select(TelegramLink.user_id, TelegramLink.chat_id).order_by(TelegramLink.user_id)
    ).all()
    assert sorted(links) == sorted([(user.id, 1001), (other.id, 2002)])


def test_linking_replaces_the_users_old_chat_and_the_chats_old_user(
    session: Session, factory, bot: Bot
) -> None:
    alice, bob = factory.user(), factory.user()
    bot.link(session, alice, 1001)
    bot.link(session, alice, 1002)  # alice moves to a new chat
    assert session.exec(select(TelegramLink.chat_id).where(TelegramLink.user_id == alice.id)).all() == [1002]
    bot.link(session, bob, 1002)  # bob links the chat alice used: it is bob's now
    session.expire_all()
    assert session.exec(select(TelegramLink.user_id, TelegramLink.chat_id)).all() == [(bob.id, 1002)]
    reasons = [d.get("reason") for a, d in actions(session, alice.id) if a == Action.TELEGRAM_UNLINKED]
    assert reasons == ["replaced by a new chat", "chat linked to another account"]


def test_unlink_from_the_web_and_from_telegram(session: Session, factory, bot: Bot) -> None:
    user = factory.user()
    bot.link(session, user, 1001)
    assert unlink(session, current(user)) is True
    assert unlink(session, current(user)) is False
    assert bot.say(1001, "/status") == []  # a stranger now
    bot.link(session, user, 1001)
    assert bot.say(1001, "/unlink") == ["This chat is unlinked: no more alerts or commands here."]
    assert not telegram_status(session, user.id, bot.settings).linked
    unlinks = [d["by"] for a, d in actions(session, user.id) if a == Action.TELEGRAM_UNLINKED]
    assert unlinks == ["web", "telegram"]


def test_link_code_needs_a_bot(session: Session, factory, engine: sa.Engine) -> None:
    from backend.config import Settings

    settings = Settings(database_url=engine.url.render_as_string(hide_password=False))
    with pytest.raises(linking.TelegramNotConfigured):
        new_link_code(session, current(factory.user()), settings)
    status = telegram_status(session, 1, settings)
    assert (status.configured, status.linked, status.bot_username) == (False, False, None)


def test_bot_username_from_settings_or_unavailable(session: Session, factory, bot: Bot) -> None:
    named = bot.settings.model_copy(update={"telegram_bot_username": "OtherBot"})
    code = new_link_code(session, current(factory.user()), named)
    assert code.url.startswith("https://t.me/OtherBot?start=")
    assert bot.server.calls_of("getMe") == []  # never asked
    down = bot.settings.model_copy(update={"telegram_api_base_url": "http://127.0.0.1:9"})
    with pytest.raises(linking.TelegramUnavailable):
        new_link_code(session, current(factory.user()), down)
    assert telegram_status(session, 1, down).bot_username is None  # not asked again within the minute
