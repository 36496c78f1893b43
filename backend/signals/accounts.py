"""The CT accounts the platform follows, as operators manage them: add, pause, resume, remove.

Removing keeps the account's row, posts and signals (history keeps meaning what it meant); adding the handle
again restores it. Each write commits together with its audit row, or rolls back and raises, leaving nothing
written. Handles compare case-insensitively, as X's do.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from backend import audit
from backend.audit import Action
from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.db import transaction
from backend.models import AgentAccount, CtAccount, CtPost
from backend.models.common import utcnow
from backend.signals.errors import CtAccountNotFound, InputRejected

logger = logging.getLogger(__name__)

ENTITY = "ct_account"
HANDLE_RULE = "1-15 letters, digits or underscores, as on X"
DISPLAY_NAME_MAX = 64
FOLLOWERS_MAX = 2**31 - 1
ALREADY_FOLLOWED = "already followed"
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")

AccountStatus = Literal["active", "paused"]


class CtAccountAdmin(BaseModel):
    """One followed account as the operators' table shows it."""

    id: int
    handle: str
    display_name: str
    status: AccountStatus
    followers_count: int
    impact_factor: Decimal
    impact_calls: int  # the calls the impact factor rests on (reference-book trades, trailing 90 days)
    posts_count: int
    signal_posts_count: int
    last_post_at: datetime | None
    agents_following: int
    created_at: datetime


def normalize_handle(handle: str) -> str:
    """`" @OrbitCaller "` -> `"OrbitCaller"`; what X would not accept as a handle is refused on `handle`."""
    value = (handle or "").strip().removeprefix("@")
    if not _HANDLE.match(value):
        raise InputRejected("handle", HANDLE_RULE)
    return value


def add_account(
    session: Session,
    *,
    handle: str,
    display_name: str = "",
    followers_count: int = 0,
    actor: CurrentUser,
    ip: str | None = None,
) -> CtAccountAdmin:
    """Follow a new handle, or restore a removed account of that handle with its posts.

    A handle already followed (paused ones included) is refused, also when a concurrent request won the race.
    """
    _require_admin(actor)
    handle = normalize_handle(handle)
    display_name = _display_name(display_name)
    followers_count = _followers(followers_count)
    with transaction(session):
        _serialise_handle(session, handle)
        account = _by_handle(session, handle)
        if account is not None and account.removed_at is None:
            raise InputRejected("handle", ALREADY_FOLLOWED)
        restored = account is not None
        if account is None:
            account = CtAccount(handle=handle, display_name=display_name, followers_count=followers_count)
        else:
            account.handle, account.removed_at, account.is_active = handle, None, True
            # An operator's follow is of the real account: a removed demo one stops being the sample feed's.
            account.is_demo = False
            account.display_name = display_name or account.display_name
            account.followers_count = followers_count or account.followers_count
        session.add(account)
        _flush_or_followed(session, handle)
        details = {"handle": handle, "display_name": display_name, "restored": restored}
        audit.record_by(session, actor, Action.CT_ACCOUNT_ADDED, ENTITY, account.id, details, ip)
    logger.info("CT account @%s %s by user %s", handle, "restored" if restored else "added", actor.id)
    return _admin_row(session, account.id)


def set_account_active(
    session: Session, account_id: int, active: bool, *, actor: CurrentUser, ip: str | None = None
) -> CtAccountAdmin:
    """Pause (its new posts are not stored) or resume an account; asking for its current state is a no-op."""
    _require_admin(actor)
    with transaction(session):
        account = _locked(session, account_id)
        changed = account.is_active != active
        if changed:
            account.is_active = active
            session.add(account)
            action = Action.CT_ACCOUNT_RESUMED if active else Action.CT_ACCOUNT_PAUSED
            audit.record_by(session, actor, action, ENTITY, account.id, {"handle": account.handle}, ip)
    if changed:
        verb = "resumed" if active else "paused"
        logger.info("CT account @%s %s by user %s", account.handle, verb, actor.id)
    return _admin_row(session, account_id)


def remove_account(session: Session, account_id: int, *, actor: CurrentUser, ip: str | None = None) -> None:
    """Stop following an account; its posts and the signals made from them stay. Repeating it is harmless."""
    _require_admin(actor)
    with transaction(session):
        account = _locked(session, account_id, removed_ok=True)
        if account.removed_at is not None:
            return
        account.removed_at, account.is_active = utcnow(), False
        session.add(account)
        details = {"handle": account.handle}
        audit.record_by(session, actor, Action.CT_ACCOUNT_REMOVED, ENTITY, account.id, details, ip)
    logger.info("CT account @%s removed by user %s", account.handle, actor.id)


