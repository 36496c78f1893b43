"""MULTI routing asks each preferred venue's capabilities before its markets: a short never goes to spot,
a venue no adapter declares is not available, and paper is never a live deployment's fallback."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.models import AgentDeployment
from backend.models.enums import ExecutionVenue
from backend.trading.market import MarketRules
from backend.trading.types import Side
from backend.venues.registry import VenueRegistry
from backend.venues.router import choose_venue


class Lists:
    """A stand-in adapter: the router asks an adapter only which markets it lists (the real spot adapter
    needs a chain, Hyperliquid's a network); what a venue can do is the capabilities table's."""

    def __init__(self, *markets: str) -> None:
        self._markets = {
            m: MarketRules(m, 4, Decimal("0.01"), Decimal(10), Decimal(1), Decimal("0.0001")) for m in markets
        }

    def markets(self) -> dict[str, MarketRules]:
        return self._markets


def _deployment(*preferences: str) -> AgentDeployment:
    return AgentDeployment(
        id=7, agent_id=1, user_id=1, venue=preferences[0], venue_preferences=list(preferences)
    )


def _venues(*names: ExecutionVenue) -> VenueRegistry:
    return VenueRegistry({name: Lists("ETH") for name in names})  # type: ignore[misc]


BOTH = _venues(ExecutionVenue.SPOT, ExecutionVenue.HYPERLIQUID)


def test_a_short_passes_spot_over_for_the_next_venue_that_takes_shorts():
    decision = choose_venue(_deployment("SPOT", "HYPERLIQUID"), "ETH", BOTH, side=Side.SHORT)

    assert decision.venue == ExecutionVenue.HYPERLIQUID
    assert decision.reason == "HYPERLIQUID: preference 2 lists ETH; passed over SPOT (takes no shorts)"
    assert decision.candidates == [
        {"venue": "SPOT", "verdict": "takes no shorts"},
        {"venue": "HYPERLIQUID", "verdict": "lists the market"},
    ]
    assert not decision.refused_side


def test_a_long_goes_to_spot_first():
    decision = choose_venue(_deployment("SPOT", "HYPERLIQUID"), "ETH", BOTH, side="long")

    assert (decision.venue, decision.reason) == (ExecutionVenue.SPOT, "SPOT: preference 1 lists ETH")


def test_a_short_with_only_spot_is_skipped_with_the_reason():
    decision = choose_venue(_deployment("SPOT"), "ETH", BOTH, side=Side.SHORT)

    assert decision.venue is None
    assert decision.reason == "no preferred venue takes ETH; passed over SPOT (takes no shorts)"
    assert decision.refused_side  # the executor can say the skip is about the side, not the market


def test_without_a_side_the_capabilities_do_not_filter():
    """Callers that do not pass the side yet keep the old behaviour."""
    decision = choose_venue(_deployment("SPOT", "HYPERLIQUID"), "ETH", BOTH)

    assert decision.venue == ExecutionVenue.SPOT


@pytest.mark.parametrize("undeclared", ["GMX", "OSTIUM"])
def test_a_venue_no_adapter_declares_counts_as_not_available(undeclared):
    """Even when this registry holds something under its name, nothing says what it can do."""
    venues = _venues(ExecutionVenue(undeclared), ExecutionVenue.HYPERLIQUID)

    decision = choose_venue(_deployment(undeclared, "HYPERLIQUID"), "ETH", venues, side=Side.LONG)

    assert decision.venue == ExecutionVenue.HYPERLIQUID
    assert decision.candidates[0] == {"venue": undeclared, "verdict": "not available here"}


def test_paper_is_never_the_fallback_of_a_live_route_whatever_the_side():
    venues = _venues(ExecutionVenue.SPOT, ExecutionVenue.PAPER)

    decision = choose_venue(_deployment("SPOT", "PAPER"), "ETH", venues, side=Side.SHORT)

    assert decision.venue is None
    assert decision.reason == (
        "no preferred venue takes ETH; passed over SPOT (takes no shorts), "
        "PAPER (paper is never a fallback for a live deployment)"
    )


def test_a_short_on_paper_alone_is_routed():
    decision = choose_venue(_deployment("PAPER"), "ETH", _venues(ExecutionVenue.PAPER), side=Side.SHORT)

    assert decision.venue == ExecutionVenue.PAPER
