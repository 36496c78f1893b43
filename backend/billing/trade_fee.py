"""The $0.20 infrastructure fee per executed trade, charged exactly once per position."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from backend.db import insert_many_or_ignore, insert_or_ignore
from backend.models import BillingEvent
from backend.models.common import utcnow
from backend.models.enums import BillingKind, BillingStatus

TRADE_FEE_USD = Decimal("0.20")


def trade_fee_key(deployment_id: int, signal_id: int) -> str:
    return f"trade-fee:{deployment_id}:{signal_id}"


def charge_trade_fee(
    session: Session, *, user_id: int, deployment_id: int, signal_id: int, position_id: int, market: str
) -> int | None:
    """Add the fee in the caller's transaction; the new event's id, or None when it was charged already."""
    charge = TradeFeeCharge(user_id, deployment_id, signal_id, position_id, market)
    return insert_or_ignore(session, BillingEvent, _values(charge), ["idempotency_key"])


@dataclass(frozen=True)
class TradeFeeCharge:
    user_id: int
    deployment_id: int
    signal_id: int
    position_id: int
    market: str


def charge_trade_fees(session: Session, charges: list[TradeFeeCharge]) -> None:
    """`charge_trade_fee` for many positions in one batch (the fan-out's); each still charged once."""
    insert_many_or_ignore(session, BillingEvent, [_values(charge) for charge in charges], ["idempotency_key"])


def _values(charge: TradeFeeCharge) -> dict:
    return {
        "idempotency_key": trade_fee_key(charge.deployment_id, charge.signal_id),
        "kind": BillingKind.TRADE_FEE.value,
        "status": BillingStatus.PENDING.value,
        "user_id": charge.user_id,
        "deployment_id": charge.deployment_id,
        "position_id": charge.position_id,
        "amount": TRADE_FEE_USD,
        "currency": "USDC",
        "description": f"Trade fee: {charge.market} (signal {charge.signal_id})",
        "created_at": utcnow(),
    }
