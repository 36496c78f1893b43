"""Which adapter serves which venue. Adding a venue touches its module and this registry, nothing else."""

from __future__ import annotations

from sqlalchemy import Engine

from backend.config import Settings
from backend.models.enums import ExecutionVenue
from backend.prices.feed import PriceFeed
from backend.trading.fills import FillModel
from backend.venues.base import VenueAdapter, VenueError
from backend.venues.paper import PaperVenue


class VenueNotAvailable(VenueError):
    """No adapter for that venue on this platform (yet)."""


class VenueRegistry:
    def __init__(self, adapters: dict[ExecutionVenue, VenueAdapter]) -> None:
        self._adapters = dict(adapters)

    def get(self, venue: ExecutionVenue | str) -> VenueAdapter:
        adapter = self._adapters.get(ExecutionVenue(venue))
        if adapter is None:
            raise VenueNotAvailable(f"{venue} is not available on this platform")
        return adapter

    def __contains__(self, venue: object) -> bool:
        return venue in self._adapters

    @property
    def names(self) -> list[ExecutionVenue]:
        return list(self._adapters)


def build_venues(settings: Settings, engine: Engine, prices: PriceFeed) -> VenueRegistry:
    """Paper on the price feed, Hyperliquid on the configured network, and spot when the settings name a
    chain (ARBITRUM_RPC_URL) with a deployed module; a process builds this once, in `backend.runtime`."""
    from backend.venues.hyperliquid import HyperliquidVenue  # the SDK import is heavy; only when built

    paper = PaperVenue(
        engine,
        prices,
        fills=FillModel.from_bps(settings.paper_slippage_bps, settings.paper_taker_fee_bps),
    )
    adapters: dict[ExecutionVenue, VenueAdapter] = {
        ExecutionVenue.PAPER: paper,
        ExecutionVenue.HYPERLIQUID: HyperliquidVenue.from_settings(settings),
    }
    if settings.arbitrum_rpc_url:
        from backend.venues.spot import SafeSpotVenue  # web3 only when spot is configured

        spot = SafeSpotVenue.from_settings(settings, prices)
        if spot is not None:
            adapters[ExecutionVenue.SPOT] = spot
    return VenueRegistry(adapters)
