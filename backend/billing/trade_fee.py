"""The fee per executed trade, charged exactly once per position, and who is billed at all.

The amounts and the rule (live deployments only) are the trading core's (`backend.trading.fees`); this
module stores the lines it returns, each under its idempotency key.
"""

from __future__ import annotations

from sqlmodel import Session

from backend.config import Settings
from backend.db import insert_or_ignore
from backend.models import AgentDeployment, BillingEvent
from backend.models.common import utcnow
from backend.models.enums import BillingKind, BillingStatus, ExecutionVenue
from backend.trading.fees import FeePolicy, open_lines


def fee_policy(settings: Settings) -> FeePolicy:
    """The platform's fees as configured: the core holds the rule, settings hold the profit share."""
    return FeePolicy(profit_share=settings.profit_share_pct)


def is_billable(deployment: AgentDeployment, venue: str | ExecutionVenue) -> bool:
    """Live deployments pay; paper trading is free and a reference book is the platform's own."""
    return ExecutionVenue(venue) != ExecutionVenue.PAPER and not deployment.is_reference


def trade_fee_key(deployment_id: int, signal_id: int) -> str:
    return f"trade-fee:{deployment_id}:{signal_id}"


def charge_trade_fee(
    session: Session,
    policy: FeePolicy,
    *,
    deployment: AgentDeployment,
    venue: str | ExecutionVenue,
    signal_id: int,
    position_id: int,
    market: str,
) -> int | None:
    """Add the fee in the caller's transaction: the new event's id, None when charged already or not owed."""
    event_id = None
    for line in open_lines(policy, billable=is_billable(deployment, venue), market=market):
        event_id = insert_or_ignore(
            session,
            BillingEvent,
            {
                "idempotency_key": trade_fee_key(deployment.id, signal_id),
                "kind": BillingKind(line.kind.value).value,
                "status": BillingStatus.PENDING.value,
                "user_id": deployment.user_id,
                "deployment_id": deployment.id,
                "position_id": position_id,
                "amount": line.amount,
                "currency": "USDC",
                "description": f"{line.description} (signal {signal_id})",
                "created_at": utcnow(),
            },
            ["idempotency_key"],
        )
    return event_id
