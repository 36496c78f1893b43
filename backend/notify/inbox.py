"""The in-app inbox: a user's in-app deliveries, newest first, each rendered as its title and figures.

An in-app delivery is the inbox item itself (created DELIVERED by the consumer); `read_at` is its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.db import among
from backend.models import NotificationDelivery, NotificationEvent
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel
from backend.notify.render import render

MAX_PAGE = 200


@dataclass(frozen=True)
class InboxItem:
    id: int  # the delivery's id: what `mark_read` takes
    event_type: str
    title: str
    lines: tuple[tuple[str, str], ...]
    path: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    total: int  # items matching the filter
    unread: int  # unread items in the whole inbox


def _mine(user_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(NotificationDelivery.user_id) == user_id,
        col(NotificationDelivery.channel) == NotificationChannel.IN_APP.value,
    )


def unread_count(session: Session, user_id: int) -> int:
    query = select(func.count()).select_from(NotificationDelivery)
    return session.exec(query.where(_mine(user_id), col(NotificationDelivery.read_at).is_(None))).one()


def list_items(
    session: Session, user_id: int, *, limit: int = 50, offset: int = 0, unread_only: bool = False
) -> InboxPage:
    """One page, newest first; `unread_only` leaves out what was read."""
    where = [_mine(user_id)]
    if unread_only:
        where.append(col(NotificationDelivery.read_at).is_(None))
    total = session.exec(select(func.count()).select_from(NotificationDelivery).where(*where)).one()
    rows = session.exec(
        select(NotificationDelivery, NotificationEvent)
        .join(NotificationEvent, col(NotificationEvent.id) == col(NotificationDelivery.event_id))
        .where(*where)
        .order_by(col(NotificationEvent.created_at).desc(), col(NotificationDelivery.id).desc())
        .limit(max(1, min(limit, MAX_PAGE)))
        .offset(max(0, offset))
    ).all()
    items = []
    for delivery, event in rows:
        message = render(event.type, event.payload)
        items.append(
            InboxItem(
                delivery.id, event.type, message.title, message.lines, message.path, event.created_at,
                delivery.read_at,
            )
        )  # fmt: skip
    unread = total if unread_only else unread_count(session, user_id)
    return InboxPage(items, total, unread)


def mark_read(session: Session, user_id: int, ids: list[int] | None) -> int:
    """Mark these items read (None: all); another user's ids are left alone. Returns how many; commits."""
    query = sa.update(NotificationDelivery).where(_mine(user_id), col(NotificationDelivery.read_at).is_(None))
    if ids is not None:
        if not ids:
            return 0
        query = query.where(among(col(NotificationDelivery.id), set(ids)))
    changed = session.execute(query.values(read_at=utcnow())).rowcount
    session.commit()
    return changed
