"""Every bot command for a linked user, a stranger's chat, the close button (confirm, cancel, forged), and
resuming from the stored offset after a crash; on SQLite and PostgreSQL, through the local Bot API server."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.audit import Action
from backend.models import AgentDeployment, AuditLog, NotificationEvent, Position
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus, PositionStatus, Side
from backend.notify.telegram.commands import HELP, NOT_LINKED, sign
from backend.notify.telegram.poller import cursor, cursor_name, process_update
from tests.telegram_server import TelegramServer
from tests.telegram_support import Bot, bot_settings, open_position, tick

ALICE, BOB, STRANGER = 1001, 2002, 3003


@pytest.fixture
def bot(engine: sa.Engine, telegram_server: TelegramServer) -> Bot:
    return Bot(engine, telegram_server, bot_settings(engine, telegram_server))


@pytest.fixture
def world(session: Session, factory, bot: Bot) -> dict:
    """Alice (linked in chat 1001) with a paper deployment, an open BTC long, closes today and 3 days ago;
    Bob (linked in 2002) with his own deployment and position."""
    alice, bob = factory.user(), factory.user()
    agent = factory.agent(name="Alpha <&> Momentum")
    mine = factory.paper_deployment(agent, alice)
    theirs = factory.paper_deployment(agent, bob)
    position = open_position(session, mine.id)
    bobs_position = open_position(session, theirs.id, market="ETH", side=Side.SHORT)
    factory.closed_position(mine, Decimal("12.5"), days_ago=0)
    factory.closed_position(mine, Decimal("-4"), days_ago=3)
    factory.closed_position(theirs, Decimal("1000"), days_ago=0)
    tick(session, "BTC", "61000")
    bot.link(session, alice, ALICE)
    bot.link(session, bob, BOB)
    return {"alice": alice, "bob": bob, "mine": mine, "theirs": theirs, "position": position,
            "bobs_position": bobs_position}  # fmt: skip


def test_help_status_positions_and_pnl(bot: Bot, world: dict) -> None:
    assert bot.say(ALICE, "/help") == [bot.server.messages_to(ALICE)[-1]["text"]]
    assert bot.server.messages_to(ALICE)[-1]["text"] == HELP
    assert bot.say(ALICE, "/start") == [HELP]
    [status] = bot.say(ALICE, "/status")
    mine = world["mine"].id
    assert f"#{mine} Alpha &lt;&amp;&gt; Momentum: active · paper · 1 open" in status
    assert "Open positions: 1" in status and "Today (UTC): +$12.50 net from 1 closes" in status
    assert f"#{world['theirs'].id}" not in status  # only her own
    [positions] = bot.say(ALICE, "/positions")
    assert f"#{world['position'].id} BTC long 0.01 @ 60000 · mark 61000 · +$10.00" in positions
    assert "ETH" not in positions
    [week] = bot.say(ALICE, "/pnl")
    assert "last 7 days" in week and "Net: +$8.50" in week and "Closes: 2 (1 won)" in week
    [today] = bot.say(ALICE, "/pnl 1")
    assert "last 1 day<" in today and "Net: +$12.50" in today
    for bad in ("/pnl 0", "/pnl 366", "/pnl seven", "/pnl 1 2"):
        assert bot.say(ALICE, bad) == ["Usage: /pnl [days], days from 1 to 365 (default 7)."]
    assert bot.say(ALICE, "/frobnicate") == ["Unknown command. /help lists them."]
    assert bot.say(ALICE, "just chatting") == []


def test_pause_and_resume_are_audited_and_refused_for_someone_elses(
    session: Session, bot: Bot, world: dict
) -> None:
    mine, theirs = world["mine"].id, world["theirs"].id
    [paused] = bot.say(ALICE, f"/pause {mine}")
    assert paused == f"Deployment #{mine} paused: no new trades; open positions keep their exits."
    assert bot.say(ALICE, f"/pause {mine}") == [
        f"Deployment #{mine}: only an active deployment can be paused."
    ]
    assert bot.say(ALICE, f"/resume #{mine}") == [f"Deployment #{mine} resumed."]
    assert bot.say(ALICE, f"/pause {theirs}") == [f"Deployment #{theirs} not found."]
    assert bot.say(ALICE, "/pause") == ["Usage: /pause &lt;deployment id&gt; (see /status)"]
    assert bot.say(ALICE, "/pause 99999999999") == ["Usage: /pause &lt;deployment id&gt; (see /status)"]
    session.expire_all()
    assert session.get(AgentDeployment, theirs).status == DeploymentStatus.ACTIVE
    rows = session.exec(
        select(AuditLog.action, AuditLog.actor_user_id, AuditLog.entity_id)
        .where(col(AuditLog.entity_type) == "deployment").order_by(col(AuditLog.id))
    ).all()  # fmt: skip
    alice = world["alice"].id
    assert rows == [
        (Action.DEPLOYMENT_PAUSED, alice, str(mine)),
        (Action.DEPLOYMENT_RESUMED, alice, str(mine)),
    ]
    events = session.exec(
        select(NotificationEvent.type, NotificationEvent.payload)
        .where(NotificationEvent.user_id == alice, col(NotificationEvent.type).startswith("deployment."))
        .order_by(col(NotificationEvent.id))
    ).all()
    assert [(t, p["by"]) for t, p in events] == [
        ("deployment.paused", "telegram"),
        ("deployment.resumed", "telegram"),
    ]


def _confirm_button(bot: Bot, chat_id: int) -> tuple[int, str, str]:
    message = bot.server.messages_to(chat_id)[-1]
    confirm, cancel = message["reply_markup"]["inline_keyboard"][0]
    return message["message_id"], confirm["callback_data"], cancel["callback_data"]


def test_close_asks_then_confirm_closes(session: Session, bot: Bot, world: dict) -> None:
    pid = world["position"].id
    [question] = bot.say(ALICE, f"/close {pid}")
    assert question == f"Close #{pid} BTC long 0.01 @ 60000, +$10.00 now?"
    message_id, confirm, _ = _confirm_button(bot, ALICE)
    bot.press(ALICE, message_id, confirm)
    edited = bot.server.messages_to(ALICE)[-1]
    assert edited["message_id"] == message_id and edited["text"].startswith(f"Closing position #{pid}")
    assert "reply_markup" not in edited  # the buttons are gone
    assert bot.server.callback_answers[-1].get("text") is None
    session.expire_all()
    position = session.get(Position, pid)
    assert (position.status, position.close_reason) == (PositionStatus.CLOSING, "MANUAL")
    audit = session.exec(select(AuditLog).where(AuditLog.action == Action.POSITION_CLOSE_REQUESTED)).one()
    assert (audit.actor_user_id, audit.entity_id) == (world["alice"].id, str(pid))
    bot.press(ALICE, message_id, confirm)  # pressed again
    assert bot.server.messages_to(ALICE)[-1]["text"] == f"Position {pid} is closing already."
    assert bot.say(ALICE, f"/close {pid}") == [f"Position #{pid} is closing already."]


def test_close_cancel_and_refusals(session: Session, bot: Bot, world: dict) -> None:
    pid = world["position"].id
    bot.say(ALICE, f"/close {pid}")
    message_id, _, cancel = _confirm_button(bot, ALICE)
    bot.press(ALICE, message_id, cancel)
    assert bot.server.messages_to(ALICE)[-1]["text"] == f"Kept position #{pid} open."
    assert bot.say(ALICE, f"/close {world['bobs_position'].id}") == [
        f"Position #{world['bobs_position'].id} not found."
    ]
    assert bot.say(ALICE, "/close x") == ["Usage: /close &lt;position id&gt; (see /positions)"]
    session.expire_all()
    assert session.get(Position, pid).status == PositionStatus.OPEN


def test_forged_and_expired_buttons_close_nothing(session: Session, bot: Bot, world: dict) -> None:
    alices, bobs = world["position"].id, world["bobs_position"].id
    bot.say(BOB, f"/close {bobs}")
    message_id, confirm, _ = _confirm_button(bot, BOB)
    _, _, expires, _ = confirm.split(":")
    # Bob rewrites his button to name Alice's position: the signature no longer matches.
    bot.press(BOB, message_id, f"c:{alices}:{expires}:{confirm.split(':')[3]}")
    assert bot.server.callback_answers[-1]["text"] == "This button is not valid."
    # Even a correctly signed button for Bob's chat naming Alice's position is her position: not found.
    signed = sign(bot.settings, world["bob"].id, BOB, alices, int(expires))
    bot.press(BOB, message_id, f"c:{alices}:{expires}:{signed}")
    assert bot.server.messages_to(BOB)[-1]["text"] == f"Position #{alices} not found."
    # Alice's own button, pressed from Bob's chat, fails its signature (it names her user and chat).
    bot.say(ALICE, f"/close {alices}")
    _, alice_confirm, _ = _confirm_button(bot, ALICE)
    bot.press(BOB, message_id, alice_confirm)
    assert bot.server.callback_answers[-1]["text"] == "This button is not valid."
    # An expired one.
    past = int(utcnow().timestamp()) - 1
    stale = sign(bot.settings, world["alice"].id, ALICE, alices, past)
    alice_message = bot.server.messages_to(ALICE)[-1]["message_id"]
    bot.press(ALICE, alice_message, f"c:{alices}:{past}:{stale}")
    assert (
        bot.server.messages_to(ALICE)[-1]["text"] == f"This confirmation expired. Send /close {alices} again."
    )
    bot.press(ALICE, alice_message, "garbage")
    assert bot.server.callback_answers[-1]["text"] == "Unknown button."
    session.expire_all()
    assert session.get(Position, alices).status == PositionStatus.OPEN


def test_a_strangers_chat_gets_a_pointer_and_nothing_else(session: Session, bot: Bot, world: dict) -> None:
    mine, position = world["mine"].id, world["position"].id
    for text in ("/status", "/positions", "/pnl", f"/pause {mine}", f"/close {position}", "/unlink", "hello",
                 "/frobnicate"):  # fmt: skip
        assert bot.say(STRANGER, text) == []
    assert bot.say(STRANGER, "/start") == [NOT_LINKED]
    assert bot.say(STRANGER, "/help") == [NOT_LINKED]
    signed = sign(bot.settings, world["alice"].id, STRANGER, world["position"].id, 2_000_000_000)
    bot.press(STRANGER, 1, f"c:{world['position'].id}:2000000000:{signed}")
    assert bot.server.callback_answers[-1]["text"] == NOT_LINKED
    assert bot.server.texts_to(STRANGER) == [NOT_LINKED, NOT_LINKED]
    session.expire_all()
    assert session.get(AgentDeployment, world["mine"].id).status == DeploymentStatus.ACTIVE
    assert session.get(Position, world["position"].id).status == PositionStatus.OPEN


def test_offset_resumes_after_a_crash_like_restart(
    engine: sa.Engine, telegram_server: TelegramServer, session: Session, world: dict
) -> None:
    first = Bot(engine, telegram_server, bot_settings(engine, telegram_server))
    first.poll()  # what linking left
    updates = [telegram_server.user_sends(ALICE, f"/pause {world['mine'].id}"),
               telegram_server.user_sends(ALICE, "/pnl 1"),
               telegram_server.user_sends(ALICE, f"/resume {world['mine'].id}")]  # fmt: skip
    before = len(telegram_server.messages_to(ALICE))
    # The worker handles the first update (committed), then dies before answering it or polling again.
    replies = process_update(engine, updates[0], settings=first.settings, venues=first.venues)
    assert replies and replies[0].params["text"].startswith(f"Deployment #{world['mine'].id} paused")
    with Session(engine) as fresh:
        assert cursor(fresh, cursor_name(first.settings)) == updates[0]["update_id"] + 1
    assert len(telegram_server.pending_updates()) == 3  # Telegram still holds all three
    # A new worker: asks from the stored offset, so the first is confirmed and never handled twice.
    second = Bot(engine, telegram_server, bot_settings(engine, telegram_server))
    assert second.poll() == 2
    texts = telegram_server.texts_to(ALICE)[before:]
    assert len(texts) == 2 and "Net: +$12.50" in texts[0] and texts[1].endswith("resumed.")
    assert second.poll() == 0  # nothing new; the same update served again is skipped too
    assert process_update(engine, updates[2], settings=second.settings, venues=second.venues) is None
    session.expire_all()
    assert session.get(AgentDeployment, world["mine"].id).status == DeploymentStatus.ACTIVE
    pauses = session.exec(select(AuditLog).where(AuditLog.action == Action.DEPLOYMENT_PAUSED)).all()
    assert len(pauses) == 1
