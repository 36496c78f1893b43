"""Compute each agent's figures from its closed positions and cache them on the agent row.

The marketplace sorts and filters on these columns, so a page load never scans positions.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, col, func, select

from backend.models import Agent, AgentDeployment, Position
from backend.models.common import utcnow
from backend.models.enums import PositionStatus
from backend.trading import returns as calc

logger = logging.getLogger(__name__)

FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class AgentFigures:
    trades_count: int
    win_rate: Decimal | None
    total_pnl: Decimal
    volume_usd: Decimal
    apr_30d: Decimal | None
    apr_90d: Decimal | None
    apr_si: Decimal | None
    sharpe_30d: Decimal | None
    max_drawdown: Decimal | None


def compute_agent_figures(session: Session, agent_id: int, now: datetime) -> AgentFigures:
    """Figures over every deployment of the agent; capital is the sum the deployments put in."""
    capital = session.exec(
        select(func.coalesce(func.sum(AgentDeployment.capital_usd), 0)).where(
            AgentDeployment.agent_id == agent_id
        )
    ).one()
    capital = Decimal(str(capital))
    closed = session.exec(
        select(Position.realized_pnl, Position.closed_at, Position.size, Position.entry_price)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .where(
            AgentDeployment.agent_id == agent_id,
            Position.status == PositionStatus.CLOSED,
            col(Position.realized_pnl).is_not(None),
            col(Position.closed_at) <= now,
        )
        .order_by(col(Position.closed_at))
    ).all()
    pnls = [Decimal(pnl) for pnl, _, _, _ in closed]
    if not closed or capital <= 0:
        return AgentFigures(len(closed), calc.win_rate(pnls), sum(pnls, Decimal(0)), Decimal(0), *[None] * 5)

    pnl_by_day: dict[date, Decimal] = defaultdict(Decimal)
    for pnl, closed_at, _, _ in closed:
        pnl_by_day[closed_at.date()] += pnl
    today = now.date()
    first_day = closed[0][1].date()

    def window(days: int) -> list[Decimal]:
        return calc.daily_returns(pnl_by_day, capital, today - timedelta(days=days - 1), today)

    since_inception = calc.daily_returns(pnl_by_day, capital, first_day, today)
    return AgentFigures(
        trades_count=len(closed),
        win_rate=_q(calc.win_rate(pnls)),
        total_pnl=sum(pnls, Decimal(0)).quantize(Decimal("0.01")),
        volume_usd=sum((size * price for _, _, size, price in closed), Decimal(0)).quantize(Decimal("0.01")),
        apr_30d=_q(calc.apr(window(30))),
        apr_90d=_q(calc.apr(window(90))),
        apr_si=_q(calc.apr(since_inception)),
        sharpe_30d=_q(calc.sharpe(window(30))),
        max_drawdown=_q(calc.max_drawdown(since_inception)),
    )


def refresh_agent_metrics(session: Session, agent_id: int, now: datetime | None = None) -> AgentFigures:
    """Recompute and store one agent's figures; safe to run any number of times."""
    now = now or utcnow()
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise LookupError(f"agent {agent_id} not found")
    figures = compute_agent_figures(session, agent_id, now)
    for name, value in vars(figures).items():
        setattr(agent, name, value)
    agent.metrics_updated_at = now
    session.add(agent)
    session.commit()
    return figures


def refresh_all_agent_metrics(session: Session, now: datetime | None = None) -> int:
    """Refresh every agent; returns how many were refreshed."""
    ids = session.exec(select(Agent.id).order_by(col(Agent.id))).all()
    for agent_id in ids:
        refresh_agent_metrics(session, agent_id, now)
    logger.info("refreshed metrics of %d agents", len(ids))
    return len(ids)


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(FOUR_PLACES)


def rebuild_all(session: Session, now: datetime | None = None) -> int:
    """Every figure the platform derives from stored trades, recomputed: the one entry point for rebuilds."""
    return refresh_all_agent_metrics(session, now)
