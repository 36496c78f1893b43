"""What the platform charges for a trade, as billing lines: the fee per executed trade and the profit share.

Paper trading is free and reference books are the platform's own, so only billable (live) deployments get
lines. The profit share is a fraction of a profitable close's realised PnL (after the venue's fees) and is
not taken on a position the trader closed at the venue themselves (EXTERNAL): the agent did not close it.
The billing layer stores each line exactly once under its idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from backend.trading.money import ZERO, money
from backend.trading.types import CloseReason

TRADE_FEE_USD = Decimal("0.20")
PROFIT_SHARE = Decimal("0.10")


class LineKind(StrEnum):
    TRADE_FEE = "TRADE_FEE"
    PROFIT_SHARE = "PROFIT_SHARE"


class Beneficiary(StrEnum):
    PLATFORM = "platform"
    CREATOR = "creator"  # the agent's creator


@dataclass(frozen=True)
class FeePolicy:
    trade_fee_usd: Decimal = TRADE_FEE_USD
    profit_share: Decimal = PROFIT_SHARE  # to the agent's creator, a fraction of realised PnL

    def __post_init__(self) -> None:
        if not self.trade_fee_usd >= 0:
            raise ValueError("trade_fee_usd must not be negative")
        if not 0 <= self.profit_share < 1:
            raise ValueError("profit_share must be a fraction in [0, 1)")


@dataclass(frozen=True)
class BillingLine:
    kind: LineKind
    amount: Decimal
    beneficiary: Beneficiary
    description: str


def open_lines(policy: FeePolicy, *, billable: bool, market: str) -> list[BillingLine]:
    """The lines an executed entry owes: the trade fee, once."""
    if not billable or policy.trade_fee_usd == 0:
        return []
    return [
        BillingLine(
            LineKind.TRADE_FEE, money(policy.trade_fee_usd), Beneficiary.PLATFORM, f"Trade fee: {market}"
        )
    ]


def close_lines(
    policy: FeePolicy, *, billable: bool, realized_pnl: Decimal, reason: CloseReason
) -> list[BillingLine]:
    """The lines a close owes: the profit share of a profitable one the agent closed."""
    share = profit_share(policy, realized_pnl=realized_pnl, reason=reason) if billable else ZERO
    if share <= 0:
        return []
    text = f"{policy.profit_share:.0%} profit share to the agent's creator"
    return [BillingLine(LineKind.PROFIT_SHARE, share, Beneficiary.CREATOR, text)]


def profit_share(policy: FeePolicy, *, realized_pnl: Decimal, reason: CloseReason) -> Decimal:
    """The creator's share of a close: nothing on a loss or on a close made outside the platform."""
    if realized_pnl <= 0 or reason == CloseReason.EXTERNAL:
        return ZERO
    return money(realized_pnl * policy.profit_share)
