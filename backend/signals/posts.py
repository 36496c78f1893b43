"""Reading stored CT posts with their classification, for operators and the public API.

A post is "pending" until a classifier has read it, then "signal" or "not_signal"; `signals_count` says how
many agents traded on it. Posts of paused or removed accounts stay readable: they are history.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, func, select

from backend.models import CtAccount, CtPost, Signal
from backend.signals.errors import PostNotFound

MAX_PAGE_SIZE = 100
MAX_ID = 2**31 - 1

PostStatus = Literal["pending", "signal", "not_signal"]


class PostOut(BaseModel):
    id: int
    ct_account_id: int
    handle: str
    source: str
    external_id: str
    text: str
    posted_at: datetime
    ingested_at: datetime
    is_signal: bool | None
    token: str | None
    side: str | None
    confidence: Decimal | None
    reasoning: str | None
    classifier: str | None
    classified_at: datetime | None
    signals_count: int
    status: PostStatus


class PostQuery(BaseModel):
    """Filters and page of the posts list; `token` matches case-insensitively."""

    model_config = ConfigDict(extra="forbid")

    ct_account_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    is_signal: bool | None = None
    token: str | None = Field(default=None, max_length=16)
    limit: int = Field(default=25, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("token")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        value = (value or "").strip().upper()
        return value or None


class PostPage(BaseModel):
    items: list[PostOut]
    total: int
    limit: int
    offset: int


def post_status(is_signal: bool | None) -> PostStatus:
    if is_signal is None:
        return "pending"
    return "signal" if is_signal else "not_signal"


def list_posts(session: Session, query: PostQuery) -> PostPage:
    """Newest first by when the post was written (then by id, so pages never overlap)."""
    conditions = _conditions(query)
    total = session.exec(select(func.count()).select_from(CtPost).where(*conditions)).one()
    rows = session.exec(
        _with_handle_and_signals()
        .where(*conditions)
        .order_by(col(CtPost.posted_at).desc(), col(CtPost.id).desc())
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    items = [_post_out(post, handle, signals) for post, handle, signals in rows]
    return PostPage(items=items, total=total, limit=query.limit, offset=query.offset)


def get_post(session: Session, post_id: int) -> PostOut:
    row = session.exec(_with_handle_and_signals().where(CtPost.id == post_id)).first()
    if row is None:
        raise PostNotFound(post_id)
    post, handle, signals = row
    return _post_out(post, handle, signals)


def _conditions(query: PostQuery) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if query.ct_account_id is not None:
        conditions.append(col(CtPost.ct_account_id) == query.ct_account_id)
    if query.is_signal is not None:
        conditions.append(col(CtPost.is_signal).is_(query.is_signal))
    if query.token is not None:
        conditions.append(func.upper(CtPost.token) == query.token)
    return conditions


def _with_handle_and_signals() -> sa.Select:
    signals = (
        select(func.count())
        .select_from(Signal)
        .where(Signal.post_id == CtPost.id)
        .correlate(CtPost)
        .scalar_subquery()
    )
    return select(CtPost, CtAccount.handle, signals.label("signals_count")).join(
        CtAccount, col(CtAccount.id) == CtPost.ct_account_id
    )


def _post_out(post: CtPost, handle: str, signals_count: int) -> PostOut:
    return PostOut(
        id=post.id,
        ct_account_id=post.ct_account_id,
        handle=handle,
        source=post.source,
        external_id=post.external_id,
        text=post.text,
        posted_at=post.posted_at,
        ingested_at=post.ingested_at,
        is_signal=post.is_signal,
        token=post.token,
        side=post.side,
        confidence=post.confidence,
        reasoning=post.reasoning,
        classifier=post.classifier,
        classified_at=post.classified_at,
        signals_count=signals_count or 0,
        status=post_status(post.is_signal),
    )
