"""Linking a Telegram chat to a Maxxit user: a one-time code from the settings page, `/start <code>` in
Telegram, unlinking from either side.

Only the sha256 of a code is stored; it works once, for 15 minutes, and a new code voids the user's unused
ones. One chat per user and one user per chat: linking replaces whatever either had before (a user who
links a second chat moves their alerts there; a chat linked to another account is moved to the code's
user, and that account is told nothing but loses the link, audited as unlinked). Every change is audited.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend import audit
from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.models import TelegramLink, TelegramLinkCode, User
from backend.models.common import utcnow
from backend.models.enums import Role
from backend.notify.telegram.client import TelegramClient, TelegramError

logger = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=15)
CODE_BYTES = 24  # 32 url-safe characters: within Telegram's 64-character start parameter
BY_WEB, BY_TELEGRAM, BY_DELIVERY = "web", "telegram", "delivery"


class TelegramNotConfigured(RuntimeError):
    """TELEGRAM_BOT_TOKEN is not set: there is no bot to link to."""


class TelegramUnavailable(RuntimeError):
    """The bot's username is not configured and Telegram could not be asked for it."""


class LinkRefused(ValueError):
    """A `/start` code that is unknown, used or expired (one message for all: a guesser learns nothing)."""


@dataclass(frozen=True)
class TelegramStatus:
    configured: bool
    linked: bool
    username: str | None
    linked_at: datetime | None
    bot_username: str | None


@dataclass(frozen=True)
class LinkCode:
    code: str
    url: str
    expires_at: datetime


def configured(settings: Settings) -> bool:
    return settings.telegram_bot_token is not None and bool(settings.telegram_bot_token.get_secret_value())


CLIENT_TIMEOUT_SECONDS = 10.0


def client_for(settings: Settings, *, timeout: float = CLIENT_TIMEOUT_SECONDS) -> TelegramClient:
    if not configured(settings):
        raise TelegramNotConfigured("Telegram is not configured (TELEGRAM_BOT_TOKEN)")
    token = settings.telegram_bot_token.get_secret_value()  # type: ignore[union-attr]
    return TelegramClient(settings.telegram_api_base_url, token, timeout=timeout)


_usernames: dict[tuple[str, str], str] = {}
_failed_at: dict[tuple[str, str], float] = {}  # getMe failures: not asked again for a minute
_usernames_lock = threading.Lock()
RETRY_GET_ME_SECONDS = 60.0


def bot_username(settings: Settings) -> str | None:
    """TELEGRAM_BOT_USERNAME, else the bot's own answer to getMe (asked once per process and bot, at most
    once a minute while Telegram cannot answer); None when Telegram is off or cannot be asked right now."""
    if not configured(settings):
        return None
    if settings.telegram_bot_username:
        return settings.telegram_bot_username
    key = (settings.telegram_api_base_url, settings.telegram_bot_token.get_secret_value())  # type: ignore[union-attr]
    with _usernames_lock:
        if key in _usernames:
            return _usernames[key]
        if time.monotonic() - _failed_at.get(key, -RETRY_GET_ME_SECONDS) < RETRY_GET_ME_SECONDS:
            return None
    try:
        with client_for(settings, timeout=5.0) as client:
            name = client.get_me().username
    except TelegramError as e:
        logger.warning("telegram: getMe failed: %s", e.description)
        name = ""
    with _usernames_lock:
        if name:
            _usernames[key] = name
        else:
            _failed_at[key] = time.monotonic()
    return name or None


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def telegram_status(session: Session, user_id: int, settings: Settings) -> TelegramStatus:
    link = session.exec(select(TelegramLink).where(TelegramLink.user_id == user_id)).first()
    return TelegramStatus(
        configured=configured(settings),
        linked=link is not None,
        username=link.username if link else None,
        linked_at=link.linked_at if link else None,
        bot_username=bot_username(settings),
    )


def new_link_code(
    session: Session, user: CurrentUser, settings: Settings, *, now: datetime | None = None
) -> LinkCode:
    """A fresh one-time code and its t.me deep link; the user's unused codes stop working. Commits."""
    if not configured(settings):
        raise TelegramNotConfigured("Telegram is not configured on this server")
    username = bot_username(settings)
    if username is None:
        raise TelegramUnavailable("Telegram cannot be reached right now; try again in a minute")
    now = now or utcnow()
    code = secrets.token_urlsafe(CODE_BYTES)
    expires = now + CODE_TTL
    try:
        session.execute(
            sa.delete(TelegramLinkCode).where(
                col(TelegramLinkCode.user_id) == user.id, col(TelegramLinkCode.used_at).is_(None)
            )
        )
        session.add(
            TelegramLinkCode(user_id=user.id, code_hash=code_hash(code), expires_at=expires, created_at=now)
        )
        audit.record_by(session, user, Action.TELEGRAM_LINK_CODE, "user", user.id, {}, None)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return LinkCode(code=code, url=f"https://t.me/{username}?start={code}", expires_at=expires)


