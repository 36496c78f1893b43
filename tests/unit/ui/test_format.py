"""Display formatting of figures: None never reads as zero, signs and colours follow the value."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from backend.config import get_settings
from maxxit_ui.components import format as fmt


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "muted"), (D("0.01"), "positive"), (D("-0.01"), "negative"), (D("0"), "neutral")],
)
def test_tone(value, expected):
    assert fmt.tone(value) == expected


def test_missing_figures_say_no_trades_yet():
    for render in (fmt.percent, fmt.money, fmt.ratio, fmt.drawdown):
        assert render(None) == fmt.NO_TRADES


def test_percent_money_ratio():
    assert fmt.percent(D("0.5532"), fraction=True) == "55.3%"
    assert fmt.percent(D("24.3333"), signed=True) == "+24.3%"
    assert fmt.percent(D("-109.04"), signed=True) == "-109.0%"
    assert fmt.money(D("1234.5")) == "+$1,234.50"
    assert fmt.money(D("-3")) == "-$3.00"
    assert fmt.money(D("2135563.4"), signed=False, places=0) == "$2,135,563"
    assert fmt.ratio(D("7.2421")) == "7.24"


def test_apr_profit_factor_and_impact_from_fractions():
    assert fmt.apr(D("0.243333")) == "+24.3%"  # stored as a fraction, percent only on screen
    assert fmt.apr(D("-1.0904")) == "-109.0%"
    assert fmt.apr(None) == fmt.NO_TRADES
    assert fmt.profit_factor(D("2.154"), 9) == "2.15"
    assert fmt.profit_factor(None, 3) == "no losses"
    assert fmt.profit_factor(None, 0) == fmt.NO_TRADES
    assert fmt.impact(D("0.4567"), 12) == "+0.46 · 12 calls"
    assert fmt.impact(D("0"), 0) == "no calls yet"


def test_drawdown_always_reads_as_a_loss():
    assert fmt.drawdown(D("0.208")) == "-20.8%"
    assert fmt.drawdown(D("-0.208")) == "-20.8%"


def test_quantity_has_no_trailing_zeros_or_exponent():
    assert fmt.quantity(D("0.014150000")) == "0.01415"
    assert fmt.quantity(D("1E-8")) == "0.00000001"
    assert fmt.quantity(D("42382")) == "42,382"
    assert fmt.quantity(None) == "—"


def test_addresses_times_and_labels():
    address = "0x10969c604d1341f67211797dff0e98908ff70305"
    assert fmt.short_address(address) == "0x1096…0305"
    assert fmt.creator(None, address) == "0x1096…0305"
    assert fmt.creator("degenalpha", address) == "degenalpha"
    plus_two = datetime(2026, 11, 21, 4, 6, tzinfo=timezone(timedelta(hours=2)))
    assert fmt.timestamp(plus_two) == "2026-11-21 02:06 UTC"
    assert fmt.timestamp(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02 03:04 UTC"
    assert fmt.label("TAKE_PROFIT") == "Take profit"
    assert fmt.label(None) == "—"
    assert fmt.venue_color("GMX") == "indigo" and fmt.venue_color("NYSE") == "gray"


def test_backtest_helpers():
    assert fmt.leverage(D("3.00")) == "3x"
    assert fmt.leverage(D("2.5")) == "2.5x"
    assert fmt.size(D("0.5000"), "ETH") == "0.5 ETH"
    assert fmt.size(None, "ETH") == "—"
    assert fmt.duration(None) == "—"
    assert fmt.duration(45 * 60 + 59) == "45m"
    assert fmt.duration(3 * 3600 + 20 * 60) == "3h 20m"
    assert fmt.duration(2 * 86400 + 4 * 3600 + 59) == "2d 4h"
    assert fmt.day(datetime(2026, 11, 1, 23, 30, tzinfo=timezone(timedelta(hours=-2)))) == "2026-11-02"
    assert fmt.drawdown_usd(D("202.00")) == "-$202.00"
    assert fmt.drawdown_usd(D("-202.00")) == "-$202.00"
    assert fmt.drawdown_usd(D(0)) == "$0.00"


def test_venue_names_come_from_the_venue_table_and_the_sandbox_says_so(monkeypatch):
    assert (fmt.venue_label("MULTI"), fmt.venue_color("MULTI")) == ("Multi-venue", "purple")
    get_settings.cache_clear()
    try:
        monkeypatch.delenv("HYPERLIQUID_SANDBOX_URL", raising=False)
        assert fmt.venue_label("HYPERLIQUID") == "Hyperliquid"
        monkeypatch.setenv("HYPERLIQUID_SANDBOX_URL", "http://127.0.0.1:8790")
        get_settings.cache_clear()
        assert (fmt.venue_label("HYPERLIQUID"), fmt.venue_label("PAPER")) == (
            "Hyperliquid sandbox (no real funds)",
            "Paper",
        )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
