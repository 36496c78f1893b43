"""The fee per executed trade, charged exactly once per position, and who is billed at all.

The amounts and the rule (live deployments only) are the trading core's (`backend.trading.fees`); this
module stores the lines it returns, each under its idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlmodel import Session

from backend.config import Settings
from backend.db import insert_many_or_ignore, insert_or_ignore
from backend.models import AgentDeployment, BillingEvent
from backend.models.common import utcnow
from backend.models.enums import Beneficiary, BillingKind, BillingStatus, ExecutionVenue
from backend.trading.fees import FeePolicy, open_lines
from backend.venues.capabilities import real_funds


class DeploymentLike(Protocol):
    """What billing reads of a deployment: the model or a plain row of it (the fan-out's)."""

    id: int
    user_id: int
    is_reference: bool


def fee_policy(settings: Settings) -> FeePolicy:
    """The platform's fees as configured: the core holds the rule, settings hold the profit share."""
    return FeePolicy(
        trade_fee_usd=settings.trade_fee_usd,
        creator_share=settings.creator_share_pct,
        sources_share=settings.sources_share_pct,
        subscription_usd=settings.subscription_usd,
    )


def is_billable(deployment: DeploymentLike, venue: str | ExecutionVenue) -> bool:
    """Trades moving a user's money pay; paper trading is free and a reference book is the platform's own."""
    return real_funds(venue) and not deployment.is_reference


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
    collected_fee: Decimal | None = None,
) -> int | None:
    """Add the fee in the caller's transaction: the new event's id, None when charged already or not owed.

    `collected_fee`: the builder fee the venue already took on this trade (the actual amount); it is
    written COLLECTED instead of the trade fee, so it is never invoiced."""
    charge = TradeFeeCharge(deployment, venue, signal_id, position_id, market, collected_fee)
    event_id = None
    for values in _rows(policy, charge):
        event_id = insert_or_ignore(session, BillingEvent, values, ["idempotency_key"])
    return event_id


@dataclass(frozen=True)
class TradeFeeCharge:
    deployment: DeploymentLike
    venue: str | ExecutionVenue
    signal_id: int
    position_id: int
    market: str
    collected_fee: Decimal | None = None  # the builder fee the venue collected, if it did


def charge_trade_fees(session: Session, policy: FeePolicy, charges: list[TradeFeeCharge]) -> None:
    """`charge_trade_fee` for many positions in one batch (the fan-out's); each still charged once."""
    rows = [values for charge in charges for values in _rows(policy, charge)]
    if rows:
        insert_many_or_ignore(session, BillingEvent, rows, ["idempotency_key"])


def _rows(policy: FeePolicy, charge: TradeFeeCharge) -> list[dict]:
    """The billing rows the core's lines make for one executed trade: none for paper or a reference book."""
    deployment = charge.deployment
    billable = is_billable(deployment, charge.venue)
    lines = open_lines(policy, billable=billable, market=charge.market, collected_fee=charge.collected_fee)
    return [
        {
            "idempotency_key": trade_fee_key(deployment.id, charge.signal_id),
            "kind": BillingKind(line.kind.value).value,
            "status": (BillingStatus.COLLECTED if line.collected else BillingStatus.PENDING).value,
            "user_id": deployment.user_id,
            "deployment_id": deployment.id,
            "position_id": charge.position_id,
            "beneficiary": Beneficiary(line.beneficiary.value).value,
            "amount": line.amount,
            "currency": "USDC",
            "description": f"{line.description} (signal {charge.signal_id})",
            "created_at": utcnow(),
        }
        for line in lines
    ]
