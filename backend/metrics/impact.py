"""Impact factor of every CT account from the reference-book outcomes of its posts (formula: trading.impact).

Only reference books count: a follower's deployment with a 0.05% take-profit cannot make an account look
prescient. Calls are the account's posts of the trailing 90 days whose reference-book trades have closed.
Each computation writes one `ImpactFactorHistory` row per account and the latest value on the account.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from backend.models import AgentDeployment, CtAccount, CtPost, ImpactFactorHistory, Position, Signal
from backend.models.enums import PositionStatus
from backend.trading.impact import Impact, TradeOutcome, impact_factor

logger = logging.getLogger(__name__)

WINDOW = timedelta(days=90)


def reference_outcomes(session: Session, now: datetime) -> dict[int, list[TradeOutcome]]:
    """Per CT account: the closed reference-book trades made from its posts of the last 90 days."""
    rows = session.exec(
        select(CtPost.ct_account_id, CtPost.id, Position.realized_pnl, Position.size, Position.entry_price)
        .join(Signal, Signal.post_id == CtPost.id)
        .join(Position, Position.signal_id == Signal.id)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .where(
            AgentDeployment.is_reference.is_(True),
            Position.status == PositionStatus.CLOSED,
            col(Position.realized_pnl).is_not(None),
            col(Position.closed_at) <= now,
            col(CtPost.posted_at) > now - WINDOW,
            col(CtPost.posted_at) <= now,
        )
    ).all()
    outcomes: dict[int, list[TradeOutcome]] = defaultdict(list)
    for account_id, post_id, pnl, size, entry in rows:
        outcomes[account_id].append(TradeOutcome(post_id, pnl, size, entry))
    return outcomes


def compute_impact_factors(session: Session, now: datetime) -> dict[int, Impact]:
    """Every account that is not removed, with its impact (0 on no calls) as of `now`."""
    outcomes = reference_outcomes(session, now)
    ids = session.exec(select(CtAccount.id).where(col(CtAccount.removed_at).is_(None))).all()
    return {account_id: impact_factor(outcomes.get(account_id, [])) for account_id in ids}


def refresh_impact_factors(session: Session, now: datetime) -> int:
    """Store each account's impact and a history row, in the caller's transaction; returns how many."""
    impacts = compute_impact_factors(session, now)
    for account_id, impact in impacts.items():
        account = session.get(CtAccount, account_id)
        account.impact_factor, account.impact_calls = impact.factor, impact.calls
        session.add(account)
        session.add(
            ImpactFactorHistory(
                ct_account_id=account_id,
                impact_factor=impact.factor,
                sample_size=impact.calls,
                computed_at=now,
            )
        )
    session.flush()
    logger.info("impact factors of %d CT accounts computed", len(impacts))
    return len(impacts)
