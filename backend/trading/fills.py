"""The fill model: where a market order fills and what the venue charges, for the paper venue and replays.

Live venues report their own fills; the paper venue and the replay ask here, so a replayed trade fills at the
same price and fee the paper venue would have given it. An on-chain fill's fee is the gas its transaction
paid, priced in USD here (`gas_fee`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backend.trading.market import MarketRules
from backend.trading.money import BPS, money

ONE = Decimal(1)
WEI_PER_ETH = Decimal(10) ** 18


@dataclass(frozen=True)
class FillModel:
    """Slippage and the taker fee as fractions (0.0005 = 5 bps), the paper venue's settings."""

    slippage: Decimal = Decimal("0.0005")
    taker_fee: Decimal = Decimal("0.00045")

    @classmethod
    def from_bps(cls, slippage_bps: Decimal, taker_fee_bps: Decimal) -> FillModel:
        return cls(slippage=slippage_bps * BPS, taker_fee=taker_fee_bps * BPS)

    def __post_init__(self) -> None:
        for name in ("slippage", "taker_fee"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value < 1:
                raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")

    def price(self, mid: Decimal, *, is_buy: bool, rules: MarketRules) -> Decimal:
        """A buy fills above the mid, a sell below it, on the market's tick."""
        slipped = mid * (ONE + self.slippage if is_buy else ONE - self.slippage)
        return rules.round_price(slipped)

    def fee(self, size: Decimal, price: Decimal) -> Decimal:
        """The taker fee of a fill, in USD to the money quantum."""
        return money(size * price * self.taker_fee)


def pro_rata_fee(fee: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """The share of a fill's fee that belongs to `part` of its `whole` size (one of several closed)."""
    if whole <= 0:
        raise ValueError("whole must be positive")
    return money(fee * min(ONE, part / whole))


def gas_fee(gas_used: int, wei_per_gas: int, eth_usd: Decimal) -> Decimal:
    """What a transaction's gas cost in USD (gas used x effective gas price, at the ETH price), to the money
    quantum: the fee of a fill that is an on-chain swap."""
    return money(Decimal(gas_used) * Decimal(wei_per_gas) / WEI_PER_ETH * eth_usd)
