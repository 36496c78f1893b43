"""The markets the simulated feed and the demo know, with realistic starting prices and volatility."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class MarketSpec:
    symbol: str
    name: str
    start_price: Decimal
    annual_volatility: float  # of log returns
    tick_size: Decimal
    size_decimals: int
    max_leverage: int


MARKETS: dict[str, MarketSpec] = {
    m.symbol: m
    for m in (
        MarketSpec("BTC", "Bitcoin", Decimal("64000"), 0.55, Decimal("1"), 5, 40),
        MarketSpec("ETH", "Ethereum", Decimal("3100"), 0.70, Decimal("0.1"), 4, 25),
        MarketSpec("SOL", "Solana", Decimal("145"), 0.90, Decimal("0.01"), 2, 20),
        MarketSpec("HYPE", "Hyperliquid", Decimal("24"), 1.10, Decimal("0.001"), 2, 10),
        MarketSpec("ARB", "Arbitrum", Decimal("0.95"), 1.00, Decimal("0.0001"), 1, 10),
        MarketSpec("AVAX", "Avalanche", Decimal("32"), 0.95, Decimal("0.001"), 2, 10),
        MarketSpec("LINK", "Chainlink", Decimal("14.5"), 0.85, Decimal("0.001"), 1, 10),
        MarketSpec("DOGE", "Dogecoin", Decimal("0.14"), 1.05, Decimal("0.00001"), 0, 10),
        MarketSpec("WIF", "dogwifhat", Decimal("2.4"), 1.40, Decimal("0.0001"), 0, 5),
        MarketSpec("SUI", "Sui", Decimal("1.8"), 1.10, Decimal("0.0001"), 1, 10),
    )
}
