"""The $0.20 infrastructure fee per executed trade, charged exactly once per position."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session

from backend.db import insert_or_ignore
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
    return insert_or_ignore(
        session,
        BillingEvent,
        {
            "idempotency_key": trade_fee_key(deployment_id, signal_id),
            "kind": BillingKind.TRADE_FEE.value,
            "status": BillingStatus.PENDING.value,
            "user_id": user_id,
            "deployment_id": deployment_id,
            "position_id": position_id,
            "amount": TRADE_FEE_USD,
            "currency": "USDC",
            "description": f"Trade fee: {market} (signal {signal_id})",
            "created_at": utcnow(),
        },
        ["idempotency_key"],
    )
