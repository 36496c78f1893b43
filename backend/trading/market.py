"""What the core needs to know about a market and an account: the venue adapters fill these in."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal


@dataclass(frozen=True)
class MarketRules:
    """How a venue wants sizes and prices of one market written."""

    market: str
    size_decimals: int
    tick_size: Decimal
    min_notional: Decimal
    max_leverage: Decimal
    min_size: Decimal = Decimal(0)

    def round_size(self, size: Decimal) -> Decimal:
        """Down to the size step: never more than was asked for."""
        return size.quantize(Decimal(1).scaleb(-self.size_decimals), rounding=ROUND_DOWN)

    def round_price(self, price: Decimal) -> Decimal:
        """To the nearest tick."""
        return (price / self.tick_size).to_integral_value() * self.tick_size


@dataclass(frozen=True)
class Balance:
    equity: Decimal  # cash plus unrealised PnL
    available: Decimal  # what new margin can come from
