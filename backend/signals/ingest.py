"""Storing posts: each post once per source and external id, whoever delivers it and however often.

Sources (X API, the sample feed) hand over `RawPost`s; operators paste manual posts. Both land here and
return the ids of the posts that are new, which the caller hands to the classifier queue.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from backend import audit
from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.db import insert_or_ignore
from backend.models import CtAccount, CtPost
from backend.models.common import utcnow
from backend.models.enums import PostSource
from backend.signals.errors import CtAccountNotFound, InputRejected
from backend.signals.types import RawPost

logger = logging.getLogger(__name__)

MAX_POST_CHARS = 4000
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,48}$")


def followed_accounts(session: Session, *, active_only: bool = True) -> dict[str, CtAccount]:
    """Accounts the platform follows by lower-cased handle; removed ones never, paused ones on request."""
    query = select(CtAccount).where(col(CtAccount.removed_at).is_(None))
    if active_only:
        query = query.where(col(CtAccount.is_active).is_(True))
    return {a.handle.lower(): a for a in session.exec(query)}


def store_posts(session: Session, source: PostSource, posts: Iterable[RawPost]) -> list[int]:
    """Store the posts of followed, active accounts; return the ids of those not stored before.

    Commits. Posts of unknown, paused or removed accounts are dropped (logged at debug); sample-feed posts
    are stored only for demo accounts (`CtAccount.is_demo`), never for a real account of the same handle.
    """
    accounts = followed_accounts(session)
    new_ids: list[int] = []
    for post in posts:
        account = accounts.get(post.handle.lower())
        if account is None:
            logger.debug("dropping %s post %s: @%s is not followed", source, post.external_id, post.handle)
            continue
        if source == PostSource.SAMPLE and not account.is_demo:
            # The bundled posts are made up: attributed to a real account they would be traded as its calls.
            logger.warning(
                "refusing sample post %s: @%s is not a demo account", post.external_id, post.handle
            )
            continue
        post_id = insert_or_ignore(
            session,
            CtPost,
            {
                "ct_account_id": account.id,
                "source": source.value,
                "external_id": post.external_id[:64],
                "text": post.text[:MAX_POST_CHARS],
                "posted_at": post.posted_at,
                "ingested_at": utcnow(),
            },
            ["source", "external_id"],
        )
        if post_id is not None:
            new_ids.append(post_id)
        if source == PostSource.X_API:
            account.last_seen_external_id = _later_id(account.last_seen_external_id, post.external_id)
            session.add(account)
    session.commit()
    if new_ids:
        logger.info("stored %d new %s post(s)", len(new_ids), source)
    return new_ids


def store_manual_post(
    session: Session,
    *,
    ct_account_id: int,
    text: str,
    actor: CurrentUser,
    posted_at: datetime | None = None,
    idempotency_key: str | None = None,
    ip: str | None = None,
) -> tuple[CtPost, bool]:
    """An operator's pasted post; returns it and whether it is new.

    With an idempotency key a retried request returns the first post instead of storing a second one.
    Commits the post with its audit row.
    """
    text = (text or "").strip()
    if not text:
        raise InputRejected("text", "the post's text is empty")
    if len(text) > MAX_POST_CHARS:
        raise InputRejected("text", f"at most {MAX_POST_CHARS} characters")
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise InputRejected("idempotency_key", "8-48 characters of letters, digits, _ . : -")
    now = utcnow()
    if posted_at is not None and (posted_at.tzinfo is None or posted_at > now):
        raise InputRejected("posted_at", "a UTC time that is not in the future")
    account = session.get(CtAccount, ct_account_id)
    if account is None or account.removed_at is not None:
        raise CtAccountNotFound(ct_account_id)

    external_id = f"manual-{idempotency_key or uuid.uuid4().hex}"
    values = {
        "ct_account_id": account.id,
        "source": PostSource.MANUAL.value,
        "external_id": external_id,
        "text": text,
        "posted_at": posted_at or now,
        "ingested_at": now,
    }
    post_id = insert_or_ignore(session, CtPost, values, ["source", "external_id"])
    if post_id is None:
        session.rollback()
        existing = session.exec(
            select(CtPost).where(CtPost.source == PostSource.MANUAL, CtPost.external_id == external_id)
        ).one()
        if existing.ct_account_id != account.id or existing.text != text:
            raise InputRejected("idempotency_key", "this key was already used for a different post")
        return existing, False
    details = {"ct_account": account.handle, "chars": len(text)}
    audit.record_by(session, actor, Action.POST_MANUAL, "ct_post", post_id, details, ip)
    session.commit()
    post = session.get(CtPost, post_id)
    assert post is not None
    return post, True


def _later_id(current: str | None, candidate: str) -> str:
    """X ids are snowflakes: numerically larger is later. Non-numeric ids keep the current cursor."""
    if not candidate.isdigit():
        return current or candidate
    if current is None or not current.isdigit() or int(candidate) > int(current):
        return candidate
    return current
