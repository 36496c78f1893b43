"""What the platform charges, as billing lines: the fee per executed trade (or the venue-collected builder
fee), the profit share split between the agent's creator and the signal's sources, and the subscription.

Paper trading is free and reference books are the platform's own, so only billable (live) deployments get
lines. The profit share is a fraction of a profitable close's realised PnL (after the venue's fees) and is
not taken on a position the trader closed at the venue themselves (EXTERNAL): the agent did not close it.
The billing layer stores each line exactly once under its idempotency key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from backend.trading.money import MONEY_QUANTUM, ZERO, money
from backend.trading.types import CloseReason

TRADE_FEE_USD = Decimal("0.20")
CREATOR_SHARE = Decimal("0.10")
SOURCES_SHARE = Decimal("0.10")
SUBSCRIPTION_USD = Decimal("20")
# Hyperliquid's builder fee is in tenths of a basis point: f=10 is 1 bp = 0.01% of the notional.
TENTH_BPS = Decimal("0.00001")
MAX_BUILDER_FEE_TENTHS_BPS = 100  # the venue's cap on perps: 0.1%


class LineKind(StrEnum):
    TRADE_FEE = "TRADE_FEE"
    PROFIT_SHARE = "PROFIT_SHARE"
    SUBSCRIPTION = "SUBSCRIPTION"


class Beneficiary(StrEnum):
    PLATFORM = "PLATFORM"
    CREATOR = "CREATOR"  # the agent's creator
    SOURCES = "SOURCES"  # the CT account whose post made the signal (`BillingLine.source`)


@dataclass(frozen=True)
class FeePolicy:
    trade_fee_usd: Decimal = TRADE_FEE_USD
    creator_share: Decimal = CREATOR_SHARE  # fractions of a profitable close's realised PnL
    sources_share: Decimal = SOURCES_SHARE
    subscription_usd: Decimal = SUBSCRIPTION_USD  # per live deployment per month after the trial

    def __post_init__(self) -> None:
        if not self.trade_fee_usd >= 0 or not self.subscription_usd >= 0:
            raise ValueError("trade_fee_usd and subscription_usd must not be negative")
        if not (
            self.creator_share >= 0
            and self.sources_share >= 0
            and self.creator_share + self.sources_share < 1
        ):
            raise ValueError("creator_share and sources_share are fractions that add up to less than 1")

    @property
    def profit_share(self) -> Decimal:
        """The whole share of a profitable close the trader pays (creator's and sources' together)."""
        return self.creator_share + self.sources_share


@dataclass(frozen=True)
class BillingLine:
    kind: LineKind
    amount: Decimal
    beneficiary: Beneficiary
    description: str
    source: int | None = None  # the CT account id a SOURCES line is for
    collected: bool = False  # the venue collected it at the source (a builder fee): never invoiced


def builder_fee(notional: Decimal, tenths_bps: int) -> Decimal:
    """The builder fee Hyperliquid collects on a fill of `notional` USD at `tenths_bps`."""
    if tenths_bps < 0:
        raise ValueError("a builder fee is not negative")
    return money(abs(notional) * TENTH_BPS * tenths_bps)


def open_lines(
    policy: FeePolicy, *, billable: bool, market: str, collected_fee: Decimal | None = None
) -> list[BillingLine]:
    """The lines an executed entry owes, once: the trade fee, or the builder fee the venue already took
    (`collected_fee`, the actual amount; it replaces the trade fee, which is then not invoiced)."""
    if not billable:
        return []
    if collected_fee is not None:
        text = f"Builder fee collected by the venue: {market}"
        return [
            BillingLine(LineKind.TRADE_FEE, money(collected_fee), Beneficiary.PLATFORM, text, collected=True)
        ]
    if policy.trade_fee_usd == 0:
        return []
    return [
        BillingLine(
            LineKind.TRADE_FEE, money(policy.trade_fee_usd), Beneficiary.PLATFORM, f"Trade fee: {market}"
        )
    ]


def close_lines(
    policy: FeePolicy,
    *,
    billable: bool,
    realized_pnl: Decimal,
    reason: CloseReason,
    sources: Sequence[int] = (),
) -> list[BillingLine]:
    """The lines a close owes: of a profitable one the agent closed, the creator's share and the sources'
    share split evenly between the CT accounts whose posts made the signal (`sources`; none, no share)."""
    if not billable or realized_pnl <= 0 or reason == CloseReason.EXTERNAL:
        return []
    lines = []
    creator = money(realized_pnl * policy.creator_share)
    if creator > 0:
        text = f"{policy.creator_share:.0%} profit share to the agent's creator"
        lines.append(BillingLine(LineKind.PROFIT_SHARE, creator, Beneficiary.CREATOR, text))
    accounts = sorted(set(sources))
    pool = money(realized_pnl * policy.sources_share) if accounts else ZERO
    for account, amount in zip(accounts, split_evenly(pool, len(accounts)), strict=True):
        if amount > 0:
            text = f"{policy.sources_share:.0%} profit share to the signal's sources"
            lines.append(
                BillingLine(LineKind.PROFIT_SHARE, amount, Beneficiary.SOURCES, text, source=account)
            )
    return lines


def split_evenly(amount: Decimal, parts: int) -> list[Decimal]:
    """`amount` in `parts` that differ by at most one money quantum and add up to it exactly."""
    if parts <= 0:
        return []
    base = (amount / parts).quantize(MONEY_QUANTUM, rounding=ROUND_DOWN)
    extra = int((amount - base * parts) / MONEY_QUANTUM)
    return [base + (MONEY_QUANTUM if index < extra else ZERO) for index in range(parts)]


def subscription_line(policy: FeePolicy, period_start: datetime, period_end: datetime) -> BillingLine | None:
    """The line a paid subscription period owes (billed when the period starts); None when it is free."""
    if policy.subscription_usd == 0:
        return None
    text = f"Subscription {period_start:%Y-%m-%d} to {period_end:%Y-%m-%d}"
    return BillingLine(LineKind.SUBSCRIPTION, money(policy.subscription_usd), Beneficiary.PLATFORM, text)
