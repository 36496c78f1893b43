"""Each agent's figures from its reference book, cached on the agent row; followers' results apart.

Only the reference book counts (DESIGN "Track records that cannot be gamed"): a thousand paper deployments
with their own exits cannot move an agent's APR or win rate. The marketplace sorts and filters on the cached
columns, so a page load never scans positions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, func, select

from backend.agents.reference import reference_book
from backend.metrics.impact import refresh_impact_factors
from backend.models import Agent, AgentDeployment, Position
from backend.models.common import utcnow
from backend.models.enums import PositionStatus
from backend.trading.figures import BookFigures, ClosedTrade, book_figures
from backend.trading.money import cents

logger = logging.getLogger(__name__)

AgentFigures = BookFigures  # the name callers know
Progress = Callable[[int, int, str], None]  # (done, total, what is being done)


@dataclass(frozen=True)
class FollowerResults:
    """What people who deployed the agent made, shown apart from its figures (reference book excluded)."""

    deployments: int
    realized_pnl: Decimal


def compute_agent_figures(session: Session, agent_id: int, now: datetime) -> AgentFigures:
    """The reference book's figures as of `now`: its closed positions over its own capital, nothing else."""
    book = reference_book(session, agent_id)
    if book is None:
        return BookFigures.empty()
    trades = closed_trades(session, book.id, now)
    return book_figures(trades, book.capital_usd, started=book.created_at.date(), today=now.date())


def closed_trades(session: Session, deployment_id: int, now: datetime) -> list[ClosedTrade]:
    """A book's positions closed by `now`, oldest first."""
    rows = session.exec(
        select(Position.closed_at, Position.realized_pnl, Position.size, Position.entry_price)
        .where(
            Position.deployment_id == deployment_id,
            Position.status == PositionStatus.CLOSED,
            col(Position.realized_pnl).is_not(None),
            col(Position.closed_at).is_not(None),
            col(Position.closed_at) <= now,
        )
        .order_by(col(Position.closed_at), col(Position.id))
    ).all()
    return [ClosedTrade(closed_at, Decimal(pnl), size, entry) for closed_at, pnl, size, entry in rows]


def follower_results(session: Session, agent_id: int) -> FollowerResults:
    """Every deployment of the agent but its reference book: how many, and the PnL they realised."""
    deployments = session.exec(
        select(func.count())
        .select_from(AgentDeployment)
        .where(AgentDeployment.agent_id == agent_id, AgentDeployment.is_reference.is_(False))
    ).one()
    pnl = session.exec(
        select(func.coalesce(func.sum(Position.realized_pnl), 0))
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .where(
            AgentDeployment.agent_id == agent_id,
            AgentDeployment.is_reference.is_(False),
            Position.status == PositionStatus.CLOSED,
        )
    ).one()
    return FollowerResults(deployments=deployments, realized_pnl=cents(Decimal(str(pnl))))


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


def refresh_all_agent_metrics(
    session: Session, now: datetime | None = None, progress: Progress | None = None
) -> int:
    """Refresh every agent; returns how many were refreshed. `progress` hears after each one."""
    now = now or utcnow()
    ids = session.exec(select(Agent.id).order_by(col(Agent.id))).all()
    for done, agent_id in enumerate(ids, start=1):
        refresh_agent_metrics(session, agent_id, now)
        if progress is not None:
            progress(done, len(ids), "agents")
    logger.info("refreshed metrics of %d agents", len(ids))
    return len(ids)


@dataclass(frozen=True)
class RebuildReport:
    agents: int
    ct_accounts: int
    started_at: datetime
    finished_at: datetime


def rebuild(session: Session, now: datetime | None = None, progress: Progress | None = None) -> RebuildReport:
    """Every figure derived from stored trades, recomputed: agents' figures, then CT accounts' impact.

    `progress(done, total, stage)` hears after each agent and once the impact factors are written.
    """
    started = utcnow()
    now = now or started
    agents = refresh_all_agent_metrics(session, now, progress)
    accounts = refresh_impact_factors(session, now)
    session.commit()
    if progress is not None:
        progress(agents, agents, "impact factors")
    logger.info("rebuilt figures of %d agents and impact of %d CT accounts", agents, accounts)
    return RebuildReport(agents=agents, ct_accounts=accounts, started_at=started, finished_at=utcnow())


def rebuild_all(session: Session, now: datetime | None = None, progress: Progress | None = None) -> int:
    """The one entry point for rebuilds (admin button, demo seed, CLI); returns how many agents."""
    return rebuild(session, now, progress).agents
