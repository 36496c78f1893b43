"""The daily metrics run: every book's PnL snapshot for the day that ended, and impact factors once a day."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from backend.metrics.impact import refresh_impact_factors
from backend.metrics.snapshots import write_daily_snapshots
from backend.models.common import utcnow

logger = logging.getLogger(__name__)


def run_daily_metrics(session: Session, now: datetime | None = None) -> int:
    """Snapshots (idempotent per deployment and day) then impact factors; returns the snapshots written."""
    now = now or utcnow()
    written = write_daily_snapshots(session, now)
    refresh_impact_factors(session, now)
    session.commit()
    return written
