"""How long notifications are kept: the outbox and its deliveries would otherwise grow with every trade.

An event older than NOTIFY_RETENTION_DAYS goes, with its deliveries and their attempt log, once nothing of
it is still to be sent (every delivery DELIVERED, DEAD or SKIPPED, or it never had one). An event still
being retried stays until its retries end. Deleted in batches, so one pass never holds long locks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from backend.models import DeliveryAttempt, NotificationDelivery, NotificationEvent
from backend.models.enums import DeliveryStatus

BATCH = 1000
OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value, DeliveryStatus.FAILED.value)


def prune(session: Session, now: datetime, keep: timedelta, *, batch: int = BATCH) -> int:
    """Delete finished events older than `keep` (with their deliveries and attempts); how many went."""
    events = NotificationEvent.__table__
    deliveries = NotificationDelivery.__table__
    attempts = DeliveryAttempt.__table__
    still_open = (
        sa.select(deliveries.c.id)
        .where(deliveries.c.event_id == events.c.id, deliveries.c.status.in_(OPEN))
        .exists()
    )
    removed = 0
    while True:
        ids = list(
            session.execute(
                sa.select(events.c.id)
                .where(events.c.created_at < now - keep, events.c.dispatched_at.is_not(None), ~still_open)
                .order_by(events.c.id)
                .limit(batch)
            ).scalars()
        )
        if not ids:
            return removed
        delivery_ids = sa.select(deliveries.c.id).where(deliveries.c.event_id.in_(ids))
        session.execute(sa.delete(attempts).where(attempts.c.delivery_id.in_(delivery_ids)))
        session.execute(sa.delete(deliveries).where(deliveries.c.event_id.in_(ids)))
        session.execute(sa.delete(events).where(events.c.id.in_(ids)))
        session.commit()
        removed += len(ids)
