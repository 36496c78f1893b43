"""The price feed the settings ask for."""

from __future__ import annotations

from backend.config import Settings
from backend.prices.feed import PriceFeed
from backend.prices.simulated import SimulatedPriceFeed


def build_price_feed(settings: Settings) -> PriceFeed:
    """The seeded simulated feed; Hyperliquid's live mids and candles when PRICE_FEED=hyperliquid."""
    if settings.price_feed == "hyperliquid":
        # The SDK import is heavy: only when asked for.
        from backend.prices.hyperliquid import HyperliquidPriceFeed

        return HyperliquidPriceFeed(
            settings.hyperliquid_base_url, timeout=settings.hyperliquid_timeout_seconds
        )
    return SimulatedPriceFeed(seed=settings.price_feed_seed)
