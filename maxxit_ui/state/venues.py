"""The venues and the agent wallet cipher the UI's handlers use, built once per app process.

Building the registry sets up the paper venue's price feed and the Hyperliquid client; neither should be
rebuilt per click. The cipher holds the wallet-key secret, so it lives here on the server and never in a
state var.
"""

from __future__ import annotations

from functools import cache

from backend.config import get_settings
from backend.db import get_engine
from backend.venues.registry import VenueRegistry, build_venues
from backend.wallets.keys import WalletCipher


@cache
def venue_registry() -> VenueRegistry:
    return build_venues(get_settings(), get_engine())


@cache
def wallet_cipher() -> WalletCipher:
    return WalletCipher.from_settings(get_settings())


def forget() -> None:
    """Build both again on next use (tests that change settings between apps in one process)."""
    venue_registry.cache_clear()
    wallet_cipher.cache_clear()
