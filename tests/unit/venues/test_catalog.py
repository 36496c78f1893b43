"""One table says what each venue is called, its colour and whether it trades live today."""

from __future__ import annotations

from backend.models.enums import ExecutionVenue, Venue
from backend.venues.capabilities import capabilities_of
from backend.venues.catalog import SANDBOX_LABEL, VENUES, trades_live, venue_colour, venue_label


def test_every_venue_has_a_row():
    assert {v.value for v in Venue} | {v.value for v in ExecutionVenue} == set(VENUES)


def test_only_venues_with_an_adapter_trade_live():
    assert [v for v in Venue if trades_live(v)] == [Venue.SPOT, Venue.HYPERLIQUID, Venue.MULTI]
    assert not trades_live(ExecutionVenue.PAPER)


def test_trading_live_is_what_the_capabilities_declare():
    """The table cannot disagree with the adapters: live exactly where a declared venue moves real funds."""
    for venue in ExecutionVenue:
        declared = capabilities_of(venue)
        assert trades_live(venue) == (declared is not None and declared.real_funds), venue


def test_labels_and_colours_and_unknown_names():
    assert (venue_label(Venue.MULTI), venue_colour(Venue.GMX)) == ("Multi-venue", "indigo")
    assert (venue_label("NEW_VENUE"), venue_colour("NEW_VENUE"), trades_live("NEW_VENUE")) == (
        "New Venue",
        "gray",
        False,
    )


def test_hyperliquid_says_when_it_is_the_sandbox():
    assert venue_label(ExecutionVenue.HYPERLIQUID, sandbox=True) == SANDBOX_LABEL
    assert SANDBOX_LABEL == "Hyperliquid sandbox (no real funds)"
    assert [venue_label(v, sandbox=True) for v in ("PAPER", "MULTI")] == ["Paper", "Multi-venue"]
