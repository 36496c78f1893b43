"""Notional, margin and the isolated liquidation price (Hyperliquid's maintenance margin rule)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backend.trading.book import unrealized_pnl
from backend.trading.exits import ExitRules, take_profit_price
from backend.trading.margin import (
    initial_margin,
    liquidation_price,
    maintenance_fraction,
    notional,
)
from backend.trading.types import Side


def test_notional_and_margin_are_size_times_price_and_that_over_leverage() -> None:
    assert notional(D("0.52"), D(3000)) == D(1560)
    assert notional(D("-0.52"), D(3000)) == D(1560)
    assert initial_margin(D("0.52"), D(3000), D(3)) == D(520)
    with pytest.raises(ValueError):
        initial_margin(D(1), D(1), D(0))


def test_maintenance_margin_is_half_the_initial_margin_at_max_leverage() -> None:
    assert maintenance_fraction(D(25)) == D("0.02")
    assert maintenance_fraction(D(50)) == D("0.01")
    with pytest.raises(ValueError):
        maintenance_fraction(D(0))


@pytest.mark.parametrize(
    ("side", "leverage", "max_leverage", "expected"),
    [
        (Side.LONG, D(3), D(25), D(2000) * (D(2) / D(3)) / D("0.98")),  # about 1360.54
        (Side.SHORT, D(3), D(25), D(2000) * (D(4) / D(3)) / D("1.02")),  # about 2614.38
        (Side.LONG, D(10), D(50), D(2000) * D("0.9") / D("0.99")),
        (Side.SHORT, D(1), D(10), D(2000) * D(2) / D("1.05")),
    ],
)
def test_liquidation_price_matches_the_formula(side: Side, leverage: D, max_leverage: D, expected: D) -> None:
    assert liquidation_price(side, D(2000), leverage, max_leverage) == expected


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
@pytest.mark.parametrize("leverage", [D(2), D(3), D(5), D(20)])
def test_at_the_liquidation_price_margin_plus_pnl_equals_the_maintenance_margin(
    side: Side, leverage: D
) -> None:
    entry, size, max_leverage = D(2000), D("0.5"), D(25)
    price = liquidation_price(side, entry, leverage, max_leverage)
    assert price is not None
    equity = initial_margin(size, entry, leverage) + unrealized_pnl(side, entry, price, size)
    maintenance = notional(size, price) * maintenance_fraction(max_leverage)
    assert abs(equity - maintenance) < D("1e-20")
    assert (price < entry) if side == Side.LONG else (price > entry)


def test_higher_leverage_liquidates_closer_to_entry() -> None:
    at_3 = liquidation_price(Side.LONG, D(100), D(3), D(25))
    at_10 = liquidation_price(Side.LONG, D(100), D(10), D(25))
    assert at_3 is not None and at_10 is not None and at_3 < at_10 < D(100)


def test_a_long_at_1x_is_never_liquidated() -> None:
    assert liquidation_price(Side.LONG, D(100), D(1), D(25)) is None
    with pytest.raises(ValueError):
        liquidation_price(Side.LONG, D(0), D(3), D(25))


def test_take_profit_price_is_the_entry_moved_by_the_target() -> None:
    rules = ExitRules(take_profit=D("0.05"))
    assert take_profit_price(Side.LONG, D(100), rules) == D("105.00")
    assert take_profit_price(Side.SHORT, D(100), rules) == D("95.00")
    assert take_profit_price(Side.LONG, D(100), ExitRules()) is None
