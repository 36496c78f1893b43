"""One Telegram update in, the bot's answers out: the commands of a linked chat, and almost nothing else.

A chat acts for the user it is linked to, through the same services and checks as the web pages (a
deployment or position of someone else is "not found", every change audited by its service). A chat that
is not linked gets one short pointer to the settings page for `/start` and `/help`, and silence for
anything else. Only private chats count: a group's members are not the user.

The handler changes the database (services commit) but calls Telegram not at all: it returns the calls to
make (`Reply`), which the caller sends once the update's handling is committed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.deployments import service as deployments
from backend.deployments import views
from backend.deployments.errors import DeploymentConflict, DeploymentNotFound, InputRejected
from backend.models.enums import DeploymentStatus, PositionStatus
from backend.monitor.charts import dashboard_charts, position_chart
from backend.monitor.close import PositionNotFound, PositionNotOpen
from backend.notify.render import plain, usd
from backend.notify.telegram import linking, pnl
from backend.notify.telegram.format import esc, fit
from backend.secret_key import derive_key
from backend.venues.registry import VenueRegistry

logger = logging.getLogger(__name__)

MAX_ID = 2**31 - 1
MAX_CHAT_ID = 2**52  # Telegram's ids fit in 52 bits
PNL_DEFAULT_DAYS, PNL_MAX_DAYS = 7, 365
CONFIRM_TTL = timedelta(minutes=10)
SIGNATURE_HEX = 16
NOT_LINKED = "This chat is not linked to a Maxxit account. Link it from Settings → Notifications."
HELP = "\n".join(
    [
        "<b>Maxxit commands</b>",
        "/status: your deployments, open positions, today's PnL",
        "/positions: open positions with their unrealised PnL",
        "/pnl [days]: realised PnL over the last days (default 7)",
        "/pause &lt;deployment id&gt;, /resume &lt;deployment id&gt;",
        "/close &lt;position id&gt;: close a position (asks to confirm)",
        "/unlink: stop alerts and commands in this chat",
        "/help: this list",
    ]
)


@dataclass(frozen=True)
class Reply:
    """One Bot API call to make once the update's handling is committed."""

    method: str  # sendMessage, editMessageText, answerCallbackQuery
    params: dict[str, Any]


def message(chat_id: int, text: str, markup: dict[str, Any] | None = None) -> Reply:
    params: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if markup is not None:
        params["reply_markup"] = markup
    return Reply("sendMessage", params)


@dataclass
class Context:
    session: Session
    settings: Settings
    venues: VenueRegistry
    now: datetime
    chat_id: int
    username: str | None
    user: CurrentUser | None
    args: list[str] = field(default_factory=list)


def handle_update(
    session: Session, update: dict[str, Any], *, settings: Settings, venues: VenueRegistry, now: datetime
) -> list[Reply]:
    """What the bot answers to one update (a message or a button press); [] for anything else."""
    if isinstance(update.get("message"), dict):
        return _on_message(session, update["message"], settings, venues, now)
    if isinstance(update.get("callback_query"), dict):
        return _on_button(session, update["callback_query"], settings, now)
    return []


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _private_chat(message: dict[str, Any]) -> int | None:
    """The chat's id when it is a private chat written in by its own user (a Telegram id), else None."""
    chat, sender = _object(message.get("chat")), _object(message.get("from"))
    chat_id = chat.get("id")
    if chat.get("type") != "private" or type(chat_id) is not int or sender.get("id") != chat_id:
        return None
    return chat_id if 0 < chat_id < MAX_CHAT_ID else None


def parse_command(text: str) -> tuple[str, list[str]] | None:
    """`/pause@maxxit_bot 12` → ("pause", ["12"]); None for text that is not a command."""
    if not text.startswith("/"):
        return None
    head, *args = text.split()
    return head[1:].partition("@")[0].lower(), args


def _on_message(
    session: Session, msg: dict[str, Any], settings: Settings, venues: VenueRegistry, now: datetime
) -> list[Reply]:
    chat_id = _private_chat(msg)
    parsed = parse_command(str(msg.get("text") or ""))
    if chat_id is None or parsed is None:
        return []
    name, args = parsed
    username = _object(msg.get("from")).get("username")
    username = username if isinstance(username, str) else None
    ctx = Context(
        session, settings, venues, now, chat_id, username, linking.linked_user(session, chat_id), args
    )
    if name == "start" and args:
        return _start_with_code(ctx)
    if ctx.user is None:
        return [message(chat_id, NOT_LINKED)] if name in ("start", "help") else []
    handler = COMMANDS.get(name)
    if handler is None:
        return [message(chat_id, "Unknown command. /help lists them.")]
    return handler(ctx)


# -- linking ------------------------------------------------------------------------------------------


