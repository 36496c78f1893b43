"""Updates in: getUpdates long polling (a worker) or Telegram's webhook posts (the API), one way to handle.

A NotifyCursor per bot ("telegram:<bot id>", the public numeric part of the token, so a new bot starts
afresh) holds the next update id to handle. Handling an update first moves the cursor past it with a
conditional UPDATE (`value <= update_id`) in the same transaction as the update's own changes, so the two
commit together: after a crash, either both happened or neither, and an update seen again (getUpdates
re-serves what no later offset confirmed; a webhook may be retried) finds the cursor past it and is
skipped. The bot's answers go out only after that commit (at most once: a crash in between loses an
answer, never repeats an action).

After a week without updates Telegram numbers the next one randomly, possibly below the cursor; Telegram
keeps an update for 24 hours at most, so a cursor that has not moved for `STALE_AFTER` guards nothing and
any update is new: it is then ignored as a bound (no offset asked, any id claims it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from backend.config import Settings
from backend.db import dialect_insert
from backend.models import NotifyCursor
from backend.models.common import utcnow
from backend.monitor.lease import acquire_lease, release_lease
from backend.notify.telegram.client import TelegramClient, TelegramError
from backend.notify.telegram.commands import Reply, handle_update
from backend.venues.registry import VenueRegistry

logger = logging.getLogger(__name__)

CURSOR = "telegram"
STALE_AFTER = timedelta(days=6)
MAX_UPDATE_ID = 2**52
DATABASE_DOWN = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
_TABLE = NotifyCursor.__table__


def valid_update_id(value: object) -> bool:
    """Telegram's update ids are non-negative and fit in 52 bits (its documentation's promise)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_UPDATE_ID


