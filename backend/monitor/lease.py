"""A lock across processes that lapses on its own: one monitor cycle at a time, even if a holder dies.

The holder renews it every cycle; if the process dies, the lease expires after its time to live and the next
monitor takes over. Both databases: a conditional UPDATE, else an INSERT that loses quietly to a racer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from backend.models import Lease

_TABLE = Lease.__table__


def acquire_lease(session: Session, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take or renew `name` for `holder` until now + ttl; False when someone else holds it. Commits."""
    expires = now + ttl
    renewed = session.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.name == name, sa.or_(_TABLE.c.expires_at < now, _TABLE.c.holder == holder))
        .values(holder=holder, expires_at=expires)
    ).rowcount
    if not renewed:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT here.
        renewed = session.execute(
            insert(_TABLE)
            .values(name=name, holder=holder, expires_at=expires)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(_TABLE.c.name)
        ).scalar_one_or_none()
    session.commit()
    return bool(renewed)


def release_lease(session: Session, name: str, holder: str, now: datetime) -> None:
    session.execute(
        sa.update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == holder).values(expires_at=now)
    )
    session.commit()
