"""The markets the simulated feed and the demo know: about forty of Hyperliquid's most traded perps.

Each has the price level the simulated feed starts at and comes back to (late-2025 levels), the annual
volatility of its log returns (majors about 0.5-0.7, large alts 0.8-1.0, memecoins 1.2-1.6) and
Hyperliquid-like trading rules. Prices and sizes are per token, as people write them: PEPE and BONK too
(Hyperliquid lists those 1,000 at a time; only its adapter knows that).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SIGNIFICANT_FIGURES = 5  # what a Hyperliquid price carries


@dataclass(frozen=True)
class MarketSpec:
    symbol: str
    name: str
    start_price: Decimal  # the level the feed starts at on its epoch and reverts toward
    annual_volatility: float  # of log returns
    tick_size: Decimal
    size_decimals: int
    max_leverage: int


def tick_for(price: Decimal) -> Decimal:
    """The tick that writes `price` with five significant figures: 90000 -> 1, 0.0000045 -> 1E-10."""
    return Decimal(1).scaleb(price.adjusted() - SIGNIFICANT_FIGURES + 1)


def _m(symbol: str, name: str, price: str, vol: float, size_decimals: int, leverage: int) -> MarketSpec:
    level = Decimal(price)
    return MarketSpec(symbol, name, level, vol, tick_for(level), size_decimals, leverage)


MARKETS: dict[str, MarketSpec] = {
    m.symbol: m
    for m in (
        # majors
        _m("BTC", "Bitcoin", "90000", 0.55, 5, 40),
        _m("ETH", "Ethereum", "3100", 0.70, 4, 25),
        _m("SOL", "Solana", "140", 0.85, 2, 20),
        _m("HYPE", "Hyperliquid", "30", 1.00, 2, 10),
        _m("XRP", "XRP", "2.1", 0.75, 0, 20),
        _m("BNB", "BNB", "880", 0.55, 3, 10),
        # large alts
        _m("DOGE", "Dogecoin", "0.15", 0.95, 0, 10),
        _m("ADA", "Cardano", "0.42", 0.85, 0, 10),
        _m("AVAX", "Avalanche", "14", 0.90, 2, 10),
        _m("LINK", "Chainlink", "13.5", 0.85, 1, 10),
        _m("SUI", "Sui", "1.6", 0.95, 1, 10),
        _m("DOT", "Polkadot", "2.3", 0.85, 1, 10),
        _m("LTC", "Litecoin", "82", 0.75, 2, 10),
        _m("NEAR", "NEAR Protocol", "1.9", 0.95, 1, 10),
        _m("APT", "Aptos", "2", 0.95, 2, 10),
        _m("ARB", "Arbitrum", "0.22", 0.95, 1, 10),
        _m("OP", "Optimism", "0.32", 0.95, 1, 10),
        _m("INJ", "Injective", "5.8", 0.95, 1, 10),
        _m("TIA", "Celestia", "0.65", 1.00, 1, 10),
        _m("SEI", "Sei", "0.14", 1.00, 0, 10),
        _m("AAVE", "Aave", "185", 0.85, 2, 10),
        _m("UNI", "Uniswap", "5.8", 0.90, 1, 10),
        _m("MKR", "Maker", "1500", 0.80, 4, 10),
        _m("LDO", "Lido DAO", "0.65", 0.95, 1, 10),
        _m("ENA", "Ethena", "0.27", 1.00, 0, 10),
        _m("JUP", "Jupiter", "0.25", 1.00, 0, 10),
        _m("RENDER", "Render", "1.9", 1.00, 1, 10),
        _m("TAO", "Bittensor", "280", 1.00, 3, 10),
        _m("WLD", "Worldcoin", "0.6", 1.00, 1, 10),
        _m("ONDO", "Ondo", "0.48", 0.95, 0, 10),
        _m("FET", "Fetch.ai", "0.25", 1.00, 0, 10),
        _m("GMX", "GMX", "9.5", 0.95, 2, 10),
        _m("PENDLE", "Pendle", "2.6", 1.00, 0, 10),
        _m("ATOM", "Cosmos", "2.6", 0.85, 2, 10),
        # memecoins
        _m("PEPE", "Pepe", "0.0000045", 1.30, 0, 10),
        _m("BONK", "Bonk", "0.00001", 1.40, 0, 10),
        _m("WIF", "dogwifhat", "0.4", 1.40, 0, 5),
        _m("FARTCOIN", "Fartcoin", "0.3", 1.60, 0, 5),
        _m("TRUMP", "Official Trump", "6", 1.20, 1, 10),
        _m("POPCAT", "Popcat", "0.12", 1.50, 0, 5),
    )
}
