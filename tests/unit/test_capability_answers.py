"""What billing, equity and the agent builder answer for each venue now that they ask its capabilities:
spot (a Safe on Arbitrum) is real money like Hyperliquid, trades unlevered and keeps no book of ours."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.agents.drafts import LEVERAGE_BOUND, MAX_LEVERAGE
from backend.billing.subscriptions import is_live
from backend.billing.trade_fee import is_billable
from backend.models import AgentDeployment
from backend.models.enums import Venue
from backend.monitor.equity import capital_known, own_capital
from backend.prices.markets import MARKETS
from backend.venues import capabilities


def _deployment(venue: str, *preferences: str, is_reference: bool = False) -> AgentDeployment:
    return AgentDeployment(
        id=1,
        agent_id=1,
        user_id=1,
        venue=venue,
        venue_preferences=list(preferences) or None,
        capital_usd=Decimal(1000),
        is_reference=is_reference,
    )


@pytest.mark.parametrize(
    ("venue", "billed", "own_book"),
    [("PAPER", False, True), ("HYPERLIQUID", True, False), ("SPOT", True, False), ("GMX", False, False)],
)
def test_real_funds_are_billed_and_only_our_own_books_have_a_known_capital(venue, billed, own_book):
    deployment = _deployment(venue)

    assert (is_billable(deployment, venue), is_live(deployment)) == (billed, billed)
    assert capital_known(deployment) is own_book
    assert own_capital(deployment) == (Decimal(1000) if own_book else 0)


def test_a_reference_book_is_never_billed_and_a_route_is_live_when_any_venue_is():
    assert not is_billable(_deployment("SPOT", is_reference=True), "SPOT")
    assert is_live(_deployment("SPOT", "SPOT", "HYPERLIQUID"))
    assert not is_live(_deployment("PAPER", "PAPER"))


def test_leverage_caps_come_from_the_declared_capabilities():
    listed = Decimal(max(m.max_leverage for m in MARKETS.values()))
    assert MAX_LEVERAGE[Venue.SPOT] == capabilities.SPOT.max_leverage == 1
    assert MAX_LEVERAGE[Venue.HYPERLIQUID] == min(capabilities.HYPERLIQUID.max_leverage, listed)
    # MULTI may route to any declared venue: the largest of theirs, spot's 1x included.
    assert MAX_LEVERAGE[Venue.MULTI] == max(
        min(c.max_leverage, listed) for c in capabilities.DECLARED.values()
    )
    # No adapter declares GMX's or Ostium's yet: the builder's own bound.
    assert MAX_LEVERAGE[Venue.GMX] == MAX_LEVERAGE[Venue.OSTIUM] == LEVERAGE_BOUND
