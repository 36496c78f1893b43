"""A user's realised PnL over a window, as every page shows money: the core's breakdowns, summed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.deployments.figures import breakdowns
from backend.models import AgentDeployment, Position
from backend.models.enums import PositionStatus
from backend.trading.book import Breakdown, total


@dataclass(frozen=True)
class Realized:
    figures: Breakdown  # gross, venue fees, Maxxit's fee, profit share, net: summed over the closes
    closes: int
    wins: int  # closes with a positive net


def realized_since(session: Session, user: CurrentUser, since: datetime) -> Realized:
    """The user's positions closed at or after `since` (their own deployments, not reference books)."""
    positions = session.exec(
        select(Position)
        .join(AgentDeployment, col(AgentDeployment.id) == col(Position.deployment_id))
        .where(
            AgentDeployment.user_id == user.id,
            col(AgentDeployment.is_reference).is_(False),
            Position.status == PositionStatus.CLOSED,
            col(Position.closed_at) >= since,
        )
        .order_by(col(Position.id))
    ).all()
    parts = breakdowns(session, positions)
    return Realized(
        figures=total(parts.values()),
        closes=len(positions),
        wins=sum(1 for part in parts.values() if part.net_pnl > 0),
    )
