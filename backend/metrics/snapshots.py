"""Daily PnL snapshots: one row per deployment (reference books included) per UTC day, written by a task.

A snapshot is the book at the end of its day (or at `now` for today): equity, the PnL realised during the
day, the open positions' PnL at the last tick at or before that moment, and the day's cash flow (the
capital, on the day a deployment starts), so returns over snapshots are time-weighted. Everything is read
from stored positions and ticks as of that moment, so writing a day twice writes the same row: the task is
idempotent on (deployment, day) and a rebuild may rewrite past days.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.models import AgentDeployment, PnlSnapshot, Position
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus, Side
from backend.monitor.equity import last_ticks, own_capital
from backend.trading.book import unrealized_pnl
from backend.trading.money import money

logger = logging.getLogger(__name__)

ZERO = Decimal(0)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def write_snapshots(session: Session, day: date, now: datetime | None = None) -> int:
    """Write (or rewrite) `day`'s snapshot of every deployment alive that day; returns how many."""
    now = now or utcnow()
    start, end = day_bounds(day)
    at = min(end, now)
    if at <= start:
        return 0
    deployments = session.exec(
        select(AgentDeployment)
        .where(
            col(AgentDeployment.created_at) < at,
            AgentDeployment.status != DeploymentStatus.PENDING_APPROVAL,
            sa.or_(col(AgentDeployment.cancelled_at).is_(None), col(AgentDeployment.cancelled_at) >= start),
        )
        .order_by(col(AgentDeployment.id))
    ).all()
    ids = [d.id for d in deployments]
    realized_total, realized_day = _realized(session, ids, start, at)
    unrealized = _unrealized(session, ids, at)
    for d in deployments:
        capital = own_capital(d)
        equity = capital + realized_total.get(d.id, ZERO) + unrealized.get(d.id, ZERO)
        _upsert(
            session,
            {
                "deployment_id": d.id,
                "day": day,
                "equity": money(equity),
                "realized_pnl": money(realized_day.get(d.id, ZERO)),
                "unrealized_pnl": money(unrealized.get(d.id, ZERO)),
                "net_flow_usd": money(capital if start <= d.created_at < end else ZERO),
                "created_at": now,
            },
        )
    session.commit()
    logger.info("PnL snapshots of %s: %d deployments", day, len(deployments))
    return len(deployments)


def write_daily_snapshots(session: Session, now: datetime | None = None) -> int:
    """The task's work: the day that just ended (final) and today so far; returns rows written."""
    now = now or utcnow()
    today = now.date()
    return write_snapshots(session, today - timedelta(days=1), now) + write_snapshots(session, today, now)


def _realized(
    session: Session, ids: list[int], start: datetime, at: datetime
) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Per deployment: PnL realised up to `at`, and the part of it realised since `start`."""
    total: dict[int, Decimal] = defaultdict(lambda: ZERO)
    day: dict[int, Decimal] = defaultdict(lambda: ZERO)
    if not ids:
        return total, day
    rows = session.exec(
        select(Position.deployment_id, Position.closed_at, Position.realized_pnl).where(
            col(Position.deployment_id).in_(ids),
            col(Position.realized_pnl).is_not(None),
            col(Position.closed_at).is_not(None),
            col(Position.closed_at) < at,
        )
    ).all()
    for deployment_id, closed_at, pnl in rows:
        total[deployment_id] += pnl
        if closed_at >= start:
            day[deployment_id] += pnl
    return total, day


def _unrealized(session: Session, ids: list[int], at: datetime) -> dict[int, Decimal]:
    """Per deployment: what was open at `at`, marked at the last tick before it (flat without one)."""
    if not ids:
        return {}
    positions = session.exec(
        select(Position).where(
            col(Position.deployment_id).in_(ids),
            col(Position.opened_at) < at,
            sa.or_(col(Position.closed_at).is_(None), col(Position.closed_at) >= at),
        )
    ).all()
    mids = last_ticks(session, {(p.venue, p.market) for p in positions}, at)
    pnl: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for p in positions:
        price = mids.get((p.venue, p.market))
        if price is not None:
            pnl[p.deployment_id] += unrealized_pnl(Side(p.side), p.entry_price, price, p.size)
    return pnl


def _upsert(session: Session, values: dict) -> None:
    """One row per (deployment, day): the database decides, so racing writers leave one row."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(PnlSnapshot.__table__).values(**values)
    changed = {k: statement.excluded[k] for k in ("equity", "realized_pnl", "unrealized_pnl", "net_flow_usd")}
    session.execute(statement.on_conflict_do_update(index_elements=["deployment_id", "day"], set_=changed))
