"""The daily pass deletes finished notifications older than the retention, and keeps anything still being
retried and anything recent (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from backend.models import DeliveryAttempt, NotificationDelivery, NotificationEvent
from backend.models.common import utcnow
from backend.models.enums import DeliveryStatus, NotificationChannel
from backend.notify.dispatch import run_once
from backend.notify.events import EventType, emit
from backend.notify.retention import prune
from tests.factories import Factory
from tests.notify_support import ScriptedSender

KEEP = timedelta(days=90)


def _age(session: Session, key: str, days: int) -> None:
    table = NotificationEvent.__table__
    session.execute(
        sa.update(table).where(table.c.key == key).values(created_at=utcnow() - timedelta(days=days))
    )
    session.commit()


def _retrying(session: Session, key: str) -> None:
    deliveries, events = NotificationDelivery.__table__, NotificationEvent.__table__
    event_id = select(events.c.id).where(events.c.key == key).scalar_subquery()
    session.execute(
        sa.update(deliveries)
        .where(deliveries.c.event_id == event_id, deliveries.c.channel == NotificationChannel.TELEGRAM.value)
        .values(status=DeliveryStatus.FAILED.value, next_attempt_at=utcnow() + timedelta(minutes=5))
    )
    session.commit()


def test_old_finished_events_go_with_their_deliveries_and_attempts(
    engine, session: Session, factory: Factory
) -> None:
    user = factory.user()
    for key in ("old-delivered", "old-retrying", "recent"):
        emit(session, user_id=user.id, type=EventType.POSITION_CLOSED, key=key, payload={})
    session.commit()
    run_once(engine, {NotificationChannel.TELEGRAM: ScriptedSender(NotificationChannel.TELEGRAM)})
    _retrying(session, "old-retrying")  # its Telegram message failed and waits for the next try
    _age(session, "old-delivered", 91)
    _age(session, "old-retrying", 91)

    assert prune(session, utcnow(), KEEP, batch=1) == 1

    session.expire_all()
    left = list(session.exec(select(NotificationEvent.key).order_by(NotificationEvent.key)))
    assert left == ["old-retrying", "recent"]
    kept_deliveries = session.exec(select(sa.func.count()).select_from(NotificationDelivery)).one()
    assert kept_deliveries == 4  # in-app and Telegram for each of the two kept events
    statuses = sorted(session.exec(select(NotificationDelivery.status)))
    assert DeliveryStatus.FAILED in statuses
    orphans = session.exec(
        select(sa.func.count())
        .select_from(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.not_in(select(NotificationDelivery.id)))
    ).one()
    assert orphans == 0


def test_nothing_recent_goes(session: Session, factory: Factory) -> None:
    user = factory.user()
    emit(session, user_id=user.id, type=EventType.NEW_SIGN_IN, key="k", payload={})
    session.commit()
    assert prune(session, utcnow(), KEEP) == 0
