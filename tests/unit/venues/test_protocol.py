"""The venue protocol names what every venue does, nothing one venue alone has; adapters declare their row."""

from __future__ import annotations

import pytest

from backend.models.enums import ExecutionVenue
from backend.venues.base import VenueAdapter
from backend.venues.capabilities import DECLARED
from backend.venues.hyperliquid import HyperliquidVenue
from backend.venues.paper import PaperVenue

PROTOCOL = {
    "venue",
    "capabilities",
    "markets",
    "mids",
    "listings",
    "balance",
    "positions",
    "submit",
    "status",
    "closing_fill",
}


def test_the_protocol_has_only_the_members_every_venue_offers():
    members = {name for name in vars(VenueAdapter) if not name.startswith("_")}
    assert members | set(VenueAdapter.__annotations__) == PROTOCOL


@pytest.mark.parametrize("adapter", [PaperVenue, HyperliquidVenue])
def test_each_adapter_offers_the_protocol_and_declares_its_row(adapter):
    assert all(hasattr(adapter, name) for name in PROTOCOL)
    assert adapter.capabilities is DECLARED[ExecutionVenue(adapter.venue)]
