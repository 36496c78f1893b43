"""Is the monitor alive and within its venue budget? What operators read on /admin/monitor.

Everything comes from the monitor's own records: `monitor_cycles` (one row per cycle), the audit rows
reconciliation writes, and the positions whose close a venue refused (still CLOSING, retried with backoff:
they need an operator's eye). Nothing here asks a venue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from sqlmodel import Session, col, func, select

from backend.audit import Action
from backend.models import AgentDeployment, AuditLog, MonitorCycle, Position, User
from backend.models.enums import PositionStatus
from backend.venues.capabilities import DECLARED

# The tightest per-minute read budget a venue declares (Hyperliquid's 1200 per IP), shared by everything the
# platform sends.
VENUE_WEIGHT_PER_MINUTE = min(c.read_budget_per_minute for c in DECLARED.values() if c.read_budget_per_minute)
RECONCILE_ACTIONS = (
    Action.RECONCILE_DISCOVERED,
    Action.RECONCILE_CLOSED_OUTSIDE,
    Action.RECONCILE_SIZE_CORRECTED,
)
WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class ReconcileFinding:
    at: datetime
    action: str
    entity_type: str
    entity_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class RefusedClose:
    """A position the venue refused to close while still holding it: the monitor keeps retrying."""

    position_id: int
    deployment_id: int
    user_id: int
    user_address: str
    venue: str
    market: str
    side: str
    reason: str
    attempts: int
    next_attempt_at: datetime | None
    is_reference: bool = False  # an agent's reference book (the platform's), not the user's own


@dataclass(frozen=True)
class MonitorHealth:
    now: datetime
    last_cycle_at: datetime | None  # None: the monitor never ran
    last_cycle_age: timedelta | None
    stale: bool  # no cycle for longer than `stale_after` (or never)
    cycles_sampled: int
    median_duration_ms: Decimal | None
    max_duration_ms: Decimal | None
    positions_watched: int  # by the last cycle
    cycles_last_minute: int
    closes_last_minute: int
    venue_requests_per_minute: int  # summed over the last minute's cycles
    venue_errors_per_minute: int
    budget_per_minute: int  # what the platform lets background reads spend (RECONCILE_WEIGHT_PER_MINUTE)
    venue_limit_per_minute: int  # the venue's own ceiling (VENUE_WEIGHT_PER_MINUTE)
    findings: tuple[ReconcileFinding, ...]  # newest first
    needs_attention: tuple[RefusedClose, ...] = ()  # most attempts first

    @property
    def budget_used(self) -> Decimal:
        """Share of the budget the last minute used; above 1 means over it."""
        return Decimal(self.venue_requests_per_minute) / Decimal(self.budget_per_minute)

    @property
    def limit_used(self) -> Decimal:
        return Decimal(self.venue_requests_per_minute) / Decimal(self.venue_limit_per_minute)


def monitor_health(
    session: Session,
    *,
    now: datetime,
    budget_per_minute: int,
    sample: int = 50,
    findings: int = 10,
    attention: int = 50,
    stale_after: timedelta = timedelta(seconds=30),
) -> MonitorHealth:
    """The last `sample` cycles' figures, the last minute's request rate, the latest findings, and up to
    `attention` positions whose close a venue refused."""
    if budget_per_minute <= 0:
        raise ValueError("budget_per_minute must be positive")
    cycles = session.exec(
        select(MonitorCycle)
        .where(col(MonitorCycle.started_at) <= now)
        .order_by(col(MonitorCycle.started_at).desc(), col(MonitorCycle.id).desc())
        .limit(sample)
    ).all()
    last = cycles[0] if cycles else None
    durations = [Decimal(c.duration_ms) for c in cycles]
    minute = _last_minute(session, now)
    age = now - last.started_at if last else None
    return MonitorHealth(
        now=now,
        last_cycle_at=last.started_at if last else None,
        last_cycle_age=age,
        stale=age is None or age > stale_after,
        cycles_sampled=len(cycles),
        median_duration_ms=Decimal(median(durations)) if durations else None,
        max_duration_ms=max(durations) if durations else None,
        positions_watched=last.positions_watched if last else 0,
        cycles_last_minute=minute[0],
        closes_last_minute=minute[1],
        venue_requests_per_minute=minute[2],
        venue_errors_per_minute=minute[3],
        budget_per_minute=budget_per_minute,
        venue_limit_per_minute=VENUE_WEIGHT_PER_MINUTE,
        findings=_findings(session, findings),
        needs_attention=refused_closes(session, attention),
    )


def _last_minute(session: Session, now: datetime) -> tuple[int, int, int, int]:
    """Cycles, closes requested, venue requests and venue errors of the cycles started in the last minute."""
    row = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(MonitorCycle.closes_requested), 0),
            func.coalesce(func.sum(MonitorCycle.venue_requests), 0),
            func.coalesce(func.sum(MonitorCycle.venue_errors), 0),
        ).where(col(MonitorCycle.started_at) > now - WINDOW, col(MonitorCycle.started_at) <= now)
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _findings(session: Session, limit: int) -> tuple[ReconcileFinding, ...]:
    rows = session.exec(
        select(AuditLog)
        .where(col(AuditLog.action).in_(RECONCILE_ACTIONS))
        .order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
        .limit(limit)
    ).all()
    return tuple(
        ReconcileFinding(
            at=r.created_at,
            action=r.action,
            entity_type=r.entity_type,
            entity_id=r.entity_id,
            details=dict(r.details or {}),
        )
        for r in rows
    )


def refused_closes(session: Session, limit: int = 50) -> tuple[RefusedClose, ...]:
    """CLOSING positions carrying a venue's refusal, the most often refused first."""
    rows = session.exec(
        select(Position, AgentDeployment.user_id, User.address, AgentDeployment.is_reference)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .join(User, User.id == AgentDeployment.user_id)
        .where(Position.status == PositionStatus.CLOSING, col(Position.close_error).is_not(None))
        .order_by(col(Position.close_attempts).desc(), col(Position.id))
        .limit(limit)
    ).all()
    return tuple(
        RefusedClose(
            position_id=p.id,
            deployment_id=p.deployment_id,
            user_id=user_id,
            user_address=address,
            venue=str(p.venue),
            market=p.market,
            side=str(p.side),
            reason=p.close_error or "",
            attempts=p.close_attempts,
            next_attempt_at=p.next_close_attempt_at,
            is_reference=bool(reference),
        )
        for p, user_id, address, reference in rows
    )