def cursor_name(settings: Settings) -> str:
    """ "telegram:<bot id>": a bot's update ids mean nothing to another bot."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    bot_id = token.partition(":")[0]
    return f"{CURSOR}:{bot_id}" if bot_id.isdigit() and len(bot_id) <= 20 else CURSOR


def cursor(session: Session, name: str, now: datetime | None = None) -> int:
    """The next update id to ask for; 0 (from whatever Telegram holds) when none or stale."""
    row = session.execute(sa.select(_TABLE.c.value, _TABLE.c.updated_at).where(_TABLE.c.name == name)).first()
    if row is None or _as_utc(row.updated_at) < (now or utcnow()) - STALE_AFTER:
        return 0
    return int(row.value)


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ensure_cursor(session: Session, name: str, now: datetime) -> None:
    exists = session.execute(sa.select(_TABLE.c.name).where(_TABLE.c.name == name)).first()
    if exists is None:  # the insert races harmlessly
        statement = dialect_insert(session)(_TABLE).on_conflict_do_nothing(index_elements=["name"])
        session.execute(statement, [{"name": name, "value": 0, "updated_at": now}])
    session.commit()


def _claim(session: Session, name: str, update_id: int, now: datetime) -> bool:
    """Move the cursor past this update in the open transaction; False when it was handled already."""
    moved = session.execute(
        sa.update(_TABLE)
        .where(
            _TABLE.c.name == name,
            sa.or_(_TABLE.c.value <= update_id, _TABLE.c.updated_at < now - STALE_AFTER),
        )
        .values(value=update_id + 1, updated_at=now)
    ).rowcount
    return bool(moved)


def process_update(
    engine: sa.Engine,
    update: dict[str, Any],
    *,
    settings: Settings,
    venues: VenueRegistry,
    now: datetime | None = None,
) -> list[Reply] | None:
    """Handle one update exactly once: the replies to send, or None when it was handled before."""
    update_id = update.get("update_id")
    if not valid_update_id(update_id):
        return None
    now = now or utcnow()
    name = cursor_name(settings)
    with Session(engine, expire_on_commit=False) as session:
        _ensure_cursor(session, name, now)
        if not _claim(session, name, update_id, now):
            session.rollback()
            return None
        try:
            replies = handle_update(session, update, settings=settings, venues=venues, now=now)
        except DATABASE_DOWN:  # not the update's fault: leave it for the next try
            session.rollback()
            raise
        except Exception:  # a bug must not wedge the bot on one update forever: skip it, loudly
            session.rollback()
            logger.exception("telegram: handling update %s failed; skipped", update_id)
            replies = []
        # A service that committed took the claim along; one that refused (and rolled back) undid it:
        # claim again, which finds the cursor past the update in the first case and changes nothing.
        _claim(session, name, update_id, now)
        session.commit()
    return replies


def send_replies(client: TelegramClient, replies: Iterable[Reply]) -> int:
    """Make the calls; one that Telegram refuses is logged and the rest still go. How many went through."""
    sent = 0
    for reply in replies:
        params = dict(reply.params)
        try:
            if reply.method == "sendMessage":
                client.send_message(params.pop("chat_id"), params.pop("text"), **params)
            elif reply.method == "editMessageText":
                client.edit_message_text(
                    params.pop("chat_id"), params.pop("message_id"), params.pop("text"), **params
                )
            elif reply.method == "answerCallbackQuery":
                client.answer_callback_query(params["callback_query_id"], params.get("text"))
            else:
                raise ValueError(f"unknown Bot API call {reply.method}")
            sent += 1
        except TelegramError as e:
            logger.warning("telegram: %s failed: %s", reply.method, e.description)
    return sent


def poll_once(
    engine: sa.Engine,
    client: TelegramClient,
    *,
    settings: Settings,
    venues: VenueRegistry,
    timeout: int = 25,
    limit: int = 100,
    now: datetime | None = None,
) -> int:
    """One getUpdates long poll from the stored cursor, every update handled and answered; how many were
    handled (ones handled before and served again do not count). TelegramError when Telegram cannot be
    asked."""
    with Session(engine) as session:
        offset = cursor(session, cursor_name(settings), now)
    updates = client.get_updates(offset or None, timeout=timeout, limit=limit)
    handled = 0
    for update in sorted(updates, key=lambda u: u["update_id"]):
        replies = process_update(engine, update, settings=settings, venues=venues, now=now)
        if replies is not None:
            handled += 1
            send_replies(client, replies)
    return handled


WEBHOOK_PATH = "/api/v1/telegram/updates"
LEASE = "telegram"


def ensure_update_mode(client: TelegramClient, settings: Settings) -> bool:
    """Tell Telegram how updates reach us: webhook mode when TELEGRAM_WEBHOOK_SECRET is set (True), else
    polling, with any webhook left from before removed (getUpdates refuses to run beside one)."""
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    if secret:
        client.set_webhook(settings.frontend_url + WEBHOOK_PATH, secret)
        return True
    client.delete_webhook()
    return False


def poll_for(
    engine: sa.Engine,
    client: TelegramClient,
    *,
    settings: Settings,
    venues: VenueRegistry,
    seconds: float,
    holder: str,
    poll_seconds: int = 25,
) -> int:
    """Long-poll for about `seconds` while holding the "telegram" lease (one poller across workers:
    Telegram answers a second concurrent getUpdates with 409); how many updates were handled. A holder
    that dies stops renewing, and the lease lapses after three polls' time."""
    ttl = timedelta(seconds=poll_seconds * 3)
    deadline = time.monotonic() + seconds
    handled = 0
    with Session(engine) as session:
        try:
            while (left := deadline - time.monotonic()) > 0.5:
                if not acquire_lease(session, LEASE, holder, ttl, utcnow()):
                    time.sleep(min(5.0, left))
                    continue
                try:
                    wait = max(0, min(poll_seconds, int(left)))
                    handled += poll_once(engine, client, settings=settings, venues=venues, timeout=wait)
                except TelegramError as e:
                    logger.warning("telegram: getUpdates failed: %s", e.description)
                    time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        finally:
            release_lease(session, LEASE, holder, utcnow())
    return handled
