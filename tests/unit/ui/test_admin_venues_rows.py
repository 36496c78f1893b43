"""The admin venues page's words: a refresh's report per venue, and a market's row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from backend.markets.listings import MarketOut
from backend.markets.refresh import RuleChange, VenueChanges
from maxxit_ui.state.admin_venues import market_row, report_line


def test_a_report_line_names_the_changes():
    line = report_line(
        VenueChanges(
            venue="HYPERLIQUID",
            listed=197,
            active=186,
            added=[f"T{i}" for i in range(10)],
            changed=[RuleChange(symbol="ETH", changes={"max_leverage": ("25", "20")})],
            delisted=["BONK"],
        )
    )
    assert line["venue"] == "Hyperliquid" and not line["failed"]
    assert line["summary"] == "197 listed, 186 active · 10 added · 1 delisted · 1 with new rules"
    assert line["details"] == (
        "Added: T0, T1, T2, T3, T4, T5, T6, T7 and 2 more. Delisted: BONK. Rules: ETH max_leverage 25 → 20."
    )
    quiet = report_line(VenueChanges(venue="PAPER", listed=10, active=10))
    assert quiet["details"] == "No changes."


def test_an_unreachable_venue_says_its_markets_are_kept():
    line = report_line(
        VenueChanges(venue="HYPERLIQUID", error="Hyperliquid timed out reading Hyperliquid's markets")
    )
    assert line["failed"] and line["summary"].startswith("Unreachable")
    assert line["details"] == "Hyperliquid timed out reading Hyperliquid's markets"


def test_a_k_prefixed_market_row_shows_its_units():
    market = MarketOut(
        symbol="PEPE",
        name="Pepe",
        venue_market="kPEPE",
        units=1000,
        size_decimals=-3,
        size_step=D(1000),
        min_size=D(1000),
        tick_size=D("1E-9"),
        min_notional_usd=D(10),
        max_leverage=D(10),
        is_active=False,
        updated_at=datetime(2026, 12, 6, tzinfo=UTC),
    )
    row = market_row("HYPERLIQUID", market)
    assert row["venue_market"] == "kPEPE (1,000 PEPE)"
    assert (row["size_step"], row["tick"], row["min_size"], row["max_leverage"]) == (
        "1,000",
        "0.000000001",
        "1,000",
        "10x",
    )
    assert row["active"] is False and row["id"] == "HYPERLIQUID-PEPE"
