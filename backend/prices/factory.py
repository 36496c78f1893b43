"""The price feed the settings ask for."""

from __future__ import annotations

from backend.config import Settings
from backend.prices.feed import PriceFeed
from backend.prices.simulated import SimulatedPriceFeed


def build_price_feed(settings: Settings) -> PriceFeed:
    """The seeded simulated feed; Hyperliquid `allMids` joins it with the venue work."""
    return SimulatedPriceFeed(seed=settings.price_feed_seed)