def acting_user(session: Session, user_id: int) -> CurrentUser | None:
    """The user a linked chat acts for, as the auth layer describes a signed-in user (without a session)."""
    user = session.get(User, user_id)
    if user is None or user.id is None:
        return None
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


def linked_user(session: Session, chat_id: int) -> CurrentUser | None:
    """Who this chat is linked to, or None."""
    link = session.exec(select(TelegramLink).where(TelegramLink.chat_id == chat_id)).first()
    return None if link is None else acting_user(session, link.user_id)


def link_chat(
    session: Session, code: str, chat_id: int, username: str | None, *, now: datetime | None = None
) -> CurrentUser:
    """`/start <code>`: link the chat to the code's user and use the code up. Commits; LinkRefused if the
    code is unknown, used or expired (nothing changes then)."""
    now = now or utcnow()
    try:
        row = session.exec(
            select(TelegramLinkCode).where(TelegramLinkCode.code_hash == code_hash(code))
        ).first()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise LinkRefused("this link code is not valid or has expired")
        # Use it up race-free: of two /start with one code, one wins.
        won = session.execute(
            sa.update(TelegramLinkCode)
            .where(col(TelegramLinkCode.id) == row.id, col(TelegramLinkCode.used_at).is_(None))
            .values(used_at=now)
        ).rowcount
        user = acting_user(session, row.user_id)
        if not won or user is None:
            raise LinkRefused("this link code is not valid or has expired")
        _replace_links(session, user, chat_id, now)
        session.add(TelegramLink(user_id=user.id, chat_id=chat_id, username=_clean(username), linked_at=now))
        details = {"username": _clean(username), "by": BY_TELEGRAM}
        audit.record_by(session, user, Action.TELEGRAM_LINKED, "user", user.id, details, None)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    logger.info("telegram: user %s linked a chat", user.id)
    return user


def _replace_links(session: Session, user: CurrentUser, chat_id: int, now: datetime) -> None:
    """Drop the user's previous chat and the chat's previous user, each audited as an unlink."""
    old = session.exec(
        select(TelegramLink)
        .where(sa.or_(col(TelegramLink.user_id) == user.id, col(TelegramLink.chat_id) == chat_id))
        .order_by(col(TelegramLink.id))
    ).all()
    for link in old:
        if (link.user_id, link.chat_id) == (user.id, chat_id):
            session.delete(link)  # the same chat linked again: no change worth a line
            continue
        reason = "replaced by a new chat" if link.user_id == user.id else "chat linked to another account"
        audit.record(
            session,
            action=Action.TELEGRAM_UNLINKED,
            entity_type="user",
            entity_id=link.user_id,
            actor=user.address,
            actor_user_id=user.id,
            details={"by": BY_TELEGRAM, "reason": reason},
        )
        session.delete(link)
    session.flush()


def unlink(session: Session, user: CurrentUser) -> bool:
    """Unlink the user's chat from the settings page. Commits; False when nothing was linked."""
    try:
        link = session.exec(select(TelegramLink).where(TelegramLink.user_id == user.id)).first()
        if link is None:
            return False
        session.delete(link)
        audit.record_by(session, user, Action.TELEGRAM_UNLINKED, "user", user.id, {"by": BY_WEB}, None)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return True


def unlink_chat(session: Session, chat_id: int, *, by: str, reason: str | None = None) -> int | None:
    """Unlink a chat from Telegram's side (`/unlink`, or the bot was blocked). Not committed: the caller's
    transaction holds it. The user id it was linked to, or None."""
    link = session.exec(select(TelegramLink).where(TelegramLink.chat_id == chat_id)).first()
    if link is None:
        return None
    user_id = link.user_id
    user = acting_user(session, user_id)
    session.delete(link)
    details = {"by": by, **({"reason": reason} if reason else {})}
    if by == BY_TELEGRAM and user is not None:
        audit.record_by(session, user, Action.TELEGRAM_UNLINKED, "user", user_id, details, None)
    else:
        audit.record(
            session, action=Action.TELEGRAM_UNLINKED, entity_type="user", entity_id=user_id, details=details
        )
    return user_id


def _clean(username: str | None) -> str | None:
    return username[:64] if username else None