def _start_with_code(ctx: Context) -> list[Reply]:
    try:
        user = linking.link_chat(ctx.session, ctx.args[0], ctx.chat_id, ctx.username, now=ctx.now)
    except linking.LinkRefused:
        text = "This link code is not valid or has expired. Get a new one from Settings → Notifications."
        return [message(ctx.chat_id, text)]
    text = (
        f"Linked to your Maxxit account {esc(user.short_address)}. Alerts will come here.\n"
        "/help lists the commands."
    )
    return [message(ctx.chat_id, text)]


def _unlink(ctx: Context) -> list[Reply]:
    linking.unlink_chat(ctx.session, ctx.chat_id, by=linking.BY_TELEGRAM)
    ctx.session.commit()
    return [message(ctx.chat_id, "This chat is unlinked: no more alerts or commands here.")]


def _help(ctx: Context) -> list[Reply]:
    return [message(ctx.chat_id, HELP)]


# -- reading ------------------------------------------------------------------------------------------


def _status(ctx: Context) -> list[Reply]:
    assert ctx.user is not None
    listed = views.list_deployments(ctx.session, ctx.user, venues=ctx.venues)
    live = [d for d in listed if d.status != DeploymentStatus.CANCELLED]
    lines = []
    for d in live:
        balance = f" · {usd(d.balance_usd)}" if d.balance_usd is not None else ""
        lines.append(
            f"#{d.id} {esc(d.agent_name)}: {esc(d.status.lower().replace('_', ' '))} · {esc(d.venue.lower())}"
            f" · {d.open_positions} open{balance}"
        )
    if not live:
        lines.append("No running deployments.")
    open_count = sum(d.open_positions for d in listed)
    today = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    result = pnl.realized_since(ctx.session, ctx.user, today)
    tail = [
        f"Open positions: {open_count}",
        f"Today (UTC): {usd(result.figures.net_pnl, signed=True)} net from {result.closes} closes",
    ]
    return [message(ctx.chat_id, fit(["<b>Your deployments</b>"], lines, tail))]


def _positions(ctx: Context) -> list[Reply]:
    assert ctx.user is not None
    charts = dashboard_charts(ctx.session, ctx.user, now=ctx.now, closed_since=ctx.now, max_points=4)
    live = [c for c in charts if c.status != PositionStatus.CLOSED]
    if not live:
        return [message(ctx.chat_id, "No open positions.")]
    lines = []
    for c in live:
        mark = "no price yet" if c.last_price is None else f"mark {esc(plain(c.last_price))}"
        upnl = "" if c.unrealized_pnl is None else f" · {usd(c.unrealized_pnl, signed=True)}"
        closing = " · closing" if c.status == PositionStatus.CLOSING else ""
        lines.append(
            f"#{c.position_id} {esc(c.market)} {esc(c.side.lower())} {esc(plain(c.size))} @ "
            f"{esc(plain(c.entry_price))} · {mark}{upnl}{closing} ({esc(c.agent_name)})"
        )
    return [message(ctx.chat_id, fit([f"<b>Open positions ({len(live)})</b>"], lines))]


def _pnl(ctx: Context) -> list[Reply]:
    assert ctx.user is not None
    days = PNL_DEFAULT_DAYS
    if ctx.args:
        days = _number(ctx.args[0], PNL_MAX_DAYS) or 0
        if len(ctx.args) > 1 or not days:
            return [message(ctx.chat_id, f"Usage: /pnl [days], days from 1 to {PNL_MAX_DAYS} (default 7).")]
    result = pnl.realized_since(ctx.session, ctx.user, ctx.now - timedelta(days=days))
    f = result.figures
    text = "\n".join(
        [
            f"<b>Realised PnL, last {days} day{'s' if days != 1 else ''}</b>",
            f"Net: {usd(f.net_pnl, signed=True)}",
            f"Gross: {usd(f.gross_pnl, signed=True)} · fees {usd(f.total_fees)}",
            f"Closes: {result.closes} ({result.wins} won)",
        ]
    )
    return [message(ctx.chat_id, text)]


# -- acting -------------------------------------------------------------------------------------------


def _number(text: str, maximum: int = MAX_ID) -> int | None:
    text = text.lstrip("#")
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= maximum else None


def _change(action: str) -> Callable[[Context], list[Reply]]:
    def run(ctx: Context) -> list[Reply]:
        assert ctx.user is not None
        deployment_id = _number(ctx.args[0]) if len(ctx.args) == 1 else None
        if deployment_id is None:
            return [message(ctx.chat_id, f"Usage: /{action} &lt;deployment id&gt; (see /status)")]
        try:
            deployments.change_status(ctx.session, ctx.user, deployment_id, action, via="telegram")
        except (DeploymentNotFound, InputRejected):
            return [message(ctx.chat_id, f"Deployment #{deployment_id} not found.")]
        except DeploymentConflict as e:
            return [message(ctx.chat_id, f"Deployment #{deployment_id}: {esc(e)}.")]
        done = "paused: no new trades; open positions keep their exits" if action == "pause" else "resumed"
        return [message(ctx.chat_id, f"Deployment #{deployment_id} {done}.")]

    return run