def list_accounts_admin(session: Session) -> list[CtAccountAdmin]:
    """Every followed account (paused ones too, removed ones not), by handle, with its post counts."""
    return _admin_rows(session, col(CtAccount.removed_at).is_(None))


# -- helpers -------------------------------------------------------------------------------------------------


def _require_admin(actor: CurrentUser) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


def _display_name(value: str) -> str:
    value = (value or "").strip()
    if len(value) > DISPLAY_NAME_MAX:
        raise InputRejected("display_name", f"at most {DISPLAY_NAME_MAX} characters")
    return value


def _followers(value: int) -> int:
    if not 0 <= value <= FOLLOWERS_MAX:
        raise InputRejected("followers_count", "a whole number of followers, 0 or more")
    return value


def _serialise_handle(session: Session, handle: str) -> None:
    """On PostgreSQL, adds of one handle in any case wait for each other until commit.

    The unique constraint is case-sensitive, so without this `OrbitCaller` and `orbitcaller` added at the
    same moment would both be inserted. SQLite serialises writers on the whole database already.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = "ct_account:" + handle.lower()
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def _by_handle(session: Session, handle: str) -> CtAccount | None:
    query = (
        select(CtAccount)
        .where(func.lower(CtAccount.handle) == handle.lower())
        .order_by(col(CtAccount.removed_at).is_not(None), CtAccount.id)  # a followed one before removed ones
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(query).first()


def _flush_or_followed(session: Session, handle: str) -> None:
    """Flush; losing the unique-handle race to a concurrent add is the same refusal as a followed handle."""
    try:
        session.flush()
    except IntegrityError as e:
        session.rollback()
        if session.exec(select(CtAccount.id).where(func.lower(CtAccount.handle) == handle.lower())).first():
            raise InputRejected("handle", ALREADY_FOLLOWED) from e
        raise


def _locked(session: Session, account_id: int, *, removed_ok: bool = False) -> CtAccount:
    """The account, locked until commit (FOR UPDATE on PostgreSQL), so concurrent changes apply in turn."""
    query = (
        select(CtAccount)
        .where(CtAccount.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    account = session.exec(query).first()
    if account is None or (account.removed_at is not None and not removed_ok):
        raise CtAccountNotFound(account_id)
    return account


def _admin_row(session: Session, account_id: int | None) -> CtAccountAdmin:
    [row] = _admin_rows(session, CtAccount.id == account_id)
    return row


def _admin_rows(session: Session, condition: sa.ColumnElement[bool]) -> list[CtAccountAdmin]:
    is_signal = sa.case((col(CtPost.is_signal).is_(True), 1), else_=0)
    posts = (
        select(
            col(CtPost.ct_account_id).label("account_id"),
            func.count().label("posts"),
            func.sum(is_signal).label("signal_posts"),
            func.max(CtPost.posted_at).label("last_post_at"),
        )
        .group_by(col(CtPost.ct_account_id))
        .subquery()
    )
    follows = (
        select(col(AgentAccount.ct_account_id).label("account_id"), func.count().label("agents"))
        .group_by(col(AgentAccount.ct_account_id))
        .subquery()
    )
    query = (
        select(CtAccount, posts.c.posts, posts.c.signal_posts, posts.c.last_post_at, follows.c.agents)
        .outerjoin(posts, posts.c.account_id == CtAccount.id)
        .outerjoin(follows, follows.c.account_id == CtAccount.id)
        .where(condition)
        .order_by(func.lower(CtAccount.handle), CtAccount.id)
    )
    return [
        CtAccountAdmin(
            id=account.id,
            handle=account.handle,
            display_name=account.display_name,
            status="active" if account.is_active else "paused",
            followers_count=account.followers_count,
            impact_factor=account.impact_factor,
            impact_calls=account.impact_calls,
            posts_count=n_posts or 0,
            signal_posts_count=n_signals or 0,
            last_post_at=last_post_at,
            agents_following=n_agents or 0,
            created_at=account.created_at,
        )
        for account, n_posts, n_signals, last_post_at, n_agents in session.exec(query)
    ]
