"""Prices quoted in made-up posts: CT's short forms, and placeholders rendered from a price."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.prices.quotes import QuoteError, format_price, parse_price, placeholders, render_quotes


@pytest.mark.parametrize(
    ("price", "written"),
    [
        ("90123", "90.1k"),
        ("64913", "64.9k"),
        ("120400", "120k"),
        ("3061.4", "3,060"),
        ("146.4", "146"),
        ("28.81", "28.8"),
        ("2.384", "2.38"),
        ("2.4001", "2.4"),
        ("0.14234", "0.142"),
        ("0.0000045237", "0.00000452"),
        ("0.000014699", "0.0000147"),
        ("9.999", "10"),
    ],
)
def test_prices_are_written_the_way_ct_writes_them(price, written):
    assert format_price(D(price)) == written


@given(st.decimals(min_value=D("1E-9"), max_value=D("1E6"), places=10))
def test_a_written_price_reads_back_within_half_a_percent(price):
    assert abs(parse_price(format_price(price)) / price - 1) <= D("0.005")


def test_placeholders_render_the_price_and_levels_relative_to_it():
    text = "$BTC short {BTC}, stop {BTC*1.012}; $ETH at {ETH}"
    assert placeholders(text) == [("BTC", D(1)), ("BTC", D("1.012")), ("ETH", D(1))]
    prices = {"BTC": D("64913"), "ETH": D("3061")}
    assert render_quotes(text, prices.__getitem__) == "$BTC short 64.9k, stop 65.7k; $ETH at 3,060"
    assert render_quotes("gm", prices.__getitem__) == "gm"


@pytest.mark.parametrize("text", ["{btc}", "{BTC", "BTC}", "{BTC*}", "{BTC*x}", "{}"])
def test_stray_braces_are_refused(text):
    with pytest.raises(QuoteError):
        placeholders(text)


def test_a_price_must_be_positive():
    with pytest.raises(ValueError):
        format_price(D(0))