def _close(ctx: Context) -> list[Reply]:
    assert ctx.user is not None
    position_id = _number(ctx.args[0]) if len(ctx.args) == 1 else None
    if position_id is None:
        return [message(ctx.chat_id, "Usage: /close &lt;position id&gt; (see /positions)")]
    try:
        chart = position_chart(ctx.session, position_id, ctx.user, now=ctx.now, max_points=4)
    except PositionNotFound:
        return [message(ctx.chat_id, f"Position #{position_id} not found.")]
    if chart.status != PositionStatus.OPEN:
        return [message(ctx.chat_id, f"Position #{position_id} is {esc(chart.status.lower())} already.")]
    upnl = "" if chart.unrealized_pnl is None else f", {usd(chart.unrealized_pnl, signed=True)} now"
    text = (
        f"Close #{position_id} {esc(chart.market)} {esc(chart.side.lower())} {esc(plain(chart.size))} @ "
        f"{esc(plain(chart.entry_price))}{upnl}?"
    )
    expires = int((ctx.now + CONFIRM_TTL).timestamp())
    signature = sign(ctx.settings, ctx.user.id, ctx.chat_id, position_id, expires)
    keyboard = {
        "inline_keyboard": [
            [
                {"text": "Confirm close", "callback_data": f"c:{position_id}:{expires}:{signature}"},
                {"text": "Cancel", "callback_data": f"n:{position_id}"},
            ]
        ]
    }
    return [message(ctx.chat_id, text, keyboard)]


COMMANDS: dict[str, Callable[[Context], list[Reply]]] = {
    "start": _help,
    "help": _help,
    "status": _status,
    "positions": _positions,
    "pnl": _pnl,
    "pause": _change("pause"),
    "resume": _change("resume"),
    "close": _close,
    "unlink": _unlink,
}


# -- the confirm button -------------------------------------------------------------------------------


def sign(settings: Settings, user_id: int, chat_id: int, position_id: int, expires: int) -> str:
    """The button's signature: only a button this bot made, for this user in this chat, verifies."""
    key = derive_key(settings, "telegram/close-button")
    text = f"{user_id}:{chat_id}:{position_id}:{expires}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def _on_button(session: Session, query: dict[str, Any], settings: Settings, now: datetime) -> list[Reply]:
    query_id = str(query.get("id") or "")
    msg = _object(query.get("message"))
    chat_id = _private_chat({**msg, "from": query.get("from")})
    message_id = msg.get("message_id")
    if not query_id:
        return []
    answer = Reply("answerCallbackQuery", {"callback_query_id": query_id})
    user = linking.linked_user(session, chat_id) if chat_id is not None else None
    if user is None or chat_id is None or not isinstance(message_id, int):
        return [Reply("answerCallbackQuery", {"callback_query_id": query_id, "text": NOT_LINKED})]
    parts = str(query.get("data") or "").split(":")

    def edit(text: str) -> Reply:
        return Reply("editMessageText", {"chat_id": chat_id, "message_id": message_id, "text": text})

    if len(parts) == 2 and parts[0] == "n" and _number(parts[1]):
        return [answer, edit(f"Kept position #{_number(parts[1])} open.")]
    if len(parts) != 4 or parts[0] != "c" or not _number(parts[1]) or not parts[2].isdigit():
        return [Reply("answerCallbackQuery", {"callback_query_id": query_id, "text": "Unknown button."})]
    position_id, expires = int(parts[1]), int(parts[2])
    expected = sign(settings, user.id, chat_id, position_id, expires)
    if not hmac.compare_digest(expected, parts[3]):
        logger.warning("telegram: a close button with a bad signature in chat of user %s", user.id)
        return [
            Reply("answerCallbackQuery", {"callback_query_id": query_id, "text": "This button is not valid."})
        ]
    if expires < now.timestamp():
        return [answer, edit(f"This confirmation expired. Send /close {position_id} again.")]
    try:
        deployments.close_own_position(session, user, position_id)
    except PositionNotFound:
        return [answer, edit(f"Position #{position_id} not found.")]
    except PositionNotOpen as e:
        return [answer, edit(f"{esc(str(e)).capitalize()}.")]
    text = f"Closing position #{position_id}: the order goes out within seconds; you'll get the result here."
    return [answer, edit(text)]
