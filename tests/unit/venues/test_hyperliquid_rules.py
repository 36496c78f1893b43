"""Hyperliquid's price and size rules, checked against the local server's independent validity check."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.sandbox.hyperliquid.numbers import valid_price
from backend.venues.hyperliquid_rules import (
    price_decimals,
    price_tick,
    round_price,
    round_size,
    slippage_price,
)

prices = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000000"), places=8, allow_nan=False)
sz_decimals = st.integers(min_value=0, max_value=5)


@pytest.mark.parametrize(
    ("price", "szd", "expected"),
    [
        (Decimal("3030.15"), 4, Decimal("3030.2")),  # 5 significant figures
        (Decimal("64123.4"), 5, Decimal("64123")),
        (Decimal("123456.7"), 5, Decimal("123457")),  # integers are always valid
        (Decimal("0.1234567"), 0, Decimal("0.12346")),
        (Decimal("0.0123456"), 0, Decimal("0.012346")),  # 6 - 0 decimals
        (Decimal("0.0123456"), 2, Decimal("0.0123")),  # 6 - 2 decimals
        (Decimal("9.99996"), 2, Decimal("10.000")),  # a carry into the next digit stays valid
        (Decimal("24.12345"), 2, Decimal("24.123")),
    ],
)
def test_round_price_examples(price: Decimal, szd: int, expected: Decimal) -> None:
    assert round_price(price, szd) == expected


@given(prices, sz_decimals)
def test_rounded_prices_are_valid_and_close(price: Decimal, szd: int) -> None:
    tick = price_tick(price, szd)
    if tick > price:
        return  # below the smallest price this market can express
    rounded = round_price(price, szd)
    assert valid_price(rounded, szd), rounded
    assert abs(rounded - price) <= tick / 2


@given(prices, sz_decimals)
def test_directed_rounding_never_crosses_the_price(price: Decimal, szd: int) -> None:
    if price_tick(price, szd) > price:
        return
    down, up = round_price(price, szd, ROUND_DOWN), round_price(price, szd, ROUND_UP)
    assert down <= price <= up
    assert valid_price(down, szd) and valid_price(up, szd)


def test_tiny_prices_are_refused() -> None:
    with pytest.raises(ValueError):
        round_price(Decimal("0.0000001"), 0)
    with pytest.raises(ValueError):
        price_tick(Decimal(0), 2)


def test_price_decimals() -> None:
    assert [price_decimals(d) for d in (0, 2, 5, 6, 7)] == [6, 4, 1, 0, 0]


def test_round_size_goes_down_to_the_step() -> None:
    assert round_size(Decimal("0.123456"), 4) == Decimal("0.1234")
    assert round_size(Decimal("0.99999"), 0) == 0
    assert round_size(Decimal("12.5"), 0) == 12
    assert round_size(Decimal("0.00001"), 5) == Decimal("0.00001")


@pytest.mark.parametrize(
    ("mid", "is_buy", "expected"),
    [
        (Decimal("3000"), True, Decimal("3030")),
        (Decimal("3000"), False, Decimal("2970")),
        (Decimal("3001.7"), True, Decimal("3031.7")),  # 3031.717 rounds down: never past the guard
        (Decimal("3001.7"), False, Decimal("2971.7")),  # 2971.683 rounds up
    ],
)
def test_slippage_price_stays_inside_the_guard(mid: Decimal, is_buy: bool, expected: Decimal) -> None:
    assert slippage_price(mid, is_buy, Decimal("0.01"), 4) == expected


@given(prices, sz_decimals, st.booleans())
def test_slippage_price_crosses_the_mid_and_respects_the_guard(mid: Decimal, szd: int, is_buy: bool) -> None:
    if price_tick(mid, szd) * 100 > mid or not valid_price(round_price(mid, szd), szd):
        return
    mid = round_price(mid, szd)  # venue mids are valid prices
    slippage = Decimal("0.01")
    limit = slippage_price(mid, is_buy, slippage, szd)
    assert valid_price(limit, szd)
    if is_buy:
        assert mid <= limit <= mid * (1 + slippage)
    else:
        assert mid * (1 - slippage) <= limit <= mid
